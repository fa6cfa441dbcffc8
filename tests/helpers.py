"""Helpers shared by several test modules (a test module never imports another one).

Only the standard library, Pillow and zimage_site at module level: a module that needs an optional
test tool (hypothesis, Playwright, torch) imports it itself, so that the others still collect
without it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from zimage_site.errors import SiteError
from zimage_site.images.manifest import load_manifest, store_key
from zimage_site.images.store import Store

if TYPE_CHECKING:
    from zimage_site.site import Site

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium; `playwright install` cannot download here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


LAYOUT = "content/data/layout.yaml"


def make_site(tmp_path: Path, name: str) -> Path:
    """Copy tests/fixtures/<name> to tmp_path/<name>, adding the project's templates and static files."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    for folder in ("templates", "static"):
        if not (root / folder).exists():
            shutil.copytree(REPO / folder, root / folder)
    add_layout(root)
    return root


def add_layout(root: Path) -> None:
    """The project's breakpoints and widths (content/data/layout.yaml), which its stylesheets name,
    for a site that takes the project's static/ and has no layout of its own."""
    if not (root / LAYOUT).exists():
        (root / LAYOUT).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / LAYOUT, root / LAYOUT)


# --------------------------------------------------------------------------- the browser

# Resolves once no animation or transition is running in the page (a theme switch starts colour
# transitions where the reader allows motion): what is measured then is the page at rest.
AT_REST = "() => document.getAnimations().every(a => a.playState !== 'running')"


# axe reports every violation in full, and skips the details of what passed (most of its time on
# a long page): the same verdict, sooner.
VIOLATIONS_ONLY = {"resultTypes": ["violations"]}


def at_rest(page) -> None:
    """Wait until the page is at rest: nothing animating, and two frames painted since."""
    page.wait_for_function(AT_REST)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


# --------------------------------------------------------------------------- rebuilds (test_rebuild, test_cache)

MANIFEST = """\
images:
  - id: pic-a
    section: intro
    prompt: 一只猫
    caption: {zh: 猫, en: A cat}
    alt: {zh: 一只猫, en: A cat}
    seed: 1
    width: 96
    height: 64
  - id: pic-b
    section: faq
    prompt: A dog
    caption: {zh: 狗, en: A dog}
    alt: {zh: 一只狗, en: A dog}
    seed: 2
    width: 64
    height: 64
"""


def store_image(root: Path, image_id: str, shade: int) -> None:
    """Store an image as `generate` would (a drawing stands in for the model's pixels)."""
    spec = load_manifest(root).images[image_id]
    im = Image.new("RGB", (spec.width, spec.height), (shade % 256, 90, 160))
    ImageDraw.Draw(im).line([(0, 0), (spec.width, spec.height)], fill=(255, 255, 0), width=3)
    key = store_key(spec.pixels(), "Tongyi-MAI/Z-Image-Turbo", "r1", "bf16")
    Store(root).write(image_id, key, im, {
        **{k: v for k, v in spec.pixels().items() if k != "guidance"}, "guidance_scale": spec.guidance,
        "spec": spec.spec_hash, "model": "Tongyi-MAI/Z-Image-Turbo", "model_revision": "r1", "dtype": "bf16",
        "created": "2026-01-01T00:00:00+00:00"})


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1) if old else text + new, encoding="utf-8")


SNIPPETS = [
    "\n\nMore text {n}.\n",
    "\n\nAgain {{fact}}`score` and {{fact}}`steps`.\n",
    "\n\nSee [the FAQ](#faq).\n",
    "\n\n::: note tip\nA note {n} with {{fact}}`params`.\n:::\n",
    "\n\n```python\nx = {n}\n```\n",
    "\n\n### Heading {n}\n\nSee [it](#missing-{n}).\n",  # a broken anchor: an error in both builds
    "\n\n::: figure pic-a\n:::\n",
    "\n\n::: gallery\n- pic-b\n- pic-a\n:::\n",
]


