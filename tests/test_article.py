"""The article: facts and their sources, translation parity, coverage of the outline, honesty.

The first group reads the source files (content/, content/data/facts.yaml) through the engine's
own readers (front matter, Markdown tokens, data loader); the charts are rendered from the real
facts and UI strings; the last group builds the real site into a temporary folder and reads the
pages a visitor gets.
"""

from __future__ import annotations

import copy
import functools
import html
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from zimage_site import data as data_module
from zimage_site.config import load_config
from zimage_site.content import parse_section
from zimage_site.data import Data, load_data, text
from zimage_site.errors import SiteError
from zimage_site.markdown import MarkdownRenderer

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
CHART_IDS = {"arena-elo", "model-size", "architecture"}

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
    # The claims corrected in docs/corrections.md ("The landing page"): reintroducing one fails here.
    "数量级", "order of magnitude",                                   # not the team's words; 6B vs 20B is ~3x
    "过去两年", "past two years",                                       # Qwen-Image and FLUX.2 came months apart
    "正在路上", "on its way", "coming soon", "即将发布",                # Edit has no release and no date
    "同时加载的组件较多", "load many components",                       # #340 is the official template itself
    "基础模型发布后，社区的 LoRA", "Since the base model's release, community LoRA",  # LoRA for Turbo since 2025
    "可以尝试社区的量化版本", "换用社区量化版本", "use a community quantised build",  # quantised builds go black too
    "16 GB 显存的消费级显卡就能在本地跑起来", "用小一个数量级",
    # The independent reading of the landing page (docs/corrections.md, "The reader's findings").
    "默认即可", "keep the default",                                    # the pipeline default is 50 steps
    "在 GitHub 下载", "Download on GitHub", "GitHub 下载代码与权重",      # the weights are on Hugging
    "Code and weights on GitHub",                                       # Face and ModelScope
    "可舒适运行", "Consumer VRAM it fits in",                           # 16 GB needs offloading
    "低精度的文本编码器", "lower-precision text encoder",               # the 12.3 GB transformer alone
                                                                        # does not fit 12 GB
    "显存需求与 Turbo 相同", "same memory as Turbo",                    # CFG: two passes per step
    "Fun Union",                                                        # no source for the workflow
    "画质没有明显缩水", "用的人最多", "most people use",                 # no source
    "大家认可的地方", "What people praise",                             # no user discussion cited
    "几乎同期发布", "around the same time",                             # Qwen-Image: August 2025
    "真人盲评", "blind human vote",                                     # neither arena says so
    "Turbo 领先", "Turbo leads",                                        # 0.8585 vs 0.8569
    "都能处理", "small type and multi-line",                            # no source
    "Gradio", "Z-Image/issues/9)",                                      # not in the sources
    "Edit 整合包", "claiming to be it",                                 # rebuts a claim never made
    "生成后可对比", "Once generated",                                   # notes to the image maker
    # The December 2026 corrections (docs/corrections.md, "December 2026").
    "Turbo 保持", "Turbo 必须为 0", "keep Turbo at", "must be 0",      # ComfyUI's template uses CFG 1, not 0
    "提示词增强器让模型具备推理能力", "赋予模型推理能力",              # a literal rendering of the README
    "gives the model reasoning",
    "一笔一画写对", "stroke by stroke",                                 # #85: rare characters go wrong
    "开启 FlashAttention-3 与编译、预热后测得",                          # unsourced conditions of the H800 figure
    "FlashAttention-3 and compilation, warmed up",
    "可以直接复现", "so you can reproduce it",                          # false while the images are pending
    "比同类大模型小得多", "far smaller than its peers",                  # FLUX.2 [klein] 4B is smaller
    "截至 2026", "As of November 2026", "as of November 2026",           # check dates are computed, never typed
    "docs.comfy.org/zh-CN",                                             # the Chinese docs live under /zh/
    # The native reader's review of the built pages (docs/corrections.md, "The second reading").
    "小而精", "小模型，画出大作品", "a small model", "lean can be strong",  # FLUX.2 [klein] 4B is smaller
    "评测成绩也印证", "the benchmarks agree",                          # no benchmark measures photorealism
    "各有输赢", "mixed on long text",                                  # Turbo trails Qwen-Image on both
    "讨论区也很活跃", "are active too",                                # unsupported
    "普通玩家", "ordinary gaming PC",                                  # 16-20 GB with offload
    "是另一回事", "something else, so leave it alone",                 # say plainly: not CFG 0 in ComfyUI
    "私人照片不用上传", "no private photos",                           # Turbo takes no image input
    "同款香水", "the same perfume",                                    # a seed keeps no product identical
    "24 GB 及以上的卡可改用", "with 24 GB or more, pipe.to",            # a user reports ~25 GB (#35)
    "这类意境它读得懂", "understands the mood",                        # unsourced
    "中文文字写得准，写实人像扎实", "solid photorealistic portraits",    # implies [klein] is weaker
    # The second native reading (docs/corrections.md, "The third reading").
    "#15269", "issues/15269",                                          # the shared notes' report is #15255
    "pull/11254",                                                      # a PR the shared notes do not name
    "modelscope.cn/models/Comfy-Org",                                  # a mirror the shared notes do not verify
    "只认文字", "reads text, not photos",                              # img2img, inpainting and ControlNet exist
    "本页按", "this page's own estimate",                              # how the page was made
    "榜单称", "也不是最小", "isn't the smallest",                       # rebuttals of claims never made
    "官方说", "per the README",                                        # the 16 GB stat says it once, sourced
    "把 ComfyUI 的 CFG 也改成", "set ComfyUI's CFG to",                  # read quickly, an instruction to use 0
    "lion dancer", "全解析",
    # The fourth reading (docs/corrections.md, "The fourth reading").
    "没有给出测试设置", "without saying how it was set up",          # the README states the H800 figure plainly
    "hf-mirror.com",                                                   # a mirror the shared notes do not verify
    "就是一句古诗", "a line of classical verse",                       # 小桥流水人家 is Ma Zhiyuan's 元曲
    "none sit idle", "singles out photorealism",
    "中文提示词直接读", "reads Chinese prompts as they are",
    "照样排在前面", "near the top of the charts",                      # a 2025-11 rank, said at launch
]

# Digits in prose that are names, not quantities (the quantities are {fact} roles).
NAME_TOKENS = {
    "Qwen3-4B", "Qwen2.5-VL-7B", "FLUX.1", "FLUX.2", "S3-DiT", "SigLIP-2", "H800", "V100",
    "Apache-2.0", "GPT-Image-1", "CVTG-2K", "FlashAttention-3", "bf16", "fp16", "fp32", "3D",
    "2D", "#14", "#15", "#16", "#27", "#85", "#111", "#340", "#12738", "#13730", "2511.22699",
    "20", "Mistral", "3.1", "Qwen3", "#9", "float16", "fp8",
    "#38", "#45", "#169", "#151", "#71",                               # the FAQ's issues
    "#15255",                                                          # the ComfyUI hang report
    "45438-2025",                                                      # the labelling standard
}
NUMBERED_ITEM = re.compile(r"^\s*\d+\.\s", re.M)  # "1. Update ComfyUI" (a Markdown list)
PROSE_NUMBERED = re.compile(r"\*\*\d+\. ")  # "**1. Black images" (en limitations list)


