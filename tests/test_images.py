"""The image manifest, the store, placeholders, responsive variants and the block markup.

Runs without torch or diffusers. Stored images here are Pillow drawings written into temporary
store folders with `"test_fixture": true` provenance; the catalog accepts them only when a test
asks it to (`allow_test_images=True`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jinja2
import pytest
import yaml
from lxml import html as lxml_html
from PIL import Image, ImageDraw

from zimage_site import markup
from zimage_site.errors import Report, SiteError
from zimage_site.images import ImageCatalog
from zimage_site.images.catalog import SIZES
from zimage_site.images.manifest import load_manifest, store_key
from zimage_site.images.store import Store

REPO = Path(__file__).resolve().parent.parent

SHOWCASE = {
    "hero-cover": "intro",
    "showcase-teahouse-sign": "technology",
    "showcase-coffee-sign": "technology",
    "showcase-xiaoqiao": "technology",
    "showcase-pet-portrait": "use-cases",
    "showcase-product-white": "use-cases",
    "showcase-product-scene": "use-cases",
    "showcase-guochao-poster": "use-cases",
    "showcase-poem-scene": "use-cases",
    "showcase-3d-popout": "use-cases",
    "showcase-miniature": "use-cases",
    "showcase-asian-portrait": "use-cases",
    "showcase-kids-story": "use-cases",
    "showcase-science-diagram": "use-cases",
}
SETS = {"steps": "quick-start", "guidance": "quick-start", "resolution": "quick-start",
        "prompt-detail": "quick-start", "seeds": "reviews"}

SMALL_MANIFEST = """\
sets:
  pair:
    section: quick-start
    varies: steps
    title: {zh: 步数, en: Steps}
images:
  - id: big
    section: intro
    prompt: 国风茶馆木质招牌，清晰写着「茗香」二字
    caption: {zh: 茶馆招牌, en: A teahouse sign}
    alt: {zh: 写着茗香的招牌, en: A sign reading 茗香}
    seed: 42
    width: 1344
    height: 768
  - id: small
    section: use-cases
    prompt: A corgi wearing a red scarf
    caption: {zh: 柯基, en: A corgi}
    alt: {zh: 系红围巾的柯基, en: A corgi in a red scarf}
    seed: 7
    width: 640
    height: 640
  - id: pair-4
    set: pair
    label: {zh: 4 步, en: 4 steps}
    prompt: 一碗面
    caption: {zh: 面, en: Noodles}
    alt: {zh: 一碗面, en: A bowl of noodles}
    seed: 1
    width: 512
    height: 512
    steps: 4
  - id: pair-8
    set: pair
    label: {zh: 8 步, en: 8 steps}
    prompt: 一碗面
    caption: {zh: 面, en: Noodles}
    alt: {zh: 一碗面, en: A bowl of noodles}
    seed: 1
    width: 512
    height: 512
