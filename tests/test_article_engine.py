"""The engine's side of the article: the charts (zimage_site/charts.py, their templates and their
series in content/data/facts.yaml) and the validation of facts.yaml, tested on the real facts and
UI strings and on broken copies of them. The editorial checks of the article are test_article.py.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from zimage_site.charts import CHARTS, ChartDataError, ChartStringError, render_chart
from zimage_site.data import Data, FactsFile, load_data
from zimage_site.errors import SiteError
from zimage_site.model import validate
from zimage_site.render import load_strings, make_environment

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
LANGS = ("zh", "en")
CHART_IDS = {"arena-elo", "model-size", "architecture"}


@functools.cache
def _site_data() -> Data:
    return load_data(ROOT)


def load_facts() -> dict:
    """content/data/facts.yaml (sources, facts, series) as the engine validated it, as a mapping to
    change (`chart()` validates it again)."""
    return _site_data().facts_file.model_dump(by_alias=True)


def _lines() -> dict[str, int]:
    """The line of every key path of the real facts.yaml."""
    return _site_data().lines["facts"]


# --------------------------------------------------------------------------- facts.yaml


@pytest.mark.parametrize("broken,key", [
    ("value", "facts.params.value"),
    ("source", "facts.params.source"),
    ("verdict", "facts.params.verdict"),
])
def test_the_engine_refuses_a_fact_without_value_known_source_or_allowed_verdict(tmp_path, broken, key):
    raw = yaml.safe_load((CONTENT / "data" / "facts.yaml").read_text(encoding="utf-8"))
    fact = raw["facts"]["params"]
    if broken == "value":
        del fact["value"]
    else:
        fact[broken] = "nope"
    folder = tmp_path / "content" / "data"
    folder.mkdir(parents=True)
    (folder / "facts.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SiteError) as info:
        load_data(tmp_path)
    assert any(p.key == key or key in p.message for p in info.value.problems), [p.format() for p in info.value.problems]


# --------------------------------------------------------------------------- the charts


def _chart_data() -> dict:
    return {"facts": load_facts()}


@functools.cache
def _strings() -> dict[str, dict[str, str]]:
    return load_strings(ROOT, list(LANGS))  # templates/i18n/*.yaml, as the build merges them


@functools.cache
def _jinja():
    return make_environment(ROOT)


def chart(chart_id: str, lang: str = "en", data: dict | None = None, strings: dict | None = None) -> str:
    """The chart's HTML, from the real facts (or `data`), with the lines of the real facts.yaml."""
    facts = validate((data or _chart_data())["facts"], FactsFile, "content/data/facts.yaml", _lines())
    return str(render_chart(chart_id, facts, lang,
                            _strings()[lang] if strings is None else strings, _jinja(), _lines()).html)


def chart_error(chart_id: str, mutate) -> ChartDataError:
    data = _chart_data()
    mutate(data["facts"])
    with pytest.raises(ChartDataError) as info:
        chart(chart_id, data=data)
    return info.value


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("chart_id", sorted(CHART_IDS))
def test_charts_are_accessible_figures_with_a_table_and_sources(chart_id, lang):
    html = chart(chart_id, lang)
    root = ElementTree.fromstring(html)  # well-formed markup
    assert root.tag == "figure" and "chart" in root.get("class").split()
    svg = root.find("svg")
    assert svg.get("role") == "img"
    labelled = svg.get("aria-labelledby").split()
    ids = {el.get("id") for el in svg.iter() if el.get("id")}
    assert set(labelled) <= ids
    assert svg.find("title").text and len(svg.find("desc").text) > 40
    assert root.find("details/table") is not None
    assert len(root.findall("details/table/tbody/tr")) >= 2
    links = root.findall("p/a")
    assert links and all(a.get("href").startswith("https://") for a in links)
    assert "fill=" not in html and "style=" not in html, "colours come from CSS classes"
    if chart_id != "architecture":  # the diagram highlights nothing: it draws parts, not ranked bars
        assert "chart__bar--highlight" in html


def test_chart_ids_are_the_engines():
    assert set(CHARTS) == CHART_IDS


def test_the_arena_chart_highlights_z_image_turbo_and_states_its_rank():
    zh, en = chart("arena-elo", "zh"), chart("arena-elo", "en")
    assert "总排名第 4" in zh and "开源模型中排名第 1" in zh
    assert "#4 overall" in en
    assert "leaderboard.png" in en


def _source_line(html: str) -> list[tuple[str, str]]:
    return [(a.get("href"), a.text) for a in ElementTree.fromstring(html).findall("p/a")]


def _title(title, lang: str) -> str:
    """A source's title in one language: plain text, or a {zh, en} mapping."""
    return title[lang] if isinstance(title, dict) else title


