"""The article: facts and their sources, translation parity, coverage of the outline, honesty.

The first group reads the source files (content/, content/data/facts.yaml) and needs nothing but
PyYAML; the last group builds the real site into a temporary folder and reads the pages a visitor
gets.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
LANGS = ("zh", "en")
SECTION_IDS = [
    "intro", "models", "technology", "use-cases", "quick-start",
    "reviews", "faq", "roadmap", "cta", "summary",
]
VERDICTS = {"verified", "secondary"}

# The image ids the manifest (content/images.yaml) defines for the article.
SHOWCASE_IMAGES = {
    "hero-cover", "showcase-teahouse-sign", "showcase-coffee-sign", "showcase-xiaoqiao",
    "showcase-pet-portrait", "showcase-product-white", "showcase-product-scene",
    "showcase-guochao-poster", "showcase-poem-scene", "showcase-3d-popout", "showcase-miniature",
    "showcase-asian-portrait", "showcase-kids-story", "showcase-science-diagram",
}
COMPARE_SETS = {"steps", "guidance", "resolution", "prompt-detail", "seeds"}
CHART_IDS = {"arena-elo", "model-size"}

# Every question of the outline's three FAQ groups, as (topic, zh pattern, en pattern) matched
# against the ### questions inside ::: faq blocks.
FAQ_TOPICS = [
    ("hardware and low VRAM", r"硬件.*显存", r"hardware.*VRAM"),
    ("model fails to load", r"加载.*失败", r"fails to load"),
    ("slow inference", r"速度.*慢|慢.*优化", r"slow"),
    ("black, blurry, wrong proportions", r"全黑.*模糊.*比例", r"black.*blurry"),
    ("garbled or misplaced text", r"文字.*(乱码|错位)", r"garbled|misplaced"),
    ("hands in multi-person scenes", r"多人物.*手指", r"Hands.*several people"),
    ("commercial licence", r"商业.*授权", r"licen[cs]e.*commercial"),
    ("copyright of generated images", r"版权", r"copyright"),
    ("public API abuse", r"API.*滥用", r"API.*abuse"),
]

# Claims that facts.md marks UNSOURCED or CONTRADICTED, and words the page must not use.
KNOWN_FALSE = [
    "FID", "7.2", "2.3 秒", "2.3 s", "2.3s", "13GB", "13 GB", "全球第四", "4th worldwide",
    "碾压", "crushes", "数百 GB", "数百GB", "上百 GB", "hundreds of GB", "RTX 3060", "3060",
    "RTX 4090", "H800 上显存", "≤16GB", "≤16 GB", "RH币", "10秒出图", "0.65-0.8", "0.65–0.8",
    "2026年手机端", "Z-Image-Base（待发布）", "千层",
]

# Digits in prose that are names, not quantities (the quantities are {fact} roles).
NAME_TOKENS = {
    "Qwen3-4B", "Qwen2.5-VL-7B", "FLUX.1", "FLUX.2", "S3-DiT", "SigLIP-2", "H800", "V100",
    "Apache-2.0", "GPT-Image-1", "CVTG-2K", "FlashAttention-3", "bf16", "fp16", "fp32", "3D",
    "2D", "#14", "#15", "#16", "#27", "#85", "#111", "#340", "#12738", "#13730", "2511.22699",
    "20", "Mistral", "3.1", "Qwen3",
}
NUMBERED_ITEM = re.compile(r"^\s*\d+\.\s", re.M)  # "1. Update ComfyUI" (a Markdown list)
PROSE_NUMBERED = re.compile(r"\*\*\d+\. ")  # "**1. Black images" (en limitations list)


# --------------------------------------------------------------------------- reading the sources


def load_facts() -> dict:
    return yaml.safe_load((CONTENT / "data" / "facts.yaml").read_text(encoding="utf-8"))


class Section:
    def __init__(self, path: Path):
        self.path = path
        text = path.read_text(encoding="utf-8")
        match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
        assert match, f"{path}: no front matter"
        self.meta = yaml.safe_load(match.group(1))
        self.body = match.group(2)
        self.blocks = parse_blocks(self.body)

    @property
    def id(self) -> str:
        return self.meta["id"]

    def prose(self) -> str:
        """The body without code fences and block bodies written in YAML."""
        out, fence = [], False
        for line in self.body.splitlines():
            if line.startswith("```"):
                fence = not fence
                continue
            if not fence:
                out.append(line)
        return "\n".join(out)


def parse_blocks(body: str) -> list[dict]:
    """The ::: blocks of a section, in order: name, argument, body (code fences skipped)."""
    blocks, current, fence = [], None, False
    for line in body.splitlines():
        if line.startswith("```"):
            fence = not fence
        if fence:
            if current is not None:
                current["body"].append(line)
            continue
        stripped = line.strip()
        if current is None and stripped.startswith(":::") and stripped != ":::":
            words = stripped[3:].split()
            current = {"name": words[0], "args": words[1:], "body": []}
        elif current is not None and stripped == ":::":
            current["body"] = "\n".join(current["body"])
            blocks.append(current)
            current = None
        elif current is not None:
            current["body"].append(line)
    assert current is None, "a ::: block is never closed"
    return blocks


def sections(lang: str) -> list[Section]:
    return [Section(p) for p in sorted((CONTENT / lang).glob("*.md"))]


def fact_keys(section: Section) -> list[str]:
    keys = re.findall(r"\{fact\}`([^`]+)`", section.body)
    for block in section.blocks:
        if block["name"] == "stats":
            keys += [item["fact"] for item in yaml.safe_load(block["body"])]
    return keys


def block_signature(block: dict) -> tuple:
    sig: tuple = (block["name"], tuple(block["args"]))
    if block["name"] == "stats":
        sig += (tuple(item["fact"] for item in yaml.safe_load(block["body"])),)
    if block["name"] == "gallery":
        sig += (tuple(yaml.safe_load(block["body"])),)
    return sig


def image_refs(section: Section) -> list[str]:
    refs = []
    for block in section.blocks:
        if block["name"] in ("figure", "compare"):
            refs += block["args"]
        elif block["name"] == "gallery":
            refs += yaml.safe_load(block["body"])
    return refs


def cjk_count(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text))


# --------------------------------------------------------------------------- facts.yaml


def test_every_source_has_a_title_and_an_https_url():
    data = load_facts()
    assert data["sources"], "no sources"
    for key, src in data["sources"].items():
        assert src.get("title"), f"source {key} has no title"
        assert str(src.get("url", "")).startswith("https://"), f"source {key}: not an https URL"


def test_every_fact_has_an_existing_source_and_an_allowed_verdict():
    data = load_facts()
    for key, fact in data["facts"].items():
        assert "value" in fact, f"fact {key} has no value"
        assert fact.get("source") in data["sources"], f"fact {key}: unknown source {fact.get('source')!r}"
        assert fact.get("verdict") in VERDICTS, f"fact {key}: verdict {fact.get('verdict')!r}"
        for lang in LANGS:
            assert fact.get("label", {}).get(lang), f"fact {key} has no {lang} label"


def test_every_series_names_existing_sources_a_date_and_a_verdict():
    data = load_facts()
    for name, series in data["series"].items():
        keys = [series.get("source"), *series.get("sources", [])]
        keys += [e.get("source") for e in series["entries"]]
        keys = [k for k in keys if k]
        assert keys, f"series {name} names no source"
        for key in keys:
            assert key in data["sources"], f"series {name}: unknown source {key!r}"
        assert series.get("as_of"), f"series {name} has no as_of"
        assert series.get("verdict") in VERDICTS, f"series {name}: verdict"


def test_chart_series_agree_with_the_facts():
    data = load_facts()
    facts = data["facts"]
    arena = {e["name"]: e for e in data["series"]["arena_elo"]["entries"]}
    assert arena["Z-Image-Turbo"]["elo"] == facts["arena_elo"]["value"]
    assert arena["Qwen-Image"]["elo"] == facts["qwen_image_arena_elo"]["value"]
    ranked = sorted(arena.values(), key=lambda e: -e["elo"])
    assert ranked.index(arena["Z-Image-Turbo"]) + 1 == facts["arena_rank"]["value"]
    open_ranked = [e for e in ranked if e["open"]]
    assert open_ranked[0]["name"] == "Z-Image-Turbo"
    size = {e["name"]: e for e in data["series"]["model_size"]["entries"]}
    assert size["Z-Image-Turbo"]["dit"] == facts["params"]["value"]
    assert size["Qwen-Image"]["dit"] == facts["qwen_image_params"]["value"]
    assert size["FLUX.2 [dev]"]["dit"] == facts["flux2_dev_params"]["value"]
    assert size["FLUX.2 [dev]"]["text_encoder"] == facts["flux2_dev_te_params"]["value"]


def test_secondary_facts_are_only_the_technical_reports():
    data = load_facts()
    for key, fact in data["facts"].items():
        if fact["verdict"] == "secondary":
            assert fact["source"] == "report", f"secondary fact {key} should cite the technical report"


# --------------------------------------------------------------------------- the article sources


@pytest.mark.parametrize("lang", LANGS)
def test_sections_are_the_ten_of_the_outline_in_order(lang):
    secs = sections(lang)
    assert [s.id for s in secs] == SECTION_IDS
    assert [s.meta["order"] for s in secs] == list(range(1, 11))
    for i, s in enumerate(secs, start=1):
        assert s.path.name == f"{i:02d}-{s.id}.md"


@pytest.mark.parametrize("lang", LANGS)
def test_every_fact_referenced_exists(lang):
    facts = load_facts()["facts"]
    for s in sections(lang):
        for key in fact_keys(s):
            assert key in facts, f"{s.path.name}: unknown fact {key!r}"


def test_both_languages_have_the_same_blocks_per_section():
    for zh, en in zip(sections("zh"), sections("en")):
        assert zh.id == en.id
        assert [block_signature(b) for b in zh.blocks] == [block_signature(b) for b in en.blocks], zh.id
        assert image_refs(zh) == image_refs(en), zh.id
        assert zh.meta.get("layout") == en.meta.get("layout"), zh.id


def test_both_languages_cite_the_same_facts():
    for zh, en in zip(sections("zh"), sections("en")):
        assert set(fact_keys(zh)) == set(fact_keys(en)), zh.id


def test_image_and_chart_references_are_known():
    for lang in LANGS:
        for s in sections(lang):
            for b in s.blocks:
                if b["name"] == "figure":
                    assert b["args"][0] in SHOWCASE_IMAGES, b
                elif b["name"] == "gallery":
                    assert set(yaml.safe_load(b["body"])) <= SHOWCASE_IMAGES, b
                elif b["name"] == "compare":
                    assert b["args"][0] in COMPARE_SETS, b
                elif b["name"] == "chart":
                    assert b["args"][0] in CHART_IDS, b
    zh_refs = {r for s in sections("zh") for r in image_refs(s)}
    assert zh_refs == SHOWCASE_IMAGES | COMPARE_SETS, "every showcase image and set is used once"


def test_image_references_exist_in_the_manifest():
    manifest_path = CONTENT / "images.yaml"
    if not manifest_path.exists():
        pytest.skip("content/images.yaml is not there yet")
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    ids = {img["id"] for img in manifest.get("images", [])}
    sets = set(manifest.get("sets", {}))
    for s in sections("zh"):
        for b in s.blocks:
            if b["name"] == "figure":
                assert b["args"][0] in ids
            elif b["name"] == "gallery":
                assert set(yaml.safe_load(b["body"])) <= ids
            elif b["name"] == "compare":
                assert b["args"][0] in sets


def test_the_intro_is_a_hero_with_two_calls_to_action_and_the_cover():
    for lang in LANGS:
        intro = sections(lang)[0]
        assert intro.meta.get("layout") == "hero"
        names = [b["name"] for b in intro.blocks]
        assert names[:2] == ["cta", "figure"], names
        buttons = yaml.safe_load(intro.blocks[0]["body"])
        assert len(buttons) == 2 and all(b["href"].startswith("https://") for b in buttons)
        assert intro.blocks[1]["args"] == ["hero-cover"]


def test_the_technology_section_has_both_charts():
    for lang in LANGS:
        tech = next(s for s in sections(lang) if s.id == "technology")
        charts = [b["args"][0] for b in tech.blocks if b["name"] == "chart"]
        assert set(charts) == CHART_IDS


def test_the_chinese_article_has_at_least_6000_cjk_characters():
    total = sum(cjk_count(s.prose()) for s in sections("zh"))
    assert total >= 6000, total


@pytest.mark.parametrize("lang,column", [("zh", 1), ("en", 2)])
def test_every_faq_question_of_the_outline_is_answered(lang, column):
    faq = next(s for s in sections(lang) if s.id == "faq")
    questions: list[tuple[str, str]] = []
    for b in faq.blocks:
        assert b["name"] == "faq"
        parts = re.split(r"^### (.+)$", b["body"], flags=re.M)
        questions += [(q.strip(), a.strip()) for q, a in zip(parts[1::2], parts[2::2])]
    for topic in FAQ_TOPICS:
        pattern = topic[column]
        hits = [(q, a) for q, a in questions if re.search(pattern, q, re.I)]
        assert hits, f"no {lang} FAQ question about {topic[0]}"
        for q, answer in hits:
            assert len(answer) >= 80, f"{q!r}: the answer is too short"


def test_faq_answers_link_the_known_issues():
    for lang in LANGS:
        faq = next(s for s in sections(lang) if s.id == "faq").body
        for issue in ("Tongyi-MAI/Z-Image/issues/14", "Tongyi-MAI/Z-Image/issues/15", "Tongyi-MAI/Z-Image/issues/85"):
            assert issue in faq, (lang, issue)
        reviews = next(s for s in sections(lang) if s.id == "reviews").body
        for issue in ("issues/14", "issues/15", "issues/16", "issues/27", "issues/111", "issues/85",
                      "Comfy-Org/workflow_templates/issues/340"):
            assert issue in reviews, (lang, issue)


@pytest.mark.parametrize("lang", LANGS)
def test_the_quick_start_has_a_runnable_diffusers_example(lang):
    body = next(s for s in sections(lang) if s.id == "quick-start").body
    fences = dict.fromkeys(re.findall(r"^```(\w+)", body, re.M))
    assert "python" in fences and "bash" in fences
    code = re.search(r"```python\n(.*?)```", body, re.S).group(1)
    compile(code, "quick-start.py", "exec")
    for needle in (
        'ZImagePipeline.from_pretrained(\n    "Tongyi-MAI/Z-Image-Turbo",\n    torch_dtype=torch.bfloat16,',
        'pipe.to("cuda")', "height=1024", "width=1024", "guidance_scale=0.0", "num_inference_steps=8",
        'generator=torch.Generator("cuda").manual_seed(42)', ".save(",
    ):
        assert needle in code, needle
    # the file names ComfyUI's documentation gives
    for name in ("z_image_turbo_bf16.safetensors", "qwen_3_4b.safetensors", "ae.safetensors",
                 "diffusion_models", "text_encoders", "vae", "image_z_image_turbo.json"):
        assert name in body, name
    assert "old_diffusers_steps" in body, "say that older diffusers needed 9 steps"


@pytest.mark.parametrize("lang", LANGS)
def test_known_false_claims_are_not_in_the_sources(lang):
    for s in sections(lang):
        for claim in KNOWN_FALSE:
            assert claim not in s.body, f"{s.path.name}: {claim!r}"
    page = (ROOT / "site.yaml").read_text(encoding="utf-8")
    for claim in KNOWN_FALSE:
        assert claim not in page, claim


@pytest.mark.parametrize("lang", LANGS)
def test_numbers_in_prose_come_from_the_facts(lang):
    """Prose carries quantities only through {fact} roles; digits left are names (H800, #14…)."""
    for s in sections(lang):
        text = s.prose()
        text = re.sub(r"\{fact\}`[^`]+`", " ", text)
        text = re.sub(r"`[^`]*`", " ", text)  # inline code
        text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
        text = NUMBERED_ITEM.sub(" ", text)
        text = PROSE_NUMBERED.sub(" ", text)
        for block in s.blocks:  # YAML bodies: buttons, galleries, stats
            if block["name"] in ("cta", "gallery", "stats"):
                text = text.replace(block["body"], " ")
        tokens = re.findall(r"[#A-Za-z0-9][\w.#-]*", text)
        stray = [
            t for t in (t.rstrip(".-") for t in tokens)
            if re.search(r"\d", t) and t not in NAME_TOKENS and not _is_model_name(t)
        ]
        assert not stray, f"{lang}/{s.path.name}: numbers outside a {{fact}} role: {stray}"


def _is_model_name(token: str) -> bool:
    return bool(re.fullmatch(r"(Qwen[\w.-]*|FLUX\.\d|SigLIP-\d|GPT-Image-\d|Imagen|RTX|V100|H800|arXiv)", token))


def test_page_titles_and_descriptions():
    page = yaml.safe_load((ROOT / "site.yaml").read_text(encoding="utf-8"))["languages"]
    assert len(page["zh"]["description"]) <= 90
    assert len(page["en"]["description"]) <= 155
    assert page["zh"]["title"] and page["en"]["title"]
    displays = set()
    for fact in load_facts()["facts"].values():
        for text in (fact.get("display") or {}).values():
            displays |= set(re.findall(r"\d+(?:\.\d+)?", text))
        displays.add(str(fact["value"]))
    displays |= {"6"}  # "6B" is the display of `params`
    for lang in LANGS:
        for field in ("title", "description"):
            for number in re.findall(r"\d+(?:\.\d+)?", page[lang][field]):
                assert number in displays, f"site.yaml languages.{lang}.{field}: {number} is not a fact"


# --------------------------------------------------------------------------- the charts


def _chart_data() -> dict:
    return {"facts": load_facts()}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("chart_id", sorted(CHART_IDS))
def test_charts_are_accessible_figures_with_a_table_and_sources(chart_id, lang):
    from xml.etree import ElementTree

    from zimage_site.charts import render_chart

    html = str(render_chart(chart_id, _chart_data(), lang, {}))
    root = ElementTree.fromstring(html)  # well-formed markup
    assert root.tag == "figure" and "chart" in root.get("class").split()
    svg = root.find("svg")
    assert svg.get("role") == "img"
    labelled = svg.get("aria-labelledby").split()
    ids = {el.get("id") for el in svg.iter() if el.get("id")}
    assert set(labelled) <= ids
    assert svg.find("title").text and len(svg.find("desc").text) > 40
    assert root.find("details/table") is not None
    assert len(root.findall("details/table/tbody/tr")) >= 3
    links = root.findall("p/a")
    assert links and all(a.get("href").startswith("https://") for a in links)
    assert "fill=" not in html and "style=" not in html, "colours come from CSS classes"
    assert "chart__bar--highlight" in html


def test_the_arena_chart_highlights_z_image_turbo_and_states_its_rank():
    from zimage_site.charts import render_chart

    zh = str(render_chart("arena-elo", _chart_data(), "zh", {}))
    en = str(render_chart("arena-elo", _chart_data(), "en", {}))
    assert "总排名第 4" in zh and "开源模型中排名第 1" in zh
    assert "#4 overall" in en
    assert "leaderboard.png" in en


def test_chart_strings_can_be_overridden():
    from zimage_site.charts import render_chart

    html = str(render_chart("model-size", _chart_data(), "en", {"chart_source": "Data source"}))
    assert "Data source" in html


def test_charts_escape_the_data():
    from zimage_site.charts import render_chart

    data = _chart_data()
    data["facts"]["series"]["arena_elo"]["entries"][0]["name"] = "<script>alert(1)</script>"
    html = str(render_chart("arena-elo", data, "en", {}))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_an_unknown_chart_is_a_clear_error():
    from zimage_site.charts import render_chart

    with pytest.raises(ValueError, match=r"unknown chart 'nope'; known charts: arena-elo, model-size"):
        render_chart("nope", _chart_data(), "zh", {})


# --------------------------------------------------------------------------- the built pages


class _TextAndTags(HTMLParser):
    """Visible text of a page (no script/style), and the attributes of some tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.skip = 0
        self.svgs: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        if tag == "svg":
            self.svgs.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.text.append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "zimage_site", "build", "--root", str(ROOT), "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"the build failed:\n{result.stdout}\n{result.stderr}"
    return {
        "zh": (out / "index.html").read_text(encoding="utf-8"),
        "en": (out / "en" / "index.html").read_text(encoding="utf-8"),
    }


def _parse(html: str) -> _TextAndTags:
    parser = _TextAndTags()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("lang", LANGS)
def test_built_pages_hold_no_known_false_claim(built, lang):
    text = "".join(_parse(built[lang]).text)
    for claim in KNOWN_FALSE:
        assert claim not in text, claim
    for claim in KNOWN_FALSE:
        assert claim not in built[lang], f"{claim!r} in the markup (attributes, JSON-LD)"


@pytest.mark.parametrize("lang", LANGS)
def test_built_pages_render_roles_blocks_and_charts(built, lang):
    html = built[lang]
    text = "".join(_parse(html).text)
    assert "{fact}" not in html and "\n:::" not in text
    svgs = [s for s in _parse(html).svgs if s.get("role") == "img"]
    assert len(svgs) >= 2
    for section_id in SECTION_IDS:
        assert f'id="{section_id}"' in html, section_id
    for url in ("https://github.com/Tongyi-MAI/Z-Image/issues/14", "https://arxiv.org/abs/2511.22699"):
        assert url in html


def test_built_chinese_page_is_long_enough_and_hedges_secondary_numbers(built):
    text = "".join(_parse(built["zh"]).text)
    assert cjk_count(text) >= 6000
    assert "据技术报告" in text
    assert "per the technical report" in "".join(_parse(built["en"]).text)


@pytest.mark.parametrize("lang", LANGS)
def test_built_pages_print_every_fact_with_its_source_link(built, lang):
    data = load_facts()
    html = built[lang]
    used = {k for s in sections(lang) for k in fact_keys(s)}
    for key in used:
        url = data["sources"][data["facts"][key]["source"]]["url"]
        assert url in html, f"{key}: its source {url} is not linked on the {lang} page"