# --------------------------------------------------------------------------- reading the sources
# Everything is read the way the build reads it: the engine's front matter parser, its Markdown
# parser (the `:::` blocks are its container tokens) and its data loader, so the tests and the
# page can never disagree about what a file says.

_MD = MarkdownRenderer().md


@functools.cache
def _site_data() -> Data:
    return load_data(ROOT)  # raises SiteError, naming file and key, if facts.yaml is not valid


def site_data() -> Data:
    """content/data/*.yaml as the engine loads and validates them (a copy: tests may change it)."""
    return copy.deepcopy(_site_data())


def load_facts() -> dict:
    """content/data/facts.yaml (sources, facts, series) as the engine validated it, as a mapping."""
    return site_data().facts_file.model_dump(by_alias=True)


@dataclass
class Block:
    """One `:::` container, nested ones included: name, arguments, raw body, line of its opening."""

    name: str
    args: list[str]
    body: str
    line: int


class Section:
    def __init__(self, path: Path, lang: str):
        self.path = path
        self.source = parse_section(path, lang, ROOT)  # the engine's front matter, validated
        self.tokens = _MD.parse(self.source.source)
        lines = self.source.source.splitlines()
        self.body = "\n".join(lines[self.source.body_line - 1:])
        self.blocks: list[Block] = []
        for tok in self.tokens:
            if tok.type != "container_block_open":
                continue
            start, end = tok.map  # from the opening line to the closing one, which it leaves out
            closer = lines[end].strip() if end < len(lines) else ""
            closed = closer.startswith(tok.markup) and not closer.strip(":")
            assert closed, f"{path.name}, line {start + 1}: the {tok.markup} {tok.info.strip()} block is never closed"
            words = tok.info.split()
            self.blocks.append(Block(words[0] if words else "", words[1:], "\n".join(lines[start + 1 : end]), start + 1))

    @property
    def id(self) -> str:
        return self.source.id

    def fences(self) -> list[tuple[str, str]]:
        """The fenced code blocks: (language, code)."""
        return [(tok.info.strip(), tok.content) for tok in self.tokens if tok.type == "fence"]

    def prose(self) -> str:
        """The body without fenced code."""
        code: set[int] = set()
        for tok in self.tokens:
            if tok.type == "fence":
                code.update(range(*tok.map))
        lines = self.source.source.splitlines()
        return "\n".join(line for i, line in enumerate(lines) if i >= self.source.body_line - 1 and i not in code)


def sections(lang: str) -> list[Section]:
    return [Section(p, lang) for p in sorted((CONTENT / lang).glob("*.md"))]


def fact_keys(section: Section) -> list[str]:
    """The facts a section cites: its {fact} roles (as the parser finds them) and its stat cards."""
    keys = [
        child.content.strip()
        for tok in section.tokens
        for child in tok.children or ()
        if child.type == "myst_role" and child.meta.get("name") == "fact"
    ]
    for block in section.blocks:
        if block.name == "stats":
            keys += [item["fact"] for item in yaml.safe_load(block.body)]
    return keys


def block_signature(block: Block) -> tuple:
    # a details block's argument is its summary, written in each language
    sig: tuple = (block.name, () if block.name == "details" else tuple(block.args))
    if block.name == "stats":
        sig += (tuple(item["fact"] for item in yaml.safe_load(block.body)),)
    if block.name == "gallery":
        sig += (tuple(yaml.safe_load(block.body)),)
    return sig


def image_refs(section: Section) -> list[str]:
    refs = []
    for block in section.blocks:
        if block.name in ("figure", "compare"):
            refs += block.args
        elif block.name == "gallery":
            refs += yaml.safe_load(block.body)
    return refs


def cjk_count(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text))


def test_sections_are_read_by_the_engine_nested_blocks_included(tmp_path):
    """A `:::` inside a fence is code, and a container nested in a four-colon one is a block."""
    path = tmp_path / "content" / "en" / "01-x.md"
    path.parent.mkdir(parents=True)
    path.write_text(
        "---\nid: x\norder: 1\ntitle: X\nlayout: hero\n---\n\n"
        "```markdown\n::: note\nnot a block\n:::\n```\n\n"
        ":::: note\nOuter, then a chart inside.\n\n::: chart arena-elo\n:::\n\nAfter the chart.\n::::\n\n"
        "See {fact}`params`, not `{fact}` in code.\n",
        encoding="utf-8",
    )
    s = Section(path, "en")
    assert (s.id, s.source.order, s.source.layout) == ("x", 1, "hero")
    assert [(b.name, b.args, b.line) for b in s.blocks] == [("note", [], 14), ("chart", ["arena-elo"], 17)]
    assert s.blocks[0].body.splitlines()[-1] == "After the chart."
    assert fact_keys(s) == ["params"]
    assert s.fences() == [("markdown", "::: note\nnot a block\n:::\n")]
    assert "not a block" not in s.prose() and "After the chart." in s.prose()


# --------------------------------------------------------------------------- facts.yaml


def test_facts_yaml_is_valid_for_the_engine_and_every_source_has_a_title():
    data = site_data()  # load_data checks: value present, known source, allowed verdict, https URLs
    sources = load_facts()["sources"]
    assert sources, "no sources"
    assert set(VERDICTS) == set(data_module.VERDICTS)
    for key, src in sources.items():
        for lang in LANGS:
            assert text(src["title"], lang).strip(), f"source {key} has no {lang} title"
        assert src["url"].startswith("https://"), f"source {key}: not an https URL"


def test_every_fact_has_a_label_in_both_languages():
    for key, fact in load_facts()["facts"].items():
        for lang in LANGS:
            assert isinstance(fact.get("label"), dict) and text(fact["label"], lang).strip(), \
                f"fact {key} has no {lang} label"


def _series_refs(series: dict, path: str):
    """Every scalar of a series with its key path."""
    if isinstance(series, dict):
        for k, v in series.items():
            yield from _series_refs(v, f"{path}.{k}")
    elif isinstance(series, list):
        for i, v in enumerate(series):
            yield from _series_refs(v, f"{path}[{i}]")
    else:
        yield path, series


# The fields of a chart series that are labels or display settings, not values.
CHART_LITERALS = {"name", "text_encoder_name", "open", "highlight", "axis_min"}


def test_every_chart_value_resolves_to_a_fact():
    """A series holds fact keys, never numbers or dates: each chart value has one home, under facts:."""
    data = load_facts()
    facts, refs, entries = data["facts"], 0, 0
    for name, series in data["series"].items():
        entries += len(series.get("entries", []))
        for path, value in _series_refs(series, f"series.{name}"):
            field = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]
            if field in CHART_LITERALS:
                assert field == "axis_min" or isinstance(value, (str, bool)), \
                    f"{path}: {value!r} is written in the series; numbers and dates are facts"
                continue
            assert isinstance(value, str) and value in facts, f"{path}: {value!r} is not the key of a fact"
            assert facts[value]["value"] is not None and facts[value]["source"] in data["sources"], path
            refs += 1
    assert refs > entries, "every entry shows at least one fact, and every chart a date"
    # and a value is never shown twice in one chart: each entry points at its own fact
    for name, series in data["series"].items():
        keys = [v for p, v in _series_refs(series.get("entries", []), "") if isinstance(v, str) and v in facts]
        assert len(keys) == len(set(keys)), f"series.{name} shows a fact twice"


