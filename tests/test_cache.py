"""The persistent cache of rendered sections (.cache/): each kind of input invalidates exactly the
sections it feeds, a later process reuses the rest, and the output is the cold build's, byte for byte."""

from __future__ import annotations

import os
import shutil

from zimage_site import inputs
from zimage_site.site import Site

from helpers import apply, cold_copy, edit, new_site, outcome, tree

SECTIONS = 4  # the fixture: two sections in two languages


def test_each_kind_of_input_invalidates_what_it_feeds(tmp_path, monkeypatch):
    root = new_site(tmp_path)
    options = dict(allow_placeholders=True)
    first = Site(root, **options).build(tmp_path / "out")
    assert (first.rendered, first.reused) == (SECTIONS, 0)

    def build_in_a_new_process(expected: int, what: str) -> None:
        result = Site(root, **options).build(tmp_path / "out")
        total = sum(result.sections.values())
        assert (result.rendered, result.reused) == (expected, total - expected), what
        cold = outcome(Site(cold_copy(root, tmp_path / "cold"), **options), tmp_path / "cold-out")
        assert cold == ("built", tree(tmp_path / "out"), sorted(w.format("warning") for w in result.warnings)), what

    build_in_a_new_process(0, "nothing changed")
    edit(root / "content/en/02-faq.md", "", "\n\nOne more line.\n")
    build_in_a_new_process(1, "one section file")
    (root / "content/zh/03-more.md").write_text("---\nid: more\norder: 3\ntitle: 更多\n---\n\n"
                                                 "又一节，引用 {fact}`score`。\n", encoding="utf-8")
    build_in_a_new_process(1, "a new section file")
    edit(root / "content/zh/01-intro.md", "这个模型有 {fact}`params` 参数", "这个模型有 {fact}`score` 分")
    build_in_a_new_process(3, "the first source cited changes: the numbers of the sections after it change")
    for kind in ("data", "templates", "strings", "manifest", "store", "config"):
        apply(root, (kind, 1, 5))
        build_in_a_new_process(SECTIONS + 1, kind)
    edit(root / "static/css/20-blocks.css", "", "\n.x { color: red; }\n")
    build_in_a_new_process(SECTIONS + 1, "the stylesheet's hashed URL changes")
    edit(root / "static/js/site.js", "", "\n// nothing\n")
    build_in_a_new_process(SECTIONS + 1, "the script's hashed URL changes")
    monkeypatch.setattr(inputs, "engine_digest", lambda: "another version of the engine")
    build_in_a_new_process(SECTIONS + 1, "the engine")


def test_unhashed_assets_do_not_invalidate_sections(tmp_path):
    """The live preview serves assets under fixed names: a stylesheet edit re-renders nothing."""
    root = new_site(tmp_path)
    Site(root, hash_assets=False).build(tmp_path / "out")
    edit(root / "static/css/20-blocks.css", "", "\n.x { color: red; }\n")
    site = Site(root, hash_assets=False)
    result = site.build(tmp_path / "out")
    assert result.rendered == 0
    assert ".x { color: red; }" in (tmp_path / "out/assets/site.css").read_text(encoding="utf-8")


def test_a_damaged_or_missing_cache_is_rebuilt(tmp_path):
    root = new_site(tmp_path)
    Site(root).build(tmp_path / "out")
    before = tree(tmp_path / "out")
    [kept] = (root / ".cache").glob("build-*.marshal")  # the last build, kept whole
    for damaged in (root / ".cache/parts.json", kept):
        damaged.write_bytes(b"not a cache")  # the parts and the kept build: made again
    assert Site(root).build(tmp_path / "out").rendered == 0  # the sections from their own cache
    assert tree(tmp_path / "out") == before
    (root / ".cache/sections.marshal").write_bytes(b"not a cache")
    for kept in (root / ".cache").glob("build-*.marshal"):
        kept.unlink()
    assert Site(root).build(tmp_path / "out").rendered == SECTIONS
    assert tree(tmp_path / "out") == before
    shutil.rmtree(root / ".cache")
    assert Site(root).build(tmp_path / "out").rendered == SECTIONS
    assert tree(tmp_path / "out") == before