"""


AIGC_BLOCK = "aigc:\n  producer: 示例工作室 <Example & Co>\n  propagator: example.github.io\n"


def make_site(tmp_path: Path, manifest: str = SMALL_MANIFEST) -> Path:
    """A folder with an image manifest and the `aigc:` block of site.yaml (all the catalog reads)."""
    (tmp_path / "content").mkdir(parents=True, exist_ok=True)
    (tmp_path / "content" / "images.yaml").write_text(manifest, encoding="utf-8")
    (tmp_path / "site.yaml").write_text(AIGC_BLOCK, encoding="utf-8")
    return tmp_path


def drawing(width: int, height: int, seed: int) -> Image.Image:
    im = Image.new("RGB", (width, height), (20 + seed % 200, 90, 160))
    d = ImageDraw.Draw(im)
    for i in range(0, width, 32):
        d.line([(i, 0), (width - i, height)], fill=(255, (i * 7) % 255, 80), width=5)
    return im


def store_test_image(root: Path, image_id: str) -> Path:
    """Store a Pillow drawing as if generated (marked as a test image in its provenance)."""
    manifest = load_manifest(root)
    spec = manifest.images[image_id]
    key = store_key(spec.pixels(), "test-drawing", "0", "fp32")
    entry = Store(root).write(image_id, key, drawing(spec.width, spec.height, spec.seed), {
        **{k: v for k, v in spec.pixels().items() if k != "guidance"},
        "guidance_scale": spec.guidance, "spec": spec.spec_hash, "model": "test-drawing",
        "model_revision": "0", "dtype": "fp32", "created": "2026-01-01T00:00:00+00:00",
        "test_fixture": True,
    })
    return entry.png


@pytest.fixture
def env():
    strings = {}
    for path in (REPO / "templates" / "i18n").glob("*.yaml"):
        strings.update(yaml.safe_load(path.read_text(encoding="utf-8")))
    jenv = jinja2.Environment(loader=jinja2.FileSystemLoader(REPO / "templates"), autoescape=True)
    jenv.globals["markup"] = markup  # as render.make_environment does

    def render(name: str, lang: str, **kw) -> str:
        return jenv.get_template(f"blocks/{name}.html").render(lang=lang, t=lambda k: strings[k][lang], **kw)

    return render


# --------------------------------------------------------------------------- the manifest

def test_the_committed_manifest_is_valid_and_complete():
    manifest = load_manifest(REPO)
    for image_id, section in SHOWCASE.items():
        assert manifest.images[image_id].section == section
    for set_id, section in SETS.items():
        s = manifest.sets[set_id]
        assert s.section == section
        assert all(i.startswith(f"compare-{set_id}-") for i in s.image_ids)
        assert all(manifest.images[i].section == section for i in s.image_ids)
    assert [manifest.images[i].steps for i in manifest.sets["steps"].image_ids] == [4, 8, 16]
    assert [manifest.images[i].guidance for i in manifest.sets["guidance"].image_ids] == [0.0, 3.5]
    assert [manifest.images[i].width for i in manifest.sets["resolution"].image_ids] == [512, 1024]
    assert len({manifest.images[i].seed for i in manifest.sets["seeds"].image_ids}) == 4
    assert len(manifest.images) >= 24
    for spec in manifest.images.values():
        assert spec.width % 16 == 0 and spec.height % 16 == 0
        assert spec.caption["zh"] and spec.caption["en"] and spec.alt["zh"] and spec.alt["en"]


def test_manifest_problems_are_reported_together_with_file_line_and_key(tmp_path):
    make_site(tmp_path, textwrap.dedent("""\
        sets:
          pair:
            section: quick-start
            varies: colour
            title: {zh: 对比, en: Pair}
        images:
          - id: one
            section: intro
            prompt: 一只猫
            caption: {zh: 猫, en: Cat}
            alt: {zh: 猫, en: A cat}
            seed: 1
            width: 1000
            height: 1024
            stpes: 8
          - id: one
            section: intro
            prompt: 一只狗
            caption: {zh: 狗, en: Dog}
            alt: {zh: 狗, en: A dog}
            seed: 2
            width: 1024
            height: 1024
          - id: two
            set: pears
            label: {zh: 甲, en: A}
            prompt: 一只鸟
            caption: {zh: 鸟}
            alt: {zh: 鸟, en: A bird}
            seed: "three"
            width: 1024
            height: 1024
        """))
    with pytest.raises(SiteError) as info:
        ImageCatalog.load(tmp_path, Report())
    text = str(info.value)
    expected = [
        "error: content/images.yaml, line 4, key \"sets.pair.varies\": 'colour' is not one of: "
        "steps, guidance, resolution, prompt, seed",
        'error: content/images.yaml, line 13, key "images[0].width": 1000 is not a multiple of 16 '
        "(Z-Image works on 16-pixel blocks)",
        'error: content/images.yaml, line 15, key "images[0].stpes": unknown key',
        'error: content/images.yaml, line 28, key "images[2].caption.en": missing value',
        'error: content/images.yaml, line 30, key "images[2].seed": expected a whole number, got a string',
        'error: content/images.yaml, line 16, key "images[1].id": duplicate id "one" (first used on line 7)',
        'error: content/images.yaml, line 25, key "images[2].set": unknown set "pears"',
        'error: content/images.yaml, line 2, key "sets.pair": the set has 0 image(s); a comparison needs at least 2',
    ]
    for line in expected:
        assert line in text, f"missing: {line}\n---\n{text}"
    problems = info.value.problems
    assert len(problems) == len(expected)
    unknown = next(p for p in problems if p.key == "images[0].stpes")
    assert unknown.file == "content/images.yaml" and unknown.line == 15
    assert unknown.fix.startswith("remove it or correct the spelling; known keys here: id, prompt")


def test_a_set_must_vary_only_its_parameter(tmp_path):
    bad = SMALL_MANIFEST.rsplit("seed: 1", 1)
    bad = bad[0] + "seed: 2" + bad[1]
    make_site(tmp_path, bad)
    with pytest.raises(SiteError) as info:
        load_manifest(tmp_path)
    assert str(info.value) == (
        'error: content/images.yaml, line 39, key "images[3].seed": differs from the first image of set '
        '"pair" (which varies only steps)\n'
        "  fix: use the same seed as images[2], or change what the set varies")


def test_no_manifest_gives_an_empty_catalog(tmp_path):
    catalog = ImageCatalog.load(tmp_path, Report())
    assert catalog.image_ids == [] and catalog.set_ids == []
    report = Report()
    catalog.publish(tmp_path / "out", "/", report)
    assert catalog.counts == {"images": 0, "placeholders": 0}
    assert len(report) == 0


def test_the_site_imports_without_torch_or_diffusers():
    code = ("import sys; import zimage_site.images, zimage_site.images.cli; "
            "from zimage_site.images import ImageCatalog; "
            "bad = [m for m in ('torch', 'diffusers', 'transformers', 'accelerate') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- placeholders

def test_missing_images_become_honest_placeholders(tmp_path, env):
    root = make_site(tmp_path)
    catalog = ImageCatalog.load(root, Report())
    report = Report()
    catalog.publish(root / "out", "/", report)
    assert catalog.counts == {"images": 0, "placeholders": 4}
    assert len(report) == 1
    warning = report.warnings[0].format("warning")
    assert warning.startswith("warning: 4 images have not been generated yet; the page shows placeholders")
    assert "big, small, pair-4, pair-8" in warning
    assert "pip install '.[generate]' && zimage-site generate" in warning
    assert report.warnings[0].kind == "placeholder"

    doc = lxml_html.fromstring(env("figure", "zh", view=catalog.view("big", "zh")))
    assert doc.tag == "figure"
    assert doc.get("class").split() == ["zimg", "zimg--figure", "zimg--pending", "zimg--card"]
    assert doc.get("data-image") == "big" and doc.get("data-pending") is not None
    # a compact prompt card: no empty frame, a "not generated yet" mark, the prompt and parameters
    assert doc.find_class("zimg__frame") == [] and doc.find(".//*[@role='img']") is None
    assert doc.find_class("zimg__badge")[0].text == "待生成"
    assert doc.find(".//q").text == "国风茶馆木质招牌，清晰写着「茗香」二字"
    assert "1344×768" in doc.find_class("zimg__params")[0].text_content()
    assert doc.findall(".//img") == [] and doc.findall(".//picture") == []
    button = doc.find(".//button")
    assert button.get("type") == "button" and button.get("class") == "copy"
    assert button.get("data-copy") == "国风茶馆木质招牌，清晰写着「茗香」二字"
    en = lxml_html.fromstring(env("figure", "en", view=catalog.view("big", "en")))
    assert en.find_class("zimg__badge")[0].text == "pending generation"


def test_the_chinese_blocks_hold_no_english_ui_text(tmp_path, env):
    root = make_site(tmp_path)
    catalog = ImageCatalog.load(root, Report())
    catalog.publish(root / "out", "/", Report())
    page = env("gallery", "zh", views=catalog.gallery(["big"], "zh")) + env(
        "compare", "zh", set=catalog.comparison("pair", "zh"))
    doc = lxml_html.fromstring(f"<div>{page}</div>")
    for el in doc.iter():
        if el.get("lang") == "en":
            continue
        for text in (el.text, el.get("aria-label")):
            if text and text.strip():
                assert not any(w in text for w in ("pending", "Prompt", "Seed", "Steps", "Copy", "Varied")), text


def test_strict_mode_refuses_placeholders_and_lists_the_ids(tmp_path):
    root = make_site(tmp_path)
    store_test_image(root, "small")
    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    with pytest.raises(SiteError) as info:
        catalog.publish(root / "out", "/", Report(), allow_placeholders=False)
    assert str(info.value) == (
        "error: content/images.yaml: 3 image(s) have not been generated yet, and placeholders are not allowed\n"
        "    big, pair-4, pair-8\n"
        "  fix: generate them on a machine with an NVIDIA GPU:  "
        "pip install '.[generate]' && zimage-site generate\n"
        "  (or build with --allow-placeholders to keep placeholders under --strict)")


def test_test_pipeline_images_are_never_shown_as_model_output(tmp_path):
    root = make_site(tmp_path)
    store_test_image(root, "small")
    catalog = ImageCatalog.load(root, Report())  # the build's default
    report = Report()
    catalog.publish(root / "out", "/", report)
    assert catalog.counts == {"images": 0, "placeholders": 4}
    assert "made by a test pipeline, not by Z-Image; ignored" in report.warnings[0].format()


def test_a_corrupt_store_file_is_a_placeholder_and_a_warning(tmp_path):
    root = make_site(tmp_path)
    png = store_test_image(root, "small")
    png.write_bytes(png.read_bytes()[:-100])
    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    report = Report()
    catalog.publish(root / "out", "/", report)
    assert catalog.counts["images"] == 0
    text = "\n".join(w.format() for w in report.warnings)
    assert "the image does not match the SHA-256 in its provenance" in text


# --------------------------------------------------------------------------- variants and markup

def test_stored_images_become_pictures_with_avif_and_webp(tmp_path, env):
    root = make_site(tmp_path)
    for image_id in ("big", "small", "pair-4", "pair-8"):
        store_test_image(root, image_id)
    out = root / "out"
    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    report = Report()
    catalog.publish(out, "/repo/", report)
    assert len(report) == 0
    assert catalog.counts == {"images": 4, "placeholders": 0}

    hero = lxml_html.fromstring(env("figure", "en", view=catalog.view("big", "en", hero=True)))
    assert hero.get("data-image") == "big" and hero.get("data-pending") is None
    picture = hero.find(".//picture")
    sources = list(picture.iter("source"))
    assert [s.get("type") for s in sources] == ["image/avif", "image/webp"]
    for source in sources:
        entries = [part.strip().split(" ") for part in source.get("srcset").split(",")]
        widths = [int(w[:-1]) for _, w in entries]
        assert widths == [480, 768, 1024, 1344]  # never wider than the 1344-px original
        for url, _ in entries:
            assert url.startswith("/repo/img/big.")
            assert (out / url[len("/repo/"):]).is_file()
        assert source.get("sizes") == SIZES["hero"]
    img = picture.find(".//img")
    assert img.get("alt") == "A sign reading 茗香"
    assert (img.get("width"), img.get("height")) == ("1344", "768")
    assert img.get("loading") == "eager" and img.get("fetchpriority") == "high"
    assert img.get("src").startswith("/repo/img/big.") and img.get("src").endswith(".1024.jpg")
    style = picture.get("style")
    assert "aspect-ratio: 1344 / 768" in style and "url(data:image/webp;base64," in style
    with Image.open(out / img.get("src")[len("/repo/"):]) as im:
        assert im.format == "JPEG" and im.size == (1024, 585)
    with Image.open(out / sources[0].get("srcset").split(" ")[0][len("/repo/"):]) as im:
        assert im.format == "AVIF" and im.size == (480, 274)

    lazy = lxml_html.fromstring(env("gallery", "zh", views=catalog.gallery(["small"], "zh")))
    img = lazy.find(".//img")
    assert img.get("alt") == "系红围巾的柯基"
    assert img.get("loading") == "lazy" and img.get("decoding") == "async" and img.get("fetchpriority") is None
    assert [int(p.split(" ")[1][:-1]) for p in lazy.find(".//source").get("srcset").split(", ")] == [480, 640]

    comp = lxml_html.fromstring(env("compare", "en", set=catalog.comparison("pair", "en")))
    figures = comp.findall(".//figure")
    assert [f.get("data-image") for f in figures] == ["pair-4", "pair-8"]
    assert [f.find_class("zimg__label")[0].text for f in figures] == ["4 steps", "8 steps"]
    assert comp.find_class("zcompare__varies")[0].text == "Varied: sampling steps"
    assert comp.find(".//button[@class='copy']").get("data-copy") == "一碗面"
    assert all(img.get("alt") == "A bowl of noodles" for img in comp.findall(".//img"))


def test_unchanged_images_are_never_encoded_again(tmp_path):
    root = make_site(tmp_path)
    for image_id in ("big", "small"):
        store_test_image(root, image_id)
    first = ImageCatalog.load(root, Report(), allow_test_images=True)
    first.publish(root / "out1", "/", Report())
    assert first.cache.encoded == (4 * 2 + 1) + (2 * 2 + 1)  # avif+webp per width, one jpeg each
    second = ImageCatalog.load(root, Report(), allow_test_images=True)
    second.publish(root / "out2", "/", Report())
    assert second.cache.encoded == 0 and second.cache.reused == 2
    assert sorted(p.name for p in (root / "out1" / "img").iterdir()) == \
        sorted(p.name for p in (root / "out2" / "img").iterdir())
    assert (root / ".cache" / "variants").is_dir()


def test_view_escapes_user_text(tmp_path, env):
    manifest = SMALL_MANIFEST.replace("A corgi in a red scarf", '"<script>alert(1)</script>"').replace(
        "A corgi wearing a red scarf", '"<script>alert(2)</script>"')
    root = make_site(tmp_path, manifest)
    catalog = ImageCatalog.load(root, Report())
    catalog.publish(root / "out", "/", Report())
    out = env("figure", "en", view=catalog.view("small", "en"))
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_provenance_roundtrip_and_store_layout(tmp_path):
    root = make_site(tmp_path)
    png = store_test_image(root, "small")
    sidecar = png.with_suffix(".json")
    prov = json.loads(sidecar.read_text(encoding="utf-8"))
    assert png.name == f"small.{prov['key'][:16]}.png"
    assert prov["id"] == "small" and prov["file"] == png.name
    status = Store(root).check("small", prov["key"])
    assert status.state == "ok"
    sidecar.unlink()
    assert Store(root).check("small", prov["key"]).detail == "the image has no provenance file (an interrupted run)"


def test_a_build_lists_the_store_once_and_trusts_the_sha256(tmp_path, monkeypatch):
    import os

    from zimage_site.images import store as store_module

    root = make_site(tmp_path)
    for image_id in ("big", "small", "pair-4", "pair-8"):
        store_test_image(root, image_id)
    store_dir = os.fspath(root / "images")
    listings, decoded = [], []
    for name in ("scandir", "listdir"):
        original = getattr(os, name)

        def counting(path=".", _original=original):
            if not isinstance(path, int) and os.fspath(path) == store_dir:
                listings.append(path)
            return _original(path)

        monkeypatch.setattr(os, name, counting)
    real_verify = store_module.verify_png
    monkeypatch.setattr(store_module, "verify_png", lambda path: decoded.append(path) or real_verify(path))

    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    catalog.publish(root / "out", "/", Report())
    assert catalog.counts == {"images": 4, "placeholders": 0}
    assert len(listings) == 1  # once per build, not once per image
    assert decoded == []  # a SHA-256 match with the provenance is enough for the build

    # `generate` decodes what it keeps: a file replaced together with its provenance is damaged
    png = Store(root).entries_for("small")[0][0]
    sidecar = png.with_suffix(".json")
    broken = png.read_bytes()[:-100]
    png.write_bytes(broken)
    prov = json.loads(sidecar.read_text(encoding="utf-8"))
    prov["sha256"] = hashlib.sha256(broken).hexdigest()
    sidecar.write_text(json.dumps(prov), encoding="utf-8")
    status = Store(root).check("small", prov["key"])
    assert status.state == "corrupt" and status.detail.startswith("the image file is damaged")
    entry, notes = Store(root).find("small", prov["spec"], allow_test_images=True)
    assert entry is None and "the image file is damaged" in notes[0]


def test_the_store_listing_follows_its_own_writes(tmp_path):
    root = make_site(tmp_path)
    store = Store(root)
    assert store.entries_for("small") == []  # lists the (missing) folder
    png = store_test_image(root, "small")  # written through another Store object
    assert store.entries_for("small") == []
    store.refresh()
    assert store.entries_for("small") == [(png, png.with_suffix(".json"))]
    spec = load_manifest(root).images["small"]
    entry = store.write("small", "f" * 16, drawing(64, 64, 1), {
        **{k: v for k, v in spec.pixels().items() if k != "guidance"}, "guidance_scale": spec.guidance,
        "spec": spec.spec_hash, "model": "test-drawing", "created": "2026-01-02T00:00:00+00:00"})
    assert [p for p, _ in store.entries_for("small")] == sorted([png, entry.png])
    assert store.remove_others("small", entry.key) == [png, png.with_suffix(".json")]
    assert store.entries_for("small") == [(entry.png, entry.sidecar)]