def test_the_article_and_the_arena_chart_share_their_facts():
    """The numbers the prose and the chart both print are one fact each, used in both places."""
    arena = {e["name"]: e for e in load_facts()["series"]["arena_elo"]["entries"]}
    size = {e["name"]: e for e in load_facts()["series"]["model_size"]["entries"]}
    assert arena["Z-Image-Turbo"]["elo"] == "arena_elo"
    assert arena["Qwen-Image"]["elo"] == "qwen_image_arena_elo"
    assert load_facts()["series"]["arena_elo"]["rank"] == "arena_rank"
    assert load_facts()["series"]["arena_elo"]["open_rank"] == "arena_open_rank"
    assert size["Z-Image-Turbo"]["dit"] == "params"
    # Qwen-Image's text encoder size is not among the verified facts: it stays out of the size chart
    # rather than be drawn as a 20B model with no text encoder
    assert "Qwen-Image" not in size
    assert size["FLUX.2 [dev]"]["dit"] == "flux2_dev_params"
    assert size["FLUX.2 [dev]"]["text_encoder"] == "flux2_dev_te_params"


# The technical reports: Z-Image's (its tables, read through transcriptions) and Qwen-Image's.
TECHNICAL_REPORTS = {"report", "qwen_image_report"}


def test_secondary_facts_are_only_the_technical_reports():
    data = load_facts()
    for key, fact in data["facts"].items():
        if fact["verdict"] == "secondary":
            assert fact["source"] in TECHNICAL_REPORTS, f"secondary fact {key} should cite a technical report"


# --------------------------------------------------------------------------- the article sources


@pytest.mark.parametrize("lang", LANGS)
def test_sections_are_the_ten_of_the_outline_in_order(lang):
    secs = sections(lang)
    assert [s.id for s in secs] == SECTION_IDS
    assert [s.source.order for s in secs] == list(range(1, 11))
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
        assert zh.source.layout == en.source.layout, zh.id


def test_both_languages_cite_the_same_facts():
    for zh, en in zip(sections("zh"), sections("en")):
        assert set(fact_keys(zh)) == set(fact_keys(en)), zh.id


def test_image_and_chart_references_are_known():
    for lang in LANGS:
        for s in sections(lang):
            for b in s.blocks:
                if b.name == "figure":
                    assert b.args[0] in SHOWCASE_IMAGES, b
                elif b.name == "gallery":
                    assert set(yaml.safe_load(b.body)) <= SHOWCASE_IMAGES, b
                elif b.name == "compare":
                    assert b.args[0] in COMPARE_SETS, b
                elif b.name == "chart":
                    assert b.args[0] in CHART_IDS, b
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
            if b.name == "figure":
                assert b.args[0] in ids
            elif b.name == "gallery":
                assert set(yaml.safe_load(b.body)) <= ids
            elif b.name == "compare":
                assert b.args[0] in sets


def test_the_intro_is_a_hero_with_two_calls_to_action_and_the_cover():
    for lang in LANGS:
        intro = sections(lang)[0]
        assert intro.source.layout == "hero"
        names = [b.name for b in intro.blocks]
        assert names[:2] == ["cta", "figure"], names
        buttons = yaml.safe_load(intro.blocks[0].body)
        config = load_config(ROOT)
        hrefs = [config.link(b["href"][1:], lang) if b["href"].startswith("@") else b["href"] for b in buttons]
        # the demo, then the way to run it locally: the route table of the quick start (the
        # weights alone would be the diffusers files, which ComfyUI, the recommended route, cannot load)
        assert len(buttons) == 2 and hrefs[0].startswith("https://") and hrefs[1] == "#quick-start", hrefs
        assert intro.blocks[1].args == ["hero-cover"]


def test_the_technology_section_has_both_charts():
    for lang in LANGS:
        tech = next(s for s in sections(lang) if s.id == "technology")
        charts = [b.args[0] for b in tech.blocks if b.name == "chart"]
        assert set(charts) == CHART_IDS


def test_the_chinese_article_keeps_its_substance():
    """The page got shorter to read, not thinner: the sources still hold the full article."""
    total = sum(cjk_count(s.prose()) for s in sections("zh"))
    assert total >= 5000, total


@pytest.mark.parametrize("lang,column", [("zh", 1), ("en", 2)])
def test_every_faq_question_of_the_outline_is_answered(lang, column):
    faq = next(s for s in sections(lang) if s.id == "faq")
    questions: list[tuple[str, str]] = []
    for b in faq.blocks:
        assert b.name == "faq"
        parts = re.split(r"^### (.+)$", b.body, flags=re.M)
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
    section = next(s for s in sections(lang) if s.id == "quick-start")
    body, fences = section.body, section.fences()
    languages = [info.split()[0] for info, _ in fences if info]
    assert "python" in languages and "bash" in languages
    pythons = [code for info, code in fences if info.split()[:1] == ["python"]]
    code = pythons[0]
    compile(code, "quick-start.py", "exec")
    # the Chinese page downloads the same weights from ModelScope (huggingface.co is generally
    # unreachable from mainland China); the English one names the Hugging Face repository
    loading = ('model_dir = snapshot_download("Tongyi-MAI/Z-Image-Turbo")', 
               'ZImagePipeline.from_pretrained(\n    model_dir,\n    torch_dtype=torch.bfloat16,') if lang == "zh" else \
        ('ZImagePipeline.from_pretrained(\n    "Tongyi-MAI/Z-Image-Turbo",\n    torch_dtype=torch.bfloat16,',)
    for needle in (
        *loading,
        "height=1024", "width=1024", "guidance_scale=0.0", "num_inference_steps=8",
        'generator=torch.Generator("cuda").manual_seed(42)', ".save(",
    ):
        assert needle in code, needle
    # The page says the script runs on a 16 GB card: the bf16 weights (about 20.5 GB) do not fit one
    # whole, so the script offloads, and pipe.to("cuda") (a 24 GB card) is only named in a comment.
    for snippet in pythons:
        calls = _calls(snippet)
        assert "enable_model_cpu_offload" in calls, "the examples must fit a 16 GB card"
        assert "to" not in calls, 'pipe.to("cuda") needs a 24 GB card; offload instead'
    # the base model: negative prompt, 28-50 steps, guidance 3-5
    base = next(c for c in pythons if '"Tongyi-MAI/Z-Image"' in c)
    compile(base, "base.py", "exec")
    assert "negative_prompt=" in base
    steps = int(re.search(r"num_inference_steps=(\d+)", base).group(1))
    guidance = float(re.search(r"guidance_scale=([\d.]+)", base).group(1))
    assert 28 <= steps <= 50 and 3 <= guidance <= 5, (steps, guidance)
    bash = next(code for info, code in fences if info.split()[:1] == ["bash"] and "pip install" in code)
    assert 'diffusers>=0.39' in bash, "install the diffusers whose 8 steps are 8 forward passes"
    assert "accelerate" in bash, "enable_model_cpu_offload() needs accelerate"
    # the file names ComfyUI's documentation gives
    for name in ("z_image_turbo_bf16.safetensors", "qwen_3_4b.safetensors", "ae.safetensors",
                 "diffusion_models", "text_encoders", "vae", "image_z_image_turbo.json"):
        assert name in body, name
    assert "old_diffusers_steps" in body, "say that older diffusers needed 9 steps"
    for key in ("diffusers_min_version", "diffusers_nfe_version", "diffusers_lora_version", "vram_full_est",
                "vram_seq_est", "vram_12", "vram_sdcpp", "weights_bf16_est"):
        assert key in fact_keys(section), f"the quick start should cite {key}"