def test_a_build_of_unchanged_inputs_publishes_the_last_one_again(tmp_path):
    """Nothing changed: the build publishes what the last one published, from .cache/parts.json,
    without reading a YAML file or importing a model (a new process shows it), with the same
    warnings; what it publishes from .cache/ is checked first, and every option is in its key."""
    import json
    import subprocess
    import sys

    root = new_site(tmp_path, derived=True)
    first = Site(root, allow_placeholders=True).build(tmp_path / "out")
    before = tree(tmp_path / "out")
    site = Site(root, allow_placeholders=True)
    again = site.build(tmp_path / "out")
    assert (again.rendered, again.reused) == (0, sum(first.sections.values()))
    assert list(site.config.languages) == first.languages  # (the preview reads it): from the parts
    assert tree(tmp_path / "out") == before
    assert [w.format("warning") for w in again.warnings] == [w.format("warning") for w in first.warnings]
    assert again.timings.keys() == {"config", "assets", "write"}  # no content, images or render phase

    code = ("import json, sys; from pathlib import Path; from zimage_site.site import Site; "
            "r = Site(Path(sys.argv[1]), allow_placeholders=True).build(Path(sys.argv[2])); "
            "print(json.dumps([r.rendered, sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pydantic', 'jinja2', 'yaml', 'opencc', 'markdown_it'))]))")
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    run = subprocess.run([sys.executable, "-c", code, str(root), str(tmp_path / "out")], env=env,
                         capture_output=True, text=True, check=True)
    assert json.loads(run.stdout) == [0, []], run.stdout
    assert tree(tmp_path / "out") == before

    # the kept build changed in .cache/ (its signature no longer matches): ignored, the build runs in full
    [kept] = (root / ".cache").glob("build-*.marshal")
    blob = kept.read_bytes()
    kept.write_bytes(blob[:32] + blob[32:].replace(b"<html lang=", b"<html LANG="))  # still well-formed
    assert b"<html LANG=" in kept.read_bytes()
    planted = Site(root, allow_placeholders=True).build(tmp_path / "out")
    assert planted.timings.keys() > {"content", "render"} and tree(tmp_path / "out") == before

    # an asset changed in .cache/ is not published: the asset folder is made again, as in every build
    asset = next(p for p in (root / ".cache/assets").glob("*/assets/**/*.css"))
    asset.write_text("/* planted */", encoding="utf-8")
    Site(root, allow_placeholders=True).build(tmp_path / "out")
    assert tree(tmp_path / "out") == before

    # an option changes what is published: not the last build's result
    Site(root, allow_placeholders=True, base_url="https://example.org/elsewhere/").build(tmp_path / "out")
    assert tree(tmp_path / "out") != before
    # an image file it published from .cache/variants/ is gone: made again
    assert first.images and (root / ".cache/variants").is_dir()
    shutil.rmtree(root / ".cache/variants")
    Site(root, allow_placeholders=True).build(tmp_path / "out")
    assert tree(tmp_path / "out") == before


def test_a_pool_of_processes_renders_what_one_process_renders(tmp_path, monkeypatch):
    """Workers write a mark where a source's number goes; the page puts its numbers there (the
    sources of sections 7 and 8 are cited in another order than the worker saw them). A section
    whose marks do not add up (one is in its text) is rendered again, in order: either way the
    output is the one-process output."""
    import os
    import subprocess
    import sys
    import threading

    from zimage_site import render_sections

    if threading.active_count() > 1:  # the engine forks only a single-threaded process: run in a fresh one
        assert os.environ.get("ZIMAGE_POOL_TEST") != "1", "threads started in a fresh test process"
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"{__file__}::test_a_pool_of_processes_renders_what_one_process_renders"],
                              env={**os.environ, "ZIMAGE_POOL_TEST": "1"}, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        return
    root = new_site(tmp_path)
    for lang in ("zh", "en"):
        for n in range(3, 13):
            first, second = ("score", "steps") if n in (7, 8) else ("steps", "score")
            body = f"Cites {{fact}}`{first}`, then {{fact}}`{second}`." if n % 3 else "No source here."
            fence = "\n\n```nosuchlanguage\nx\n```\n" if n == 9 else ""
            fence += "\n\nA mark-like text: \ue0001\ue001.\n" if n == 11 else ""
            (root / f"content/{lang}/{n:02d}-s{n}.md").write_text(
                f"---\nid: s{n}\norder: {n}\ntitle: S{n}\n---\n\n{body}{fence}\n", encoding="utf-8")
    monkeypatch.setattr(render_sections, "POOL_MIN_SECTIONS", 4)
    verdicts = []
    numbered = render_sections._numbered
    monkeypatch.setattr(render_sections, "_numbered",
                        lambda *a: verdicts.append(numbered(*a) is not None) or numbered(*a))

    def build(processes: int, out: str):
        (root / ".cache/sections.marshal").unlink(missing_ok=True)
        for kept in (root / ".cache").glob("build-*.marshal"):  # (the last build, kept whole)
            kept.unlink()
        return outcome(Site(root, processes=processes), tmp_path / out)

    one = build(1, "one")
    assert verdicts == []
    pool = build(4, "pool")  # this process renders the first run of each page; three workers the others
    assert pool == one and one[0] == "built"
    assert any("no syntax highlighting for code language 'nosuchlanguage'" in w for w in one[2])
    assert True in verdicts and False in verdicts, verdicts  # both paths were taken
    assert "A mark-like text: \ue0001\ue001." in one[1]["en/index.html"].decode()
    edit(root / "content/en/10-s10.md", "{fact}`steps`", "{fact}`stepz`")
    assert build(4, "pool-error") == build(1, "one-error")
    assert "unknown fact 'stepz'" in build(4, "pool-error")[1]