def test_charts_read_values_and_sources_through_the_facts():
    facts = load_facts()
    # every source of the model-size chart is the source of one of its facts, in the order of the bars
    keys = [k for e in facts["series"]["model_size"]["entries"] for k in (e["dit"], e["text_encoder"])]
    expected = list(dict.fromkeys(facts["facts"][k]["source"] for k in keys))
    assert _source_line(chart("model-size")) == [
        (facts["sources"][k]["url"], _title(facts["sources"][k]["title"], "en")) for k in expected
    ]
    assert expected == ["readme", "flux2_dev_card", "flux2_blog"]
    # change a fact, and the chart follows: its bar, its table, its description, its source link
    data = _chart_data()
    data["facts"]["facts"]["arena_elo"]["value"] = 1027
    data["facts"]["facts"]["arena_elo"]["source"] = "readme"
    html = chart("arena-elo", data=data)
    assert ">1027 · open weights<" in html and "<td>1027</td>" in html and "Elo of 1027" in html
    assert "1025" not in html
    assert [href for href, _ in _source_line(html)] == [
        "https://github.com/Tongyi-MAI/Z-Image/blob/main/assets/leaderboard.png", "https://github.com/Tongyi-MAI/Z-Image",
    ]
    # the dates come from facts too
    data["facts"]["facts"]["arena_as_of"]["value"] = "2025-12-01"
    assert "Alibaba AI Arena text-to-image Elo (2025-12-01)" in chart("arena-elo", data=data)


@pytest.mark.parametrize("lang,title", [("zh", "智能体排行榜（中文）"), ("en", "Agent leaderboard (English)")])
def test_bilingual_source_titles_print_in_the_page_language(lang, title):
    data = _chart_data()
    data["facts"]["sources"]["leaderboard"]["title"] = {"zh": "智能体排行榜（中文）", "en": "Agent leaderboard (English)"}
    html = chart("arena-elo", lang, data=data)
    assert [t for _, t in _source_line(html)] == [title]
    assert "{" not in html and "'zh'" not in html


def test_chart_strings_come_from_the_strings_received():
    strings = dict(_strings()["en"], chart_source="Data source")
    assert "Data source: <a " in chart("model-size", strings=strings)


def test_a_missing_chart_string_is_an_error_naming_it_and_its_file():
    strings = dict(_strings()["en"])
    del strings["chart_source"]
    with pytest.raises(ChartStringError) as info:
        chart("model-size", strings=strings)
    problem = info.value.problems[0]
    assert (problem.file, problem.key) == ("templates/i18n/charts.yaml", "chart_source")
    assert "the UI string 'chart_source' is not defined" in problem.message and "add chart_source:" in problem.fix
    with pytest.raises(ChartStringError, match="chart_"):
        chart("arena-elo", strings={})


def test_the_chart_strings_live_in_templates_i18n_in_both_languages():
    from zimage_site import charts

    assert not hasattr(charts, "DEFAULT_STRINGS"), "UI strings live in templates/i18n/, not in Python"
    defined = yaml.safe_load((ROOT / "templates" / "i18n" / "charts.yaml").read_text(encoding="utf-8"))
    for key, value in defined.items():
        assert key.startswith("chart_"), key
        assert set(value) == set(LANGS), key
    others = set()
    for name in ("core.yaml", "images.yaml"):
        others |= set(yaml.safe_load((ROOT / "templates" / "i18n" / name).read_text(encoding="utf-8")))
    assert not set(defined) & others

    class Recording(dict):
        def __getitem__(self, key):
            used.add(key)
            return super().__getitem__(key)

    for lang in LANGS:
        used: set[str] = set()
        for chart_id in CHART_IDS:
            chart(chart_id, lang, strings=Recording(_strings()[lang]))
        assert used == set(defined), f"unused: {set(defined) - used}, undefined: {used - set(defined)}"


def test_charts_escape_the_data():
    data = _chart_data()
    data["facts"]["series"]["arena_elo"]["entries"][0]["name"] = "<script>alert(1)</script>"
    data["facts"]["sources"]["leaderboard"]["title"] = {"zh": "<b>榜单</b>", "en": "<b>board</b>"}
    html = chart("arena-elo", data=data)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>" not in html and "&lt;b&gt;board&lt;/b&gt;" in html


def test_an_unknown_chart_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown chart 'nope'; known charts: architecture, arena-elo, model-size"):
        chart("nope")


def _entry(series: str, name: str):
    return lambda facts: next(e for e in facts["series"][series]["entries"] if e["name"] == name)


def _set(getter, key, value):
    def mutate(facts):
        getter(facts)[key] = value
    return mutate


def _drop(getter, key):
    def mutate(facts):
        del getter(facts)[key]
    return mutate


_zit = _entry("arena_elo", "Z-Image-Turbo")  # entries[3]


def _arena(facts):
    return facts["series"]["arena_elo"]