def _calls(code: str) -> set[str]:
    """The names of the functions and methods a Python snippet calls (comments are not calls)."""
    import ast

    return {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)}


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
            if block.name in ("cta", "gallery", "stats"):
                text = text.replace(block.body, " ")
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
        for shown in (fact.get("display") or {}).values():
            displays |= set(re.findall(r"\d+(?:\.\d+)?", shown))
        displays.add(str(fact["value"]))
    displays |= {"6"}  # "6B" is the display of `params`
    for lang in LANGS:
        for field in ("title", "description"):
            for number in re.findall(r"\d+(?:\.\d+)?", page[lang][field]):
                assert number in displays, f"site.yaml languages.{lang}.{field}: {number} is not a fact"


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


# --------------------------------------------------------------------------- a page a reader finishes

# Visible by default: the prose a reader sees without opening anything. Code, tables, figures (images,
# charts) and collapsed <details> (FAQ answers, "more detail" panels) are depth, not reading load.
DEPTH_TAGS = ("details", "pre", "code", "table", "figure", "svg", "script", "style", "sup", "template")
PROSE_BUDGET = {"zh": 5000, "en": 3000}  # CJK characters / English words


def _main(html: str):
    import lxml.html

    main = lxml.html.fromstring(html).find(".//main")
    assert main is not None, "the page has no <main>"
    return main


def _prose(html: str) -> tuple[str, str]:
    """(visible prose, text inside <details>) of the page's <main>, from the built HTML."""
    main = _main(html)
    hidden = "\n".join(d.text_content() for d in main.iter("details") if d.getparent().tag != "details")
    for tag in DEPTH_TAGS:
        for el in list(main.iter(tag)):
            if el.getparent() is not None:
                el.drop_tree()
    return main.text_content(), hidden


