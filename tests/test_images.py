"""The image manifest, the store, placeholders, responsive variants and the block markup.

Runs without torch or diffusers. Stored images here are Pillow drawings written into temporary
store folders with `"test_fixture": true` provenance; the catalog accepts them only when a test
asks it to (`allow_test_images=True`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jinja2
import pytest
import yaml
from lxml import html as lxml_html
from PIL import Image

from zimage_site import markup
from zimage_site.errors import Report, SiteError
from zimage_site.images import ImageCatalog
from zimage_site.images.catalog import image_sizes
from zimage_site.layout import load_layout
from zimage_site.images.manifest import load_manifest, store_key
from zimage_site.images.store import Store

from helpers import SMALL_MANIFEST, drawing, publish, store_test_image
from helpers import image_site as make_site

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
    publish(catalog, tmp_path / "out", "/", report)
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
    images = publish(catalog, root / "out", "/", report)
    assert catalog.counts == {"images": 0, "placeholders": 4}
    assert len(report) == 1
    warning = report.warnings[0].format("warning")
    assert warning.startswith("warning: 4 images have not been generated yet; the page shows placeholders")
    assert "big, small, pair-4, pair-8" in warning
    assert "pip install '.[generate]' && zimage-site generate" in warning
    assert report.warnings[0].kind == "placeholder"

    doc = lxml_html.fromstring(env("figure", "zh", view=images.view("big", "zh")))
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
    en = lxml_html.fromstring(env("figure", "en", view=images.view("big", "en")))
    assert en.find_class("zimg__badge")[0].text == "pending generation"


def test_the_chinese_blocks_hold_no_english_ui_text(tmp_path, env):
    root = make_site(tmp_path)
    catalog = ImageCatalog.load(root, Report())
    images = publish(catalog, root / "out", "/", Report())
    page = env("gallery", "zh", views=images.gallery(["big"], "zh")) + env(
        "compare", "zh", set=images.comparison("pair", "zh"))
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
        publish(catalog, root / "out", "/", Report(), allow_placeholders=False)
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
    publish(catalog, root / "out", "/", report)
    assert catalog.counts == {"images": 0, "placeholders": 4}
    assert "made by a test pipeline, not by Z-Image; ignored" in report.warnings[0].format()


def test_a_corrupt_store_file_is_a_placeholder_and_a_warning(tmp_path):
    root = make_site(tmp_path)
    png = store_test_image(root, "small")
    png.write_bytes(png.read_bytes()[:-100])
    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    report = Report()
    publish(catalog, root / "out", "/", report)
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
    images = publish(catalog, out, "/repo/", report)
    assert len(report) == 0
    assert catalog.counts == {"images": 4, "placeholders": 0}

    layout = load_layout(REPO)  # the site's breakpoints and widths: the hero's `sizes` is made from them
    hero = lxml_html.fromstring(env("figure", "en", view=images.view("big", "en", hero=True, layout=layout)))
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
        assert source.get("sizes") == image_sizes(layout, "hero") and "(min-width: 72rem) 34rem" in image_sizes(layout, "hero")
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

    lazy = lxml_html.fromstring(env("gallery", "zh", views=images.gallery(["small"], "zh")))
    img = lazy.find(".//img")
    assert img.get("alt") == "系红围巾的柯基"
    assert img.get("loading") == "lazy" and img.get("decoding") == "async" and img.get("fetchpriority") is None
    assert [int(p.split(" ")[1][:-1]) for p in lazy.find(".//source").get("srcset").split(", ")] == [480, 640]

    comp = lxml_html.fromstring(env("compare", "en", set=images.comparison("pair", "en")))
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
    publish(first, root / "out1", "/", Report())
    assert first.cache.encoded == (4 * 2 + 1) + (2 * 2 + 1)  # avif+webp per width, one jpeg each
    second = ImageCatalog.load(root, Report(), allow_test_images=True)
    publish(second, root / "out2", "/", Report())
    assert second.cache.encoded == 0 and second.cache.reused == 2
    assert sorted(p.name for p in (root / "out1" / "img").iterdir()) == \
        sorted(p.name for p in (root / "out2" / "img").iterdir())
    assert (root / ".cache" / "variants").is_dir()


def test_view_escapes_user_text(tmp_path, env):
    manifest = SMALL_MANIFEST.replace("A corgi in a red scarf", '"<script>alert(1)</script>"').replace(
        "A corgi wearing a red scarf", '"<script>alert(2)</script>"')
    root = make_site(tmp_path, manifest)
    catalog = ImageCatalog.load(root, Report())
    images = publish(catalog, root / "out", "/", Report())
    out = env("figure", "en", view=images.view("small", "en"))
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
    publish(catalog, root / "out", "/", Report())
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


# --------------------------------------------------------------------------- AI-content labels

PRODUCER = "zimage-site.github.io"  # site.yaml's aigc block


@pytest.fixture(scope="module")
def full_build(tmp_path_factory):
    """The real site built with a test image for every manifest entry (tests/fixture_store.py)."""
    from fixture_store import build_with_fixture_store

    tmp = tmp_path_factory.mktemp("labels")
    result = build_with_fixture_store(REPO, tmp / "out", tmp / "work")
    assert result.placeholders == 0 and result.images == len(load_manifest(REPO).images)
    return tmp / "out", tmp / "work" / "site"


def test_every_published_variant_carries_its_labels(full_build):
    from xmp_reader import xmp_fields, xmp_packet

    out, site = full_build
    aigc = yaml.safe_load((REPO / "site.yaml").read_text(encoding="utf-8"))["aigc"]
    manifest = load_manifest(REPO)
    store = Store(site)
    provenance = {}
    for image_id in manifest.images:
        (png, sidecar), = store.entries_for(image_id)
        provenance[image_id] = json.loads(sidecar.read_text(encoding="utf-8"))
    files = sorted((out / "img").iterdir())
    formats: dict[str, int] = {}
    sizes = []
    for path in files:
        image_id, digest, width, ext = path.name.rsplit(".", 3)
        prov = provenance[image_id]
        assert digest == prov["sha256"][:10]
        data = path.read_bytes()
        packet = xmp_packet(data)  # found where the format's specification puts it
        assert packet is not None, f"{path.name}: no XMP"
        sizes.append(len(packet))
        fields = xmp_fields(packet)
        assert fields["AIGC"] == {
            "Label": "1", "ContentProducer": aigc["producer"], "ProduceID": prov["key"], "ReservedCode1": "",
            "ContentPropagator": aigc["propagator"], "PropagateID": f"img/{path.name}", "ReservedCode2": "",
        }, path.name
        assert fields["DigitalSourceType"] == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
        assert fields["AISystemUsed"] == prov["model"] == "test-fixture"
        assert fields["AISystemVersionUsed"] == prov["model_revision"]
        assert fields["AIPromptInformation"] == prov["prompt"] == manifest.images[image_id].prompt
        assert fields["description"] == (f"AI-generated: seed {prov['seed']}, {prov['steps']} steps, "
                                          f"guidance {prov['guidance_scale']:g}")
        with Image.open(path) as im:  # still a whole image of its width
            im.load()
            assert im.width == int(width)
        formats[ext] = formats.get(ext, 0) + 1
    assert formats["avif"] == formats["webp"] > formats["jpg"] == len(manifest.images)
    assert max(sizes) < 1400, f"the XMP packet should stay small, the largest is {max(sizes)} bytes"
    # the drawn social image and the icon are not generated: no label
    for name in ("assets/img/og.png", "assets/favicon.svg"):
        data = (out / name).read_bytes()
        assert b"xmpmeta" not in data and b"AIGC" not in data and b"trainedAlgorithmicMedia" not in data
    assert xmp_packet((out / "assets/img/og.png").read_bytes()) is None


def test_every_generated_image_shows_its_label_once(full_build):
    out, _site = full_build
    for lang, page, text in (("zh", "index.html", "AI 生成"), ("en", "en/index.html", "AI-generated")):
        doc = lxml_html.fromstring((out / page).read_text(encoding="utf-8"))
        figures = doc.xpath(f"//figure[@{markup.IMAGE_ATTR}]")
        assert figures and not doc.xpath(f"//*[@{markup.PENDING_ATTR}]")
        for fig in figures:
            labels = fig.xpath(f".//*[@{markup.AI_LABEL_ATTR}]")
            assert [el.text_content() for el in labels] == [text], fig.get(markup.IMAGE_ATTR)
            assert text not in fig.xpath(".//img")[0].get("alt")  # read once: not in the alt text too
        assert len(doc.xpath(f"//*[@{markup.AI_LABEL_ATTR}]")) == len(figures)
        for tab in doc.xpath("//*[@role='tab']"):  # the comparison's tabs do not repeat it
            assert text not in tab.text_content()


def test_pending_cards_do_not_claim_a_label(tmp_path):
    from fixture_store import copy_site, make_fixture_store

    from zimage_site.images.catalog import test_images_allowed
    from zimage_site.site import build_site

    site = copy_site(REPO, tmp_path / "site")
    shutil.rmtree(site / "images")  # a store of its own (the copy holds every image)
    (site / "images").mkdir()
    ids = list(load_manifest(site).images)
    make_fixture_store(site, ids[::2])
    with test_images_allowed():
        build_site(site, tmp_path / "out")
    doc = lxml_html.fromstring((tmp_path / "out/index.html").read_text(encoding="utf-8"))
    pending = doc.xpath(f"//*[@{markup.PENDING_ATTR}]")
    generated = doc.xpath(f"//figure[@{markup.IMAGE_ATTR} and not(@{markup.PENDING_ATTR})]")
    assert pending and generated
    for el in pending:
        assert not el.xpath(f".//*[@{markup.AI_LABEL_ATTR}]") and "AI 生成" not in el.text_content()
    for el in generated:
        assert len(el.xpath(f".//*[@{markup.AI_LABEL_ATTR}]")) == 1


def test_check_fails_on_a_stripped_or_foreign_file(full_build, tmp_path, capsys):
    import shutil

    from zimage_site.check import run_checks

    out, _site = full_build
    assert [f.format() for f in run_checks(out, REPO, html_validator=False).errors] == []
    copy = Path(shutil.copytree(out, tmp_path / "out"))
    variants = sorted((copy / "img").iterdir())
    stripped = next(p for p in variants if p.suffix == ".webp")
    with Image.open(stripped) as im:  # re-encoded by a tool that drops metadata
        im.load()
        im.save(stripped.with_suffix(".tmp"), "WEBP")
    stripped.with_suffix(".tmp").replace(stripped)
    foreign = next(p for p in variants if p.suffix == ".avif")
    other = next(p for p in variants if p.suffix == ".avif" and p.name.split(".")[0] != foreign.name.split(".")[0])
    shutil.copyfile(other, foreign)  # labelled, but for another file
    errors = [f for f in run_checks(copy, REPO, html_validator=False).errors]
    assert sorted((f.rule, f.problem.file) for f in errors) == sorted([
        ("aigc", f"{rel(copy, REPO)}/img/{stripped.name}"), ("aigc", f"{rel(copy, REPO)}/img/{foreign.name}")])
    by_file = {f.problem.file.rsplit("/", 1)[1]: f.problem.message for f in errors}
    assert by_file[stripped.name].endswith("lacks its AI-content labels: no XMP metadata")
    assert "its label names another file" in by_file[foreign.name]

    # a figure without its visible label
    page = copy / "en/index.html"
    page.write_text(page.read_text(encoding="utf-8").replace(f" {markup.AI_LABEL_ATTR}>", ">", 1), encoding="utf-8")
    errors = run_checks(copy, REPO, html_validator=False).errors
    assert [f.rule for f in errors].count("ai-label") == 1


def rel(path: Path, root: Path) -> str:
    from zimage_site.errors import rel as _rel

    return _rel(path, root)


def test_published_generated_images_need_the_aigc_block(tmp_path, capsys):
    from fixture_store import copy_site, make_fixture_store

    from zimage_site.cli import main
    from zimage_site.errors import ConfigError
    from zimage_site.images.catalog import test_images_allowed
    from zimage_site.site import build_site

    site = copy_site(REPO, tmp_path / "site")
    config = site / "site.yaml"
    text = config.read_text(encoding="utf-8")
    without = text[:text.index("# The AI-content labels")]
    config.write_text(without, encoding="utf-8")
    shutil.rmtree(site / "images")
    (site / "images").mkdir()
    build_site(site, tmp_path / "out0")  # no generated image: nothing to label, no error
    make_fixture_store(site, [next(iter(load_manifest(site).images))])
    with test_images_allowed(), pytest.raises(ConfigError) as info:
        build_site(site, tmp_path / "out1")
    problem = info.value.problems[0]
    assert (problem.file, problem.key) == ("site.yaml", "aigc")
    assert "producer:" in problem.fix and "propagator:" in problem.fix
    assert not (tmp_path / "out1").exists()
    config.write_text(without + "aigc:\n  producer: ''\n  propagator: x\n", encoding="utf-8")
    with test_images_allowed():
        assert main(["build", "--root", str(site), "--out", str(tmp_path / "out2")]) == 1
    err = capsys.readouterr().err
    assert 'site.yaml, line ' in err and 'key "aigc.producer": the text is empty' in err and "Traceback" not in err


def test_labels_escape_every_value():
    from xmp_reader import xmp_fields

    from zimage_site.images.xmp import ImageLabel, find_packet, read_label

    hostile = 'a"b</rdf:li><x:y>&amp;\u0001\ufffe]]>'
    label = ImageLabel("id", "k" * 64, hostile, hostile, hostile, 1, 8, 0.0, hostile, hostile)
    packet = label.packet("img/" + hostile)
    fields = xmp_fields(packet)
    clean = hostile.replace("\u0001", "\ufffd").replace("\ufffe", "\ufffd")
    assert fields["AIPromptInformation"] == fields["AISystemUsed"] == fields["AISystemVersionUsed"] == clean
    # inside the JSON a control character is escaped by JSON itself (\u0001) and survives
    in_json = hostile.replace("\ufffe", "\ufffd")
    assert fields["AIGC"]["ContentProducer"] == fields["AIGC"]["ContentPropagator"] == in_json
    assert fields["AIGC"]["PropagateID"] == "img/" + in_json
    assert read_label(find_packet(b"\x00junk" + packet + b"more")).problems == []
    assert read_label(None).problems == ["no XMP metadata"]
    deep = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' \
           b'<rdf:Description xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"><TC260:AIGC>' + b"[" * 200_000 + \
           b"</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>"
    assert "not a JSON object" in read_label(deep).problems[0]


# --------------------------------------------------------------------------- a store that lies

def _small_store(tmp_path: Path) -> Path:
    root = make_site(tmp_path)
    for image_id in ("big", "small", "pair-4", "pair-8"):
        store_test_image(root, image_id)
    return root


def _rewrite_sha(png: Path, data: bytes) -> None:
    png.write_bytes(data)
    sidecar = png.with_suffix(".json")
    prov = json.loads(sidecar.read_text(encoding="utf-8"))
    prov["sha256"] = hashlib.sha256(data).hexdigest()
    sidecar.write_text(json.dumps(prov), encoding="utf-8")


def test_a_deeply_nested_or_mistyped_sidecar_is_damaged_not_a_crash(tmp_path):
    root = _small_store(tmp_path)
    store = Store(root)
    (png, sidecar), = store.entries_for("small")
    sidecar.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    (png2, sidecar2), = store.entries_for("big")
    prov = json.loads(sidecar2.read_text(encoding="utf-8"))
    # a second version of "big" whose `created` is a number: comparing it used to be a TypeError
    other = sidecar2.with_name(sidecar2.name.replace(prov["key"][:16], "0" * 16))
    png2.with_name(other.with_suffix(".png").name).write_bytes(png2.read_bytes())
    other.write_text(json.dumps({**prov, "key": "0" * 64, "created": 20260101}), encoding="utf-8")
    store.refresh()
    report = Report()
    catalog = ImageCatalog.load(root, report, allow_test_images=True)
    publish(catalog, tmp_path / "out", "/", report)
    assert catalog.counts == {"images": 3, "placeholders": 1}
    notes = "\n".join(w.format("warning") for w in report.warnings)
    assert f"images/{png.name}: the provenance file is unreadable (RecursionError)" in notes
    assert "the provenance field 'created' has the wrong type (int)" in notes
    # times with and without a zone compare (a time without one is UTC), the newest wins
    other.write_text(json.dumps({**prov, "key": "0" * 64, "created": "2027-01-01T00:00:00"}), encoding="utf-8")
    entry, _ = Store(root).find("big", prov["spec"], allow_test_images=True)
    assert entry.key == "0" * 64
    for bad in ({"seed": "7"}, {"width": True}, {"created": "yesterday"}, {"sha256": "x" * 64}, {"prompt": None}):
        other.write_text(json.dumps({**prov, "key": "0" * 64, **bad}), encoding="utf-8")
        entry, notes = Store(root).find("big", prov["spec"], allow_test_images=True)
        assert entry.key == prov["key"] and "provenance field" in notes[0], bad


@pytest.mark.parametrize("fmt, kind", [("JPEG", "a JPEG file"), ("GIF", "a GIF file")])
def test_a_stored_png_that_is_another_format_is_an_error(tmp_path, fmt, kind):
    import io

    root = _small_store(tmp_path)
    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    publish(catalog, tmp_path / "warm", "/", Report())  # the variant cache is warm
    png = Store(root).entries_for("small")[0][0]
    buf = io.BytesIO()
    with Image.open(png) as im:
        im.convert("RGB").save(buf, fmt)
    _rewrite_sha(png, buf.getvalue())
    with pytest.raises(SiteError) as info:
        publish(ImageCatalog.load(root, Report(), allow_test_images=True), tmp_path / "out", "/", Report())
    problem = info.value.problems[0]
    assert problem.file == f"images/{png.name}"
    assert problem.message == f"the stored image is not a PNG file (it is {kind})"


def test_a_store_png_swapped_for_another_size_is_an_error_with_a_warm_cache(tmp_path):
    root = _small_store(tmp_path)
    publish(ImageCatalog.load(root, Report(), allow_test_images=True), tmp_path / "warm", "/", Report())
    small = Store(root).entries_for("small")[0][0]
    big = Store(root).entries_for("big")[0][0]
    _rewrite_sha(small, big.read_bytes())  # 1344×768 where 640×640 belongs; its variants are cached
    with pytest.raises(SiteError) as info:
        publish(ImageCatalog.load(root, Report(), allow_test_images=True), tmp_path / "out", "/", Report())
    problem = info.value.problems[0]
    assert problem.file == f"images/{small.name}"
    assert problem.message == "the stored image is 1344×768 pixels, the manifest says 640×640"


def test_a_forged_variant_with_its_digest_updated_is_encoded_again(tmp_path):
    from xmp_reader import xmp_fields, xmp_packet

    root = _small_store(tmp_path)
    publish(ImageCatalog.load(root, Report(), allow_test_images=True), tmp_path / "out1", "/", Report())
    folders = [p for p in (root / ".cache/variants").iterdir() if not p.name.startswith(".")]
    forged = {}
    for i, folder in enumerate(sorted(folders)):
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        name = meta["files"]["webp"][str(meta["widths"][0])]
        w = meta["widths"][0]
        h = round(meta["height"] * w / meta["width"])
        # another picture: a GIF, an unlabelled WebP of the right size, or a labelled one of the wrong size
        fake = Image.new("RGB", (w, h) if i % 3 == 1 else (w + 16, h), (255, 0, 0))
        buf = __import__("io").BytesIO()
        if i % 3 == 0:
            fake.save(buf, "GIF")
        else:
            fake.save(buf, "WEBP", xmp=(folder / name).read_bytes() and xmp_packet((folder / name).read_bytes())
                      if i % 3 == 2 else b"")
        data = buf.getvalue()
        (folder / name).write_bytes(data)
        meta["digests"][name] = [len(data), hashlib.sha256(data).hexdigest()]
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        forged[name] = folder
    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    publish(catalog, tmp_path / "out2", "/", Report())
    assert catalog.cache.encoded > 0 and catalog.cache.reused == 0
    for path in (tmp_path / "out2/img").iterdir():
        with Image.open(path) as im:
            im.load()
            assert im.getpixel((0, 0)) != (255, 0, 0) and im.format in ("AVIF", "WEBP", "JPEG")
        assert xmp_fields(xmp_packet(path.read_bytes()))["AIGC"]["PropagateID"] == f"img/{path.name}"


def test_a_forged_preview_or_colour_in_the_cache_never_reaches_the_page(tmp_path):
    root = _small_store(tmp_path)
    publish(ImageCatalog.load(root, Report(), allow_test_images=True), tmp_path / "out1", "/", Report())
    for i, folder in enumerate(sorted(p for p in (root / ".cache/variants").iterdir() if not p.name.startswith("."))):
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if i % 2:
            meta["preview"] = "data:image/webp;base64,AAAA) center; background: url(https://evil.example/x"
        else:
            meta["color"] = "red; background-image: url(https://evil.example/x)"
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    images = catalog.prepare("/", Report())
    assert catalog.cache.reused == 0 and catalog.cache.encoded > 0
    for image_id in ("big", "small"):
        assert "evil" not in images.view(image_id, "zh").style


def test_json_ld_nested_200000_deep_is_a_finding_not_a_crash(tmp_path):
    from zimage_site.check.model import jsonld_urls, parse_page

    page = tmp_path / "index.html"
    page.write_text('<!doctype html><html lang="en"><head><title>x</title>'
                    '<script type="application/ld+json">' + "[" * 200_000 + "]" * 200_000 +
                    "</script></head><body></body></html>", encoding="utf-8")
    parsed = parse_page(page, tmp_path)
    assert parsed.jsonld_errors == [("the JSON-LD nests too deeply to be read (hundreds of levels)", 1)]
    # data deep enough to parse but deeper than Python's recursion limit is walked without recursion
    data: object = {"url": "https://example.org/0"}
    for i in range(5000):
        data = {"@graph": [data], "image": f"/img/{i}.png"}
    urls = list(jsonld_urls(data))
    assert len(urls) == 5001 and urls[0] == "/img/4999.png" and urls[-1] == "https://example.org/0"


# --------------------------------------------------------------------------- two-phase replacement

def test_a_replacement_stopped_after_any_step_leaves_the_old_pair_or_the_new(tmp_path):
    """`generate --force` replaces a pair under the same name: after every step of the write a
    reader finds the old image with its provenance, or the new one with its own, never a mix;
    `settle()` (run by the next `generate`) leaves a clean store."""
    root = make_site(tmp_path)
    spec = load_manifest(root).images["small"]
    key = store_key(spec.pixels(), "test-drawing", "0", "fp32")
    prov = {**{k: v for k, v in spec.pixels().items() if k != "guidance"}, "guidance_scale": spec.guidance,
            "spec": spec.spec_hash, "model": "test-drawing", "model_revision": "0", "test_fixture": True}
    old = Store(root).write("small", key, drawing(640, 640, 1), {**prov, "created": "2026-01-01T00:00:00+00:00"})
    old_sha = old.provenance["sha256"]
    steps = len(list(Store(tmp_path / "count").write_steps("small", key, drawing(64, 64, 2), {
        **prov, "created": "2026-01-02T00:00:00+00:00"})))
    assert steps == 4  # the new image, its provenance (the commit), the image's rename, the provenance's
    seen = []
    for stop in range(steps + 1):
        store = Store(root)
        writer = store.write_steps("small", key, drawing(640, 640, 2), {**prov, "created": "2026-01-02T00:00:00+00:00"})
        for _ in range(stop):
            next(writer)
        # the process dies here: nothing more runs (no cleanup)
        status = Store(root).check("small", key)
        assert status.state == "ok", (stop, status.detail)
        entry = status.entry
        assert sha256(entry.png) == entry.provenance["sha256"]  # pixels and provenance agree
        with Image.open(entry.png) as im:
            pixels = im.convert("RGB").tobytes()
        new = entry.provenance["created"].startswith("2026-01-02")
        assert pixels == drawing(640, 640, 2 if new else 1).tobytes()
        seen.append("new" if new else "old")
        built = ImageCatalog.load(root, Report(), allow_test_images=True)
        assert built.entries["small"].provenance["sha256"] == entry.provenance["sha256"]
        Store(root).settle()
        assert sorted(p.name for p in (root / "images").iterdir() if p.name.startswith(".")) == []
        after = Store(root).check("small", key)
        assert after.state == "ok" and after.entry.provenance["sha256"] == entry.provenance["sha256"]
        # back to the old pair for the next round
        Store(root).write("small", key, drawing(640, 640, 1), {**prov, "created": "2026-01-01T00:00:00+00:00"})
        assert Store(root).check("small", key).entry.provenance["sha256"] == old_sha
    assert seen == ["old", "old", "new", "new", "new"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