@pytest.mark.parametrize("chart_id,mutate,key,words", [
    ("arena-elo", _drop(_zit, "elo"), "series.arena_elo.entries[3].elo", ["the Elo is missing", "write elo: FACT-KEY"]),
    ("arena-elo", _set(_zit, "elo", None), "series.arena_elo.entries[3].elo", ["empty (null)", "write elo: FACT-KEY"]),
    ("arena-elo", _set(_zit, "elo", "arena_elos"), "series.arena_elo.entries[3].elo",
     ["unknown fact 'arena_elos'", "did you mean arena_elo"]),
    ("arena-elo", _set(_zit, "elo", 1025), "series.arena_elo.entries[3].elo",
     ["the number 1025 is written here", "add it under facts:"]),
    ("arena-elo", _set(_arena, "axis_min", 1100), "series.arena_elo.axis_min",
     ["not below the lowest Elo in the chart (Ideogram 3.0, 936)", "write a number below 936"]),
    ("arena-elo", _set(_arena, "axis_min", 936), "series.arena_elo.axis_min", ["write a number below 936"]),
    ("arena-elo", _set(_arena, "axis_min", "900"), "series.arena_elo.axis_min", ["expected a number"]),
    ("arena-elo", _set(_arena, "as_of", None), "series.arena_elo.as_of", ["empty (null)", "as_of: arena_as_of"]),
    ("arena-elo", _set(_zit, "higlight", True), "series.arena_elo.entries[3].higlight",
     ["unknown key", "did you mean highlight?"]),
    ("arena-elo", _set(_entry("arena_elo", "Imagen 4 Ultra"), "highlight", True), "series.arena_elo.entries",
     ["2 entries have highlight: true"]),
    ("arena-elo", _set(_zit, "open", False), "series.arena_elo.entries[3].open", ["not open"]),
    ("arena-elo", lambda f: f["facts"]["arena_elo"].update(value=1040), "series.arena_elo.rank",
     ["arena_rank says #4", "Z-Image-Turbo at #3"]),
    ("arena-elo", lambda f: f["facts"]["arena_elo"].update(value="1025"), "facts.arena_elo.value",
     ["series.arena_elo.entries[3].elo plots it", "not a number"]),
    ("arena-elo", lambda f: f["facts"]["seedream4_arena_elo"].update(source="nope"),
     "facts.seedream4_arena_elo.source", ["'nope' is not a source"]),
    ("arena-elo", lambda f: f["series"].pop("arena_elo"), "series.arena_elo", ["the series is missing"]),
    ("model-size", _set(_entry("model_size", "FLUX.2 [dev]"), "dit", None), "series.model_size.entries[1].dit",
     ["empty (null)", "dit: params"]),
    ("model-size", lambda f: f["facts"]["params"].update(value=0), "facts.params.value", ["above 0"]),
    ("model-size", lambda f: f["facts"]["params"].update(value="6B"), "facts.params.value",
     ["series.model_size.entries[0].dit plots it", "the text '6B', not a number"]),
    ("arena-elo", lambda f: f["facts"]["arena_rank"].update(value=0), "facts.arena_rank.value",
     ["series.arena_elo.rank needs a rank (a whole number from 1), found the number 0", "value: 4"]),
    ("arena-elo", lambda f: f["facts"]["arena_as_of"].update(value=" "), "facts.arena_as_of.value",
     ["series.arena_elo.as_of needs a date", 'value: "2025-11-26"']),
    ("model-size", lambda f: f["series"]["model_size"].update(entries=[]), "series.model_size.entries",
     ["an empty list"]),
])
def test_chart_data_mistakes_name_the_file_the_key_and_the_fix(chart_id, mutate, key, words):
    err = chart_error(chart_id, mutate)
    assert isinstance(err, SiteError)
    problem = err.problems[0]
    message = problem.format()
    assert (problem.file, problem.key) == ("content/data/facts.yaml", key), message
    # the line of the key, or of its nearest parent written in the file (a missing key has none)
    lines = _lines()
    written = key
    while written not in lines:
        written = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", written)
    assert problem.line == lines[written] and problem.fix, message
    assert message.startswith(f'error: content/data/facts.yaml, line {problem.line}, key "{key}": chart {chart_id!r}: ')
    for word in words:
        assert word in message, message


def test_every_chart_data_mistake_is_reported_at_once():
    def mutate(facts):
        entries = facts["series"]["arena_elo"]["entries"]
        del entries[0]["elo"]
        entries[5]["elo"] = None
    err = chart_error("arena-elo", mutate)
    assert [p.key for p in err.problems] == ["series.arena_elo.entries[0].elo", "series.arena_elo.entries[5].elo"]


def test_a_chart_data_mistake_stops_the_build_with_the_facts_file_and_key(tmp_path):
    site = tmp_path / "site"
    for name in ("content", "templates", "static", "images"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, site / name)
    shutil.copy(ROOT / "site.yaml", site / "site.yaml")
    facts = site / "content" / "data" / "facts.yaml"
    source = facts.read_text(encoding="utf-8")
    broken = source.replace("{name: Z-Image-Turbo, elo: arena_elo, open: true", "{name: Z-Image-Turbo, open: true")
    assert broken != source
    facts.write_text(broken, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "zimage_site", "build", "--root", str(site), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert re.search(r'error: content/data/facts\.yaml, line \d+, key "series\.arena_elo\.entries\[3\]\.elo": '
                     r"chart 'arena-elo': the Elo is missing", output), output
    assert "write elo: FACT-KEY" in output and "Traceback" not in output