def english_words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9][A-Za-z0-9'’.\-]*", text))


def test_prose_measure_leaves_out_depth():
    """The measure itself: code, tables, figures and collapsed details do not count, prose does."""
    html = ("<html><body><main><p>可见的话</p><pre>代码代码</pre><table><tr><td>表格</td></tr></table>"
            "<figure>图注图注</figure><details><summary>展开</summary>折叠的内容</details>"
            "<p>one two three</p></main></body></html>")
    visible, hidden = _prose(html)
    assert cjk_count(visible) == 4 and english_words(visible) == 3
    assert "折叠的内容" in hidden and "代码" not in visible


@pytest.mark.parametrize("lang", LANGS)
def test_the_visible_prose_fits_a_landing_page(built, lang):
    visible, hidden = _prose(built[lang])
    size = cjk_count(visible) if lang == "zh" else english_words(visible)
    depth = cjk_count(hidden) if lang == "zh" else english_words(hidden)
    assert size <= PROSE_BUDGET[lang], f"{lang}: {size} visible, over the budget of {PROSE_BUDGET[lang]}"
    assert size >= PROSE_BUDGET[lang] // 2, f"{lang}: only {size} visible: the article lost its substance"
    assert depth >= PROSE_BUDGET[lang] // 5, f"{lang}: {depth} in <details>: where did the depth go?"


def test_both_languages_have_the_same_tables_and_questions():
    def shape(section: Section) -> tuple:
        tables = []
        for tok in section.tokens:
            if tok.type == "table_open":
                tables.append(0)
            elif tok.type == "tr_open" and tables:
                tables[-1] += 1
        questions = [len(re.findall(r"^### ", b.body, re.M)) for b in section.blocks if b.name == "faq"]
        return tables, questions
    for zh, en in zip(sections("zh"), sections("en")):
        assert shape(zh) == shape(en), zh.id


def test_estimated_figures_say_so():
    data = load_facts()
    estimates = [k for k, f in data["facts"].items() if f["source"] == "vram_estimate"]
    assert {"vram_full_est", "vram_seq_est", "vram_12", "weights_bf16_est"} <= set(estimates)
    for key in estimates:
        label = data["facts"][key]["label"]
        assert "估算" in label["zh"] and "estimate" in label["en"], key
    title = data["sources"]["vram_estimate"]["title"]
    assert "估算" in title["zh"] and "Estimate" in title["en"]
    for key in ("dit_weights_gb", "te_weights_gb"):  # the sum it is computed from
        assert str(data["facts"][key]["value"]) in title["en"], key


def _section(lang: str, section_id: str) -> Section:
    return next(s for s in sections(lang) if s.id == section_id)


def _table_rows(section: Section) -> list[list[str]]:
    """Every body row of the section's tables, as the cells' raw inline source."""
    rows, row, inside = [], None, False
    for tok in section.tokens:
        if tok.type == "tbody_open":
            inside = True
        elif tok.type == "tbody_close":
            inside = False
        elif inside and tok.type == "tr_open":
            row = []
        elif inside and tok.type == "inline" and row is not None:
            row.append(tok.content)
        elif inside and tok.type == "tr_close":
            rows.append(row)
    return rows


@pytest.mark.parametrize("lang", LANGS)
def test_the_gpu_route_table_gives_a_route_for_every_memory_size(lang):
    rows = _table_rows(_section(lang, "quick-start"))
    routes = {key: row for row in rows for key in re.findall(r"\{fact\}`([^`]+)`", row[0])}
    assert {"vram_seq_est", "vram_12", "vram_offload_est", "vram_full_est"} <= set(routes), routes.keys()
    assert 'pipe.to("cuda")' in " ".join(routes["vram_full_est"])
    assert "enable_model_cpu_offload" in " ".join(routes["vram_offload_est"])
    assert "enable_sequential_cpu_offload" in " ".join(routes["vram_seq_est"])
    assert "ComfyUI" in " ".join(routes["vram_12"])
    assert any(not re.search(r"\{fact\}", row[0]) and "#quick-start-" in row[1] for row in rows), "no-GPU row"


# The eight claims corrected in docs/corrections.md, checked where they were made.

@pytest.mark.parametrize("lang,words", [("zh", ("fp32", "ComfyUI")), ("en", ("fp32", "ComfyUI"))])
def test_black_images_get_the_fix_that_is_reported_to_work(lang, words):
    # the FAQ is the answer's one home (the fourth reading); the limitations row cites the issues and points there
    black = next(row for row in _table_rows(_section(lang, "reviews")) if "issues/14" in row[1])
    assert "issues/15" in black[1] and "#faq-" in black[2], black
    assert not re.search(r"量化版|quantised build", black[2]), "quantised builds are reported black on these cards too"
    faq = _section(lang, "faq").body
    answer = re.search(r"(全黑|Black)[:：]?\*\*(.+)", faq).group(2)
    assert all(w in answer for w in words), answer


@pytest.mark.parametrize("lang,second", [("zh", "第二次"), ("en", "second run")])
def test_the_comfyui_out_of_memory_issue_is_described_as_it_is(lang, second):
    # said once, in route one's "update ComfyUI" step (the version rule's one home), cited to the issue
    step = next(line for line in _section(lang, "quick-start").body.splitlines() if "workflow_templates/issues/340" in line)
    assert second in step and "{fact}`comfy_oom_vram`" in step, step
    row = next(row for row in _table_rows(_section(lang, "reviews")) if "workflow_templates/issues/340" in row[1])
    assert "#quick-start-" in row[2], row


@pytest.mark.parametrize("lang,no_date", [("zh", "没有公布发布日期"), ("en", "no published release date")])
def test_unreleased_variants_have_no_date_and_say_so(lang, no_date):
    cards = next(b for b in _section(lang, "models").blocks if b.name == "cards").body
    edit = re.search(r"### Z-Image-Edit[^\n]*\n([^#]+)", cards)
    assert edit and no_date in edit.group(1), edit
    assert "Edit" in _section(lang, "use-cases").body


@pytest.mark.parametrize("lang", LANGS)
def test_the_size_claim_is_the_reports_own(lang):
    intro = _section(lang, "intro")
    assert "report_rival_params" in fact_keys(intro)
    assert ("比肩甚至超过" if lang == "zh" else "comparable to or surpassing") in intro.body


@pytest.mark.parametrize("lang,heading", [("zh", "提示词增强"), ("en", "Prompt enhancing")])
def test_every_strength_promised_is_expanded(lang, heading):
    """Section 2 lists its main features; the three that promise more (lettering, the prompt
    enhancer, speed) link to where they are expanded (photorealism links nowhere: no benchmark
    measures it)."""
    models = _section(lang, "models").body
    strengths = re.search(r"### (主要特点|Main features)\n(.+?)\n### ", models, re.S).group(2)
    links = re.findall(r"\]\(#([^)]+)\)", strengths)
    assert len(links) == 3, links
    tech = _section(lang, "technology")
    assert any(heading in tok.content for tok in tech.tokens if tok.type == "inline"), heading
    assert any(link.startswith("technology-") and heading.split()[0].lower() in link.lower() for link in links)



# The reader's findings (docs/corrections.md): each corrected claim, checked where it was made.

def test_the_memory_tiers_cover_every_card_size():
    """≤8, 10–12, 16–20 and 24+ GB: a 10, 11 or 20 GB card finds its row."""
    facts = load_facts()["facts"]
    shown = {key: facts[key]["display"]["en"] for key in ("vram_seq_est", "vram_12", "vram_offload_est", "vram_full_est")}
    assert shown == {"vram_seq_est": "8 GB", "vram_12": "10–12 GB", "vram_offload_est": "16–20 GB",
                     "vram_full_est": "24 GB"}, shown
    # 20 GB is below the bf16 weights: the pipeline does not fit whole below the top tier
    assert facts["weights_bf16_est"]["value"] > 20 >= facts["vram_offload_est"]["value"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_official_16_gb_is_said_once_with_its_condition(lang):
    """README: "fits comfortably within 16G VRAM"; the page's own table says 16 GB needs offloading.
    The figure is printed once, in the stat card, with the condition, and sourced to the README."""
    fact = load_facts()["facts"]["vram"]
    label = fact["label"][lang]
    assert fact["source"] == "readme"
    assert ("卸载" in label and "ComfyUI" in label) if lang == "zh" else ("offload" in label and "ComfyUI" in label), label
    printed = [s.path.name for s in sections(lang) if "vram" in fact_keys(s)]
    assert printed == ["01-intro.md"], printed
    intro = _section(lang, "intro")
    assert "{fact}`vram`" not in intro.body, "the stat card says it; the prose does not repeat it"


@pytest.mark.parametrize("lang", LANGS)
def test_turbo_steps_are_set_not_left_at_the_default(lang):
    body = _section(lang, "quick-start").body
    steps = re.search(r"\*\*(步数|Steps)[:：]?\*\*[:：]? ?(.+)", body).group(2)
    assert "{fact}`turbo_nfe`" in steps and "ComfyUI" in steps, steps
    assert not re.search(r"默认|default", steps), steps


@pytest.mark.parametrize("lang", LANGS)
def test_the_small_card_routes_are_in_the_table_and_the_faq_points_there(lang):
    """Each memory tier is stated once, in the route table; the hardware FAQ names the ways out
    for small cards and links the table instead of repeating the tiers."""
    rows = {key: r for r in _table_rows(_section(lang, "quick-start"))
            for key in re.findall(r"\{fact\}`([^`]+)`", r[0])}
    for key in ("vram_12", "vram_seq_est"):
        for word in ("ComfyUI", "stable-diffusion.cpp", "GGUF"):
            assert word in rows[key][1], (key, word)
    assert "nunchaku" in rows["vram_seq_est"][1] and "fp8" in rows["vram_12"][1]
    assert re.search(r"模型级卸载|model offload", rows["vram_12"][2]), "diffusers' model offload fails at 12 GB"
    faq = _section(lang, "faq").body
    answer = re.search(r"### (哪些硬件|What hardware)[^\n]*\n(.+?)\n### ", faq, re.S).group(2)
    assert "(#quick-start)" in answer
    assert not re.search(r"\{fact\}`vram", answer), "the tiers are stated once, in the table"


@pytest.mark.parametrize("lang", LANGS)
def test_the_edit_pipelines_named_exist_in_diffusers(lang):
    """The pipelines the page names are diffusers' own (checked in the installed package)."""
    diffusers = pytest.importorskip("diffusers")
    section = _section(lang, "use-cases")
    assert "diffusers_pipelines_version" in fact_keys(section)
    named = set()
    for s in sections(lang):
        named |= set(re.findall(r"`(ZImage\w+Pipeline)`", s.body))
    assert {"ZImageImg2ImgPipeline", "ZImageInpaintPipeline", "ZImageControlNetPipeline"} <= named
    missing = [n for n in named if not hasattr(diffusers, n)]
    assert not missing, f"{lang}: not in diffusers {diffusers.__version__}: {missing}"
    assert hasattr(diffusers.ZImagePipeline, "load_lora_weights")  # the LoRA paragraph


@pytest.mark.parametrize("lang", LANGS)
def test_rankings_carry_their_date_wherever_they_are_claimed(lang):
    """Arena ranks are snapshots: a sentence that states one also states its date."""
    for s in sections(lang):
        for line in s.body.splitlines():
            if re.search(r"arena_rank`|排名最高|highest-ranked", line):
                assert "arena_as_of" in line or "aa_as_of" in line or line.startswith("- fact:"), (s.path.name, line)


# --------------------------------------------------------------------------- the reader in mainland China
# The page figures are measured by scripts/page_figures.py (the script that prints them), loaded by path.

def _page_figures():
    import importlib.util

    spec = importlib.util.spec_from_file_location("page_figures", ROOT / "scripts" / "page_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_first_step_measure_counts_prose_cards_and_tables_but_not_code_or_folds():
    pf = _page_figures()
    html = ("<html><body><main><h1>标题</h1><p>四个汉字</p><details><summary>展开</summary>折叠不算</details>"
            "<svg><text>图不算</text></svg><div class='cards'><p>卡片</p></div><table><thead><tr><th>路线</th></tr>"
            "</thead><tbody><tr><td>表格</td></tr></tbody></table><pre>第一步</pre><p>之后的字</p></main></body></html>")
    before, step = pf.text_before_first_step(html)
    # heading, prose, the summary of a fold, a card and a table count; the fold, the SVG do not
    assert pf.cjk_count(before) == 2 + 4 + 2 + 2 + 2 + 2 and step.startswith("<pre>"), (before, step)
    # a table whose header names GPU memory is a route table: the first thing to choose
    before, step = pf.text_before_first_step(html.replace("<th>路线</th>", "<th>显存</th>"))
    assert step.startswith("<table>") and pf.cjk_count(before) == 2 + 4 + 2 + 2, (before, step)


@pytest.mark.parametrize("lang", LANGS)
def test_a_reader_reaches_something_to_run_within_the_limit(built, lang):
    pf = _page_figures()
    before, step = pf.text_before_first_step(built[lang])
    limit = pf.LIMITS["before_first_step"][lang]
    assert step is not None, "no runnable or choosable step on the page"
    assert pf.measure(before, lang) <= limit, f"{lang}: {pf.measure(before, lang)} before the first step ({step})"
    # the step is the start table of the hero: one way for each kind of reader, with its memory
    intro = _section(lang, "intro")
    first_table = _table_rows(intro)
    assert len(first_table) == 3 and {"vram_offload_est"} <= set(fact_keys(intro))


@pytest.mark.parametrize("lang,host", [("zh", "www.modelscope.cn"), ("en", "huggingface.co")])
def test_the_primary_buttons_go_where_the_pages_reader_can_open_them(built, lang, host):
    from urllib.parse import urlsplit

    buttons = _page_figures().primary_buttons(built[lang])
    assert len(buttons) >= 2 and {urlsplit(b).netloc for b in buttons} == {host}, buttons


@pytest.mark.parametrize("lang,first,second", [("zh", "www.modelscope.cn", "huggingface.co"),
                                               ("en", "huggingface.co", "www.modelscope.cn")])
def test_where_the_page_offers_both_hosts_the_readers_comes_first(built, lang, first, second):
    """In every list item, table cell and paragraph of <main> linking both ModelScope and Hugging
    Face, the page's first host comes first (the Chinese page: ModelScope, mainland-reachable)."""
    from urllib.parse import urlsplit

    main = _page_figures().main_of(built[lang])
    offers = 0
    for el in main.iter("li", "td", "p"):
        hosts = [urlsplit(a.get("href") or "").netloc for a in el.iter("a")]
        if first in hosts and second in hosts:
            offers += 1
            assert hosts.index(first) < hosts.index(second), (lang, el.text_content()[:80])
    # the demo (hero) and the weights (resources); ComfyUI's files have one verified host, Hugging Face
    assert offers >= 2, offers
    # the Chinese ComfyUI tutorial on the Chinese page, the English one on the English page
    tutorial = "https://docs.comfy.org/zh/tutorials/" if lang == "zh" else "https://docs.comfy.org/tutorials/"
    assert tutorial in built[lang]


def test_links_can_differ_per_language_and_must_cover_every_language(tmp_path):
    config = load_config(ROOT)
    assert config.link("demo", "zh").startswith("https://www.modelscope.cn/")
    assert config.link("demo", "en").startswith("https://huggingface.co/")
    assert config.link("github", "zh") == config.link("github", "en")
    site = tmp_path / "site"
    shutil.copytree(ROOT, site, ignore=shutil.ignore_patterns(".cache", ".git", "images", "__pycache__"))
    text = (site / "site.yaml").read_text(encoding="utf-8")
    (site / "site.yaml").write_text(text.replace("  demo:\n    zh:", "  demo:\n    fr:", 1), encoding="utf-8")
    with pytest.raises(SiteError) as err:
        load_config(site)
    message = str(err.value)
    assert "site.yaml" in message and "links.demo.fr" in message and "not one of the languages" in message, message


@pytest.mark.parametrize("lang", LANGS)
def test_comfyui_and_diffusers_each_state_their_own_settings(lang):
    """ComfyUI's template runs CFG 1 (no guidance), diffusers guidance_scale=0.0: each route says its own."""
    facts = load_facts()["facts"]
    assert facts["comfy_cfg"]["value"] == 1 and facts["comfy_cfg"]["source"] == "comfy_template"
    assert facts["comfy_steps"]["value"] == facts["turbo_nfe"]["value"]
    body = _section(lang, "quick-start").body
    comfy = body[body.index("### 路线一：ComfyUI" if lang == "zh" else "ComfyUI (recommended)"):body.index("diffusers）" if lang == "zh" else "(diffusers)")]
    for needle in ("{fact}`comfy_cfg`", "{fact}`comfy_steps`", "`res_multistep`", "`simple`", "guidance_scale=0.0"):
        assert needle in comfy, needle
    assert any("guidance_scale=0.0" in code for info, code in _section(lang, "quick-start").fences() if info.startswith("python"))


@pytest.mark.parametrize("lang", LANGS)
def test_the_size_framing_holds_with_flux2_klein(lang):
    intro = _section(lang, "intro")
    assert {"klein_params", "klein_release"} <= set(fact_keys(intro))
    assert load_facts()["facts"]["klein_params"]["source"] == "flux2_readme"


@pytest.mark.parametrize("lang", LANGS)
def test_lora_training_names_where_to_train_today(lang):
    body = _section(lang, "quick-start").body
    lora = body[body.index("### 训练" if lang == "zh" else "### Train"):]
    assert "{fact}`diffusers_lora_version`" in lora and "train_dreambooth_lora_z_image.py" in lora
    assert "`Tongyi-MAI/Z-Image`" in lora and "{fact}`turbo_nfe`" in lora  # why not plain Turbo fine-tuning
    for trainer in ("DiffSynth-Studio", "ai-toolkit", "SimpleTuner", "musubi-tuner", "OneTrainer"):
        assert trainer in lora, trainer


@pytest.mark.parametrize("lang", LANGS)
def test_the_faq_answers_the_readers_most_asked_questions(lang):
    faq = _section(lang, "faq").body
    for issue in ("issues/38", "issues/151", "issues/16", "issues/71"):
        assert issue in faq, issue
    commercial = faq[faq.index("### Z-Image 用于商业" if lang == "zh" else "### Are there licence"):]
    assert "{fact}`labelling_in_force`" in commercial
    assert load_facts()["sources"]["cac_labelling"]["url"].startswith("https://www.cac.gov.cn/")


@pytest.mark.parametrize("lang", LANGS)
def test_a_research_page_carries_the_citation_and_the_prompt_enhancer(built, lang):
    roadmap = _section(lang, "roadmap")
    bibtex = next(code for info, code in roadmap.fences() if info.strip() == "bibtex")
    assert "@article{team2025zimage," in bibtex and "arXiv:2511.22699" in bibtex
    main = _page_figures().main_of(built[lang])
    copies = [b.get("data-copy") or "" for b in main.iter("button") if "copy" in (b.get("class") or "").split()]
    assert any(c.startswith("@article{team2025zimage") for c in copies), "the BibTeX has a copy button"
    assert "https://huggingface.co/spaces/Tongyi-MAI/Z-Image-Turbo/blob/main/pe.py" in built[lang]


def test_the_chinese_page_speaks_with_a_voice():
    """Sources live in the footnotes; a number is said where it matters."""
    pf = _page_figures()
    html = pf.main_of(_built_once()["zh"])
    for el in list(html.iter()):
        if isinstance(el.tag, str) and el.tag in pf.SKIP_TAGS and el.getparent() is not None:
            el.drop_tree()
    text = html.text_content()
    assert text.count("README") <= 2, text.count("README")
    assert text.count("官方称") <= 1, text.count("官方称")
    assert text.count("次前向") <= 1 and text.count("前向次数") == 0


@functools.cache
def _built_once() -> dict[str, str]:
    out = Path(__import__("tempfile").mkdtemp(prefix="article-voice-"))
    result = subprocess.run([sys.executable, "-m", "zimage_site", "build", "--root", str(ROOT), "--out", str(out / "site")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    pages = {"zh": (out / "site" / "index.html").read_text(encoding="utf-8"),
             "en": (out / "site" / "en" / "index.html").read_text(encoding="utf-8")}
    shutil.rmtree(out)
    return pages


def test_every_chinese_prompt_has_an_english_rendering():
    manifest = yaml.safe_load((CONTENT / "images.yaml").read_text(encoding="utf-8"))
    chinese = [im for im in manifest["images"] if cjk_count(im["prompt"])]
    assert chinese, "the manifest has Chinese prompts"
    for image in chinese:
        assert image.get("prompt_en") and not cjk_count(image["prompt_en"].replace("造相", "").translate(
            {ord(c): None for c in "茗香晨间咖啡国潮新春福气满堂孤帆远影碧空尽唯见长江天际流"})), image["id"]


def test_the_english_page_shows_each_chinese_prompt_with_its_rendering(built):
    """As sent, plus the rendering; "Copy prompt" copies what made the image, a second button the rendering."""
    manifest = yaml.safe_load((CONTENT / "images.yaml").read_text(encoding="utf-8"))
    rendering = {im["prompt"]: im["prompt_en"] for im in manifest["images"] if im.get("prompt_en")}
    main = _page_figures().main_of(built["en"])
    shown = 0
    for q in main.iter("q"):
        if q.text in rendering and "zimg__rendering" not in (q.get("class") or ""):
            box = q.getparent()
            while box is not None and box.tag not in ("figcaption", "p", "li"):
                box = box.getparent()
            copies = [b.get("data-copy") for b in box.iter("button") if "copy" in (b.get("class") or "").split()]
            assert copies[:2] == [q.text, rendering[q.text]], copies
            assert any(r.text == rendering[q.text] and r.get("lang") == "en" for r in box.iter("q"))
            shown += 1
    assert shown >= 11, shown
    assert "zimg__rendering" not in built["zh"], "the Chinese page shows the prompts as they are"


def test_a_rendering_of_an_english_prompt_is_refused():
    from zimage_site.images.manifest import parse_manifest

    data = {"images": [{"id": "a", "section": "intro", "prompt": "A cat", "prompt_en": "A cat",
                        "caption": {"zh": "猫", "en": "Cat"}, "alt": {"zh": "猫", "en": "Cat"},
                        "seed": 1, "width": 64, "height": 64}]}
    with pytest.raises(SiteError) as err:
        parse_manifest(data, {"images[0].prompt_en": 7}, "content/images.yaml", ("zh", "en"))
    assert "images[0].prompt_en" in str(err.value) and "already English" in str(err.value)


def test_facts_carry_their_class_and_check_dates():
    import datetime as dt

    raw = load_facts()
    classes = raw["classes"]
    assert set(classes) == {"stable", "volatile", "reported"}
    for key, source in raw["sources"].items():
        assert isinstance(source["read"], dt.date), key
    for key, fact in raw["facts"].items():
        assert fact["class"] in classes and isinstance(fact["checked"], dt.date), key
    assert "status_as_of" not in raw["facts"]
    assert not any("截至" in s.body for s in sections("zh")), "check dates are computed, not typed"


@pytest.mark.parametrize("lang", LANGS)
def test_every_body_cell_of_a_table_names_its_column(built, lang):
    """A phone stacks a table's rows and prints each cell's column heading (data-label) before it:
    every body cell of a content table carries the heading of its own column."""
    main = built[lang][built[lang].index("<main"):]
    tables = re.findall(r"<table>(.*?)</table>", main, re.S)  # the charts' tables have a class
    assert len(tables) >= 5, len(tables)
    strip = lambda cell: html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
    for table in tables:
        head, body = table.split("</thead>")
        heads = [strip(c) for c in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            labels = [html.unescape(m) for m in re.findall(r'<td[^>]*?data-label="([^"]*)"', row)]
            assert labels == heads[:len(re.findall(r"<td", row))], (heads, row[:200])


# --------------------------------------------------------------------------- the second native reading
# docs/corrections.md, "The third reading": each finding that can be asserted.

def _main_text(page: str) -> str:
    pf = _page_figures()
    main = pf.main_of(page)
    for el in list(main.iter()):
        if isinstance(el.tag, str) and el.tag in pf.SKIP_TAGS and el.getparent() is not None:
            el.drop_tree()
    return main.text_content()


# a footnote marker is "[n]" in a <sup>; the words that follow a number as its unit
_UNIT_AFTER_MARKER = {
    "zh": re.compile(r"^\s*(参数|步|层|个|轴|通道|亿|万|倍)"),
    "en": re.compile(r"^(-|\s*(parameters?|steps?|layers|axes|heads|channels)\b)"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_no_footnote_marker_stands_between_a_number_and_its_unit(built, lang):
    """"60 亿[1] 参数", "8[1] 步", "6B[1]-parameter": the marker goes after the unit (the fact's
    `unit:`) or the sentence is turned so that nothing follows the number."""
    main = _page_figures().main_of(built[lang])
    bad = []
    for sup in main.iter("sup"):
        tail = sup.tail or ""
        if _UNIT_AFTER_MARKER[lang].search(tail):
            bad.append(((sup.getprevious().text_content() if sup.getprevious() is not None else "") + sup.text_content() + tail)[:40])
    assert not bad, bad


@pytest.mark.parametrize("lang", LANGS)
def test_a_source_is_marked_once_per_paragraph(built, lang):
    """One marker per claim: facts of one source in a paragraph, list item or table cell share the
    first one's marker (five markers in one sentence about one leaderboard read like a paper)."""
    main = _page_figures().main_of(built[lang])
    for el in main.iter("p", "li", "td", "th"):
        if el.find(".//p") is not None or el.find(".//li") is not None:
            continue  # a container: its paragraphs are checked themselves
        marks = [a.get("href") for sup in el.iter("sup") for a in sup.iter("a")]
        assert len(marks) == len(set(marks)), (lang, marks, el.text_content()[:80])
    markers = sum(1 for _ in main.iter("sup"))
    assert markers <= 80, f"{lang}: {markers} footnote markers"


def test_the_marker_rule_keeps_each_source_listed(built):
    """A fact printed without its own marker still has its source in the list at the end."""
    data = load_facts()
    for lang in LANGS:
        for key in {k for s in sections(lang) for k in fact_keys(s)}:
            assert f'id="src-{data["facts"][key]["source"]}"' in built[lang] or \
                data["sources"][data["facts"][key]["source"]]["url"] in built[lang], key


@pytest.mark.parametrize("lang,pattern", [
    ("zh", r"堆参数|参数不大"),
    ("en", r"without the bulk|by getting big|piling them on|lean model|No giant|Not the biggest"),
])
def test_the_slogan_is_said_once(built, lang, pattern):
    text = _main_text(built[lang])
    assert len(re.findall(pattern, text)) == 1, re.findall(pattern, text)


@pytest.mark.parametrize("lang,line", [
    ("zh", "**ComfyUI 里 CFG 保持 {fact}`comfy_cfg`，不要改成 `0`。**"),
    ("en", "**In ComfyUI, keep CFG at {fact}`comfy_cfg`; don't set it to `0`.**"),
])
def test_the_comfyui_cfg_line_says_keep_1_first(lang, line):
    """Read quickly, "把 ComfyUI 的 CFG 也改成 0" sounded like the instruction: the line says what to keep."""
    assert line in _section(lang, "quick-start").body


@pytest.mark.parametrize("lang,route", [("zh", "路线"), ("en", "Route")])
def test_the_start_table_and_the_second_button_lead_where_they_say(lang, route):
    intro = _section(lang, "intro")
    header = next(tok.content for tok in intro.tokens if tok.type == "inline" and "|" not in tok.content
                  and tok.map and intro.source.source.splitlines()[tok.map[0]].startswith("|"))
    assert header.startswith(route), header  # its rows are routes, each with the memory it needs
    buttons = yaml.safe_load(intro.blocks[0].body)
    assert buttons[1]["href"] == "#quick-start" and re.search(r"显存|GPU memory", buttons[1]["label"]), buttons[1]


@pytest.mark.parametrize("lang,limit", [("zh", 200), ("en", 120)])
def test_the_summary_after_the_call_to_action_is_short_and_repeats_no_number(lang, limit):
    summary = _section(lang, "summary")
    size = cjk_count(summary.prose()) if lang == "zh" else len(summary.prose().split())
    assert size <= limit, size
    assert not fact_keys(summary), "each number is said once, where it matters"
    assert [b.name for b in summary.blocks] == [], "three lines, no blocks"


# --------------------------------------------------------------------------- the fourth reading

_GUIDANCE_PARAM = re.compile(r'<span class="zimg__param"><span class="zimg__key">([^<]*)</span>\s*([^<]*)(.*?)</span>\s*(?=<span class="zimg__param"|</span>)', re.S)


@pytest.mark.parametrize("lang,key,comfy", [("zh", "引导系数", "（ComfyUI 填 CFG 1）"), ("en", "Guidance", "(CFG 1 in ComfyUI)")])
def test_guidance_0_is_never_printed_without_its_comfyui_equivalent(built, lang, key, comfy):
    """CFG 0 in ComfyUI is not diffusers' guidance_scale=0.0 (ComfyUI's "no guidance" is CFG 1): every
    image card that prints a guidance of 0 says so at once, and a non-zero guidance carries no such note."""
    html = built[lang]
    zero = other = 0
    for label, value, rest in _GUIDANCE_PARAM.findall(html):
        if label != key:
            continue
        if float(value) == 0:
            zero += 1
            assert comfy in rest, (lang, value, rest[:120])
        else:
            other += 1
            assert "ComfyUI" not in rest, (lang, value, rest[:120])
    assert zero >= 10, zero  # the example cards (the comparison's 3.5 is shown once it is generated)
    # and the prose: every line of the page's Markdown (code included) that prints guidance 0 names CFG 1
    for s in sections(lang):
        for line in s.body.splitlines():
            if re.search(r"guidance_scale\s*[=:]?\s*0\.0", line):
                assert re.search(r"comfy_cfg|CFG 1|ComfyUI's CFG|ComfyUI 里 CFG", line), (s.path.name, line)
    for item in load_images_manifest()["images"]:
        if float(item.get("guidance", 0.0)) == 0 and "label" in item and "0.0" in item["label"][lang]:
            assert "CFG 1" in item["label"][lang], item["id"]


def load_images_manifest() -> dict:
    return yaml.safe_load((CONTENT / "images.yaml").read_text(encoding="utf-8"))


def test_the_chinese_page_recommends_comfyui_to_no_one_and_says_once_where_its_files_come_from():
    """ComfyUI's files are verified on Hugging Face only: the Chinese page does not call it 推荐, and its
    start table says once that the files come from Hugging Face, with the diffusers route for those who
    cannot open it."""
    body = "\n".join(s.body for s in sections("zh"))
    assert not re.search(r"ComfyUI（推荐|推荐；", body)
    start = next(row for row in _table_rows(_section("zh", "intro")) if "ComfyUI" in row[0])
    assert "@comfy_files" in start[1] and "Hugging Face" in start[1] and "diffusers" in start[1], start
    assert body.count("打不开 Hugging Face") == 1


@pytest.mark.parametrize("lang", LANGS)
def test_the_comfyui_version_rule_lives_in_route_one(lang):
    """One rule for the ComfyUI version, with its version numbers, in one place (route one, step 1)."""
    holders = [s.path.name for s in sections(lang) if "comfy_ok_version" in s.body]
    assert holders == ["05-quick-start.md"], holders
    body = _section(lang, "quick-start").body
    assert body.count("{fact}`comfy_hang_version`") == 1 and "issues/15255" in body


@pytest.mark.parametrize("lang", LANGS)
def test_the_sub_second_figure_is_printed_as_the_readme_says_it(lang):
    """The README: sub-second inference latency on enterprise-grade H800 GPUs, with no conditions."""
    assert load_facts()["facts"]["h800_latency"]["source"] == "readme"
    lines = [line for s in sections(lang) for line in s.body.splitlines() if "h800_latency" in line]
    assert len(lines) == 1 and "H800" in lines[0], lines
    for condition in ("FlashAttention", "预热", "warm", "编译", "compil", "测试设置", "set up"):
        assert condition not in lines[0], condition


@pytest.mark.parametrize("lang,words", [("zh", ("发布时",)), ("en", ("at launch",))])
def test_the_2025_rank_is_said_at_launch(lang, words):
    intro = _section(lang, "intro")
    stats = next(b for b in intro.blocks if b.name == "stats")
    rank = next(item for item in yaml.safe_load(stats.body) if item["fact"] == "arena_rank")
    assert any(w in rank["label"] for w in words), rank
    assert any(w in line for line in intro.body.splitlines() if line.startswith("###") for w in words)


@pytest.mark.parametrize("lang", LANGS)
def test_each_pitfall_has_one_home(lang):
    """Black images, seeds, rare characters, Edit's status and the speed tips are explained once and
    referred to elsewhere: their issue links and figures appear in one section each."""
    def holders(needle):
        return [s.path.name for s in sections(lang) if needle in s.body]
    # the explanation lives in one section; the limitations table cites the issues and links to it
    assert holders("{fact}`dit_fp32_est`") == ["07-faq.md"]
    assert holders("换个镜头" if lang == "zh" else "a different angle") == ["07-faq.md"]
    assert holders("issues/85)") == ["06-reviews.md", "07-faq.md"]
    assert holders("形近字" if lang == "zh" else "look-alike") == ["06-reviews.md"]
    assert holders("set_attention_backend") == ["07-faq.md"]
    assert len(holders("{checked}`edit_status`")) == 1
    watch = [s for s in sections(lang) if "Watch" in s.body or re.search(r"\bwatch the\b", s.body)]
    assert len(watch) == 1, [s.path.name for s in watch]