def apply(root: Path, op: tuple[str, int, int]) -> None:
    """One edit of one kind of input; `n` varies what is written, `which` picks a target."""
    kind, which, n = op
    lang = ("zh", "en")[which % 2]
    if kind == "content":
        action = which % 5
        extra = root / "content" / lang / f"0{3 + n % 2}-extra{n % 2}.md"
        if action == 0:
            edit(root / "content" / lang / ("01-intro.md", "02-faq.md")[n % 2], "", SNIPPETS[n % len(SNIPPETS)].format(n=n))
        elif action == 1:
            extra.write_text(f"---\nid: extra{n % 2}\norder: {3 + n % 2}\ntitle: Extra {n}\n---\n\n"
                             f"Cites {{fact}}`{('score', 'steps', 'params')[n % 3]}`; back to [intro](#intro).\n",
                             encoding="utf-8")
        elif action == 2:
            extra.unlink(missing_ok=True)
        elif action == 4:  # the first source the page cites changes: the sections after it renumber
            path = root / "content" / lang / "01-intro.md"
            text = path.read_text(encoding="utf-8")
            body = text.index("---\n", 4) + 4
            first = ("{fact}`score` first. ", "{fact}`steps` first. ")[n % 2]
            path.write_text(text[:body] + "\n" + first + text[body:], encoding="utf-8")
        else:  # a section file disappears, or comes back
            path = root / "content" / lang / "02-faq.md"
            if path.exists():
                path.rename(path.with_suffix(".md.off"))
            elif path.with_suffix(".md.off").exists():
                path.with_suffix(".md.off").rename(path)
    elif kind == "data":
        facts = root / "content/data/facts.yaml"
        if which % 3 == 0:
            edit(facts, "steps: {value: 8,", f"steps: {{value: {8 + n},")
        elif which % 3 == 1:  # the source cited first changes: every number on the page moves
            text = facts.read_text(encoding="utf-8")
            a, b = "label: {zh: 步数, en: Steps}, source: readme", "label: {zh: 步数, en: Steps}, source: report"
            facts.write_text(text.replace(a, b) if a in text else text.replace(b, a), encoding="utf-8")
        elif n % 2:
            edit(root / "content/data/links.yaml", "", f"\nextra{n}: value {n}\n")
        else:  # a breakpoint moves: the stylesheet's queries and the images' sizes with it
            layout = root / LAYOUT
            text = layout.read_text(encoding="utf-8")
            a, b = "  wide: 80em", "  wide: 76em"
            layout.write_text(text.replace(a, b) if a in text else text.replace(b, a), encoding="utf-8")
    elif kind == "templates":
        name = ("blocks/note.html", "sources.html", "base.html", "blocks/figure.html")[which % 4]
        edit(root / "templates" / name, "", f"\n<!-- edit {n} -->\n")
    elif kind == "strings":
        edit(root / "templates/i18n/core.yaml", "sources_title: {zh: 来源,", f"sources_title: {{zh: 来源{n},")
    elif kind == "static":
        if which % 3 == 0:
            edit(root / "static/css/20-blocks.css", "", f"\n.edit-{n} {{ color: red; }}\n")
        elif which % 3 == 1:
            (root / f"static/extra-{n % 2}.txt").write_text(f"extra {n}\n", encoding="utf-8")
        else:
            for extra in root.glob("static/extra-*.txt"):
                extra.unlink()
    elif kind == "manifest":
        manifest = root / "content/images.yaml"
        if which % 2:
            edit(manifest, "caption: {zh: 猫,", f"caption: {{zh: 猫{n},")
        else:
            edit(manifest, "seed: 2", f"seed: {3 + n}")  # the stored image no longer matches
    elif kind == "store":
        image_id = ("pic-a", "pic-b")[which % 2]
        if n % 3 == 0:
            for path in (root / "images").glob(f"{image_id}.*"):
                path.unlink()
        else:
            store_image(root, image_id, n)
    elif kind == "glossary":
        glossary = root / "content/i18n/zh-Hant.glossary.yaml"
        if which % 3 == 0:
            edit(glossary, "", f"  测试: 測試{n}\n")
        elif which % 3 == 1:
            edit(glossary, "参数: 參數", f"参数: 參數{n}")
        else:
            glossary.unlink(missing_ok=True)  # an error in both builds
    elif kind == "config":
        if which % 2:
            edit(root / "site.yaml", "title: 测试站点：双语页面", f"title: 测试站点{n}：双语页面")
        else:
            edit(root / "site.yaml", "nav: [intro, faq]", "nav: [intro]")
    else:
        raise AssertionError(kind)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def outcome(site: Site, out: Path):
    """What a build gives: its files and warnings, or its errors."""
    try:
        result = site.build(out)
    except SiteError as exc:
        return "error", exc.format()
    return "built", tree(out), sorted(w.format("warning") for w in result.warnings)


def clear(folder: Path, keep: str) -> None:
    """Empty `folder` but for `keep` (a path under it)."""
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.name != keep.split("/")[0]:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        elif "/" in keep:
            clear(path, keep.split("/", 1)[1])