def test_a_build_published_again_measures_stale_facts_against_its_own_day(tmp_path):
    """Stale-fact warnings depend on the day, not on the inputs: a build that publishes the last
    one again gives, on each day around the limits of the facts' classes, the warnings a cold
    build gives on that day."""
    import datetime as dt

    root = new_site(tmp_path)
    (root / "content/data/facts.yaml").write_text(
        "classes:\n"
        "  volatile: {max_age_days: 90, label: {zh: 版本, en: Versions}}\n"
        "  reported: {max_age_days: 60, label: {zh: 报告, en: Reports}}\n"
        "sources:\n"
        '  readme: {title: Model README, url: "https://github.com/example/model", read: 2026-11-01}\n'
        '  report: {title: {zh: 技术报告, en: Technical report}, url: "https://arxiv.org/abs/0000.00000", read: 2026-10-15}\n'
        "facts:\n"
        "  params: {value: 6, display: {zh: 60 亿, en: 6B}, label: {zh: 参数量, en: Parameters}, source: readme, "
        "verdict: verified, class: volatile, checked: 2026-11-01}\n"
        "  steps: {value: 8, label: {zh: 步数, en: Steps}, source: readme, verdict: verified, class: volatile, "
        "checked: 2026-11-01}\n"
        "  score: {value: 0.8585, label: {zh: 得分, en: Score}, source: report, verdict: secondary, class: reported, "
        "checked: 2026-10-15}\n", encoding="utf-8")
    Site(root, allow_placeholders=True, today=dt.date(2026, 12, 6)).build(tmp_path / "out")
    seen = set()
    for day in (dt.date(2026, 12, 6), *(dt.date(2026, 12, 13) + dt.timedelta(days=n) for n in range(4)),
                *(dt.date(2027, 1, 29) + dt.timedelta(days=n) for n in range(4))):
        again = Site(root, allow_placeholders=True, today=day).build(tmp_path / "out")
        assert again.rendered == 0, day
        stale = [w.key for w in again.warnings if w.kind == "stale"]
        cold = outcome(Site(cold_copy(root, tmp_path / "cold"), allow_placeholders=True, today=day), tmp_path / "cold-out")
        assert cold == ("built", tree(tmp_path / "out"), sorted(w.format("warning") for w in again.warnings)), day
        seen.add(tuple(stale))
    # score (60 days) is stale from 2026-12-15 on, params and steps (90 days) from 2027-01-31 on
    assert seen == {(), ("facts.score.checked",),
                    ("facts.params.checked", "facts.steps.checked", "facts.score.checked")}, seen


def test_the_derived_page_is_converted_only_when_its_source_page_glossary_or_strings_changed(tmp_path):
    """A derived language's converted pages are parts keyed on the source page, the glossary, the
    UI strings and the engine (OpenCC's version with it): a build that changed only the English
    page sets up no OpenCC (a new process shows it); one that changed the glossary, or a UI string
    given for the derived language only, converts again."""
    import json
    import subprocess
    import sys

    root = new_site(tmp_path, derived=True)
    Site(root, allow_placeholders=True).build(tmp_path / "out")
    code = ("import json, sys; from pathlib import Path; from zimage_site.site import Site; "
            "r = Site(Path(sys.argv[1]), allow_placeholders=True).build(Path(sys.argv[2])); "
            "print(json.dumps([r.rendered, 'opencc' in sys.modules]))")
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}

    def build_in_a_new_process() -> list:
        run = subprocess.run([sys.executable, "-c", code, str(root), str(tmp_path / "out")], env=env,
                             capture_output=True, text=True, check=True)
        cold = outcome(Site(cold_copy(root, tmp_path / "cold"), allow_placeholders=True), tmp_path / "cold-out")
        assert cold[0] == "built" and cold[1] == tree(tmp_path / "out")
        return json.loads(run.stdout)

    edit(root / "content/en/02-faq.md", "", "\n\nOne more line.\n")
    assert build_in_a_new_process() == [1, False]  # the English section; the Chinese page is the same
    edit(root / "content/zh/02-faq.md", "", "\n\n又一行，参数与显存。\n")
    assert build_in_a_new_process() == [1, True]
    page = (tmp_path / "out/zh-hant/index.html").read_text(encoding="utf-8")
    assert "參數與顯存" not in page
    (root / "content/i18n/zh-Hant.glossary.yaml").write_text("terms:\n  参数: 參數\n  显存: 顯存\n", encoding="utf-8")
    assert build_in_a_new_process() == [0, True]  # the same sections, converted with the new glossary
    assert "參數與顯存" in (tmp_path / "out/zh-hant/index.html").read_text(encoding="utf-8")
    # a UI string given for the derived language only: the Chinese page is the same, its conversion is not
    assert "提示詞（簡體中文原文）" in (tmp_path / "out/zh-hant/index.html").read_text(encoding="utf-8")
    edit(root / "templates/i18n/images.yaml", "zh-Hant: 提示詞（簡體中文原文）", "zh-Hant: 提示詞（原文）")
    assert build_in_a_new_process()[1] is True
    assert "提示詞（原文）" in (tmp_path / "out/zh-hant/index.html").read_text(encoding="utf-8")