def cold_copy(root: Path, target: Path) -> Path:
    """A copy of the sources, without the caches of earlier builds; only the compiled templates
    (keyed on their source by Jinja) are kept, so that a cold build does not compile them again."""
    clear(target, ".cache/jinja")
    shutil.copytree(root, target, ignore=shutil.ignore_patterns(".cache", "out-*"), dirs_exist_ok=True)
    return target


def new_site(tmp_path: Path, derived: bool = False) -> Path:
    """The bilingual fixture with two images (one stored) in tmp_path/bilingual; a .cache/ left
    there by an earlier example is kept: its entries must never be taken for those of this one."""
    root = tmp_path / "bilingual"
    clear(root, ".cache")
    shutil.copytree(FIXTURES / "bilingual", root, dirs_exist_ok=True)
    for folder in ("templates", "static"):
        shutil.copytree(REPO / folder, root / folder)
    add_layout(root)
    (root / "content/images.yaml").write_text(MANIFEST, encoding="utf-8")
    (root / "content/i18n").mkdir(parents=True, exist_ok=True)
    (root / "content/i18n/zh-Hant.glossary.yaml").write_text("terms:\n  参数: 參數\n", encoding="utf-8")
    if derived:  # a third language, derived from the Chinese page with the glossary
        edit(root / "site.yaml", "nav: [intro, faq]", "  zh-Hant:\n"
             "    {from: zh, convert: s2twp, glossary: content/i18n/zh-Hant.glossary.yaml, locale: zh-Hant,\n"
             "     og_locale: zh_TW, name: 繁體, path: zh-hant/, script: Hant}\nnav: [intro, faq]")
    store_image(root, "pic-a", 0)
    edit(root / "content/zh/01-intro.md", "", "\n\n::: figure pic-a\n:::\n")
    edit(root / "content/en/02-faq.md", "", "\n\n::: figure pic-b\n:::\n")
    return root


# --------------------------------------------------------------------------- image sites (test_images, test_hostile)

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


AIGC_BLOCK = ("aigc:\n  producer: 示例工作室 <Example & Co>\n  propagator: example.github.io\n"
              # the languages of the texts of the images
              "languages:\n  zh: {locale: zh-CN, og_locale: zh_CN, name: 中文, path: '', script: Hans}\n"
              "  en: {locale: en, og_locale: en_US, name: EN, path: en/}\n")


def image_site(tmp_path: Path, manifest: str = SMALL_MANIFEST) -> Path:
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


# --------------------------------------------------------------------------- generate (test_generate, test_crash_safety)

PROGRESS = re.compile(r"^\[\s*(\d+)/(\d+)\] (\S+)\s+(\d+)×(\d+)\s+seed (\d+)\s+(\d+\.\d) s$")
SUMMARY = re.compile(r"^generated (\d+), skipped (\d+) \(already in the store\), \d+\.\d s, no GPU used$")


def image(image_id, prompt, seed, steps=8, size=64, extra=""):
    return (f"  - id: {image_id}\n    section: use-cases\n    prompt: {prompt}\n"
            f"    caption: {{zh: 图, en: Image}}\n    alt: {{zh: 图, en: An image}}\n"
            f"    seed: {seed}\n    width: {size}\n    height: {size}\n    steps: {steps}\n{extra}")


def manifest(n: int) -> str:
    prompts = ["国风茶馆木质招牌，清晰写着「茗香」二字", "A corgi wearing a red scarf", "小桥流水人家",
               "product shot on a white background", "咖啡店门头招牌，金色字体写「晨间咖啡」"]
    return "images:\n" + "".join(image(f"img-{i}", prompts[i % len(prompts)], 100 + i) for i in range(n))


def manifest_site(tmp_path: Path, text: str) -> Path:
    """A folder holding only content/images.yaml (`text`): all `generate` needs."""
    (tmp_path / "content").mkdir(parents=True, exist_ok=True)
    (tmp_path / "content" / "images.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def summary(stdout: str) -> tuple[int, int]:
    m = SUMMARY.match(stdout.strip().splitlines()[-1])
    assert m, stdout
    return int(m[1]), int(m[2])


def publish(catalog, out: Path, base_path: str = "/", report=None, **options):
    """The images phase of `catalog` (`ImageCatalog.prepare`), its files written into `out` by the
    build's own writer; returns its `Images` (the views)."""
    from zimage_site.errors import Report
    from zimage_site.writer import Writer

    images = catalog.prepare(base_path, report if report is not None else Report(), **options)
    Writer(Path(out)).files(images.files)
    return images
