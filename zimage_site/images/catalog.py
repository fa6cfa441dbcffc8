"""`ImageCatalog`: what the build knows about the images of the page.

The engine loads the catalog (the manifest, and the stored images it finds), asks it whether an
image or a comparison set exists (to check the content), and calls `prepare()` once per build,
which makes (or finds in the cache) the variants and returns an `Images` value: the files to
publish (`writer.OutputFile`, written by the engine's one writer) and `view()` / `gallery()` /
`comparison()`, the typed views (`ImageView`, `ComparisonView`) that the block templates render.
Neither is changed once made. Needs only Pillow.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from zimage_site.data import text
from zimage_site.errors import Problem, Report, SiteError
from zimage_site.images.manifest import MANIFEST, ImageSpec, Manifest, load_manifest
from zimage_site.images.store import Entry, Store
from zimage_site.images.variants import MIME, Source, VariantCache, VariantSet, published_name
from zimage_site.images.xmp import ImageLabel
from zimage_site.layout import Layout, css_length
from zimage_site.writer import OutputFile

if TYPE_CHECKING:
    from zimage_site.config import Aigc

GENERATE_HINT = "pip install '.[generate]' && zimage-site generate"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

def image_sizes(layout: Layout | None, context: str, n: int = 1) -> str:
    """`sizes` of an image shown in `context` (hero, figure, gallery; row and compare: one of `n`),
    made from the breakpoints and widths of content/data/layout.yaml, which the stylesheet uses
    too (measured in Chromium from 360 to 1440 px: tests/test_page_states.py checks that no image
    loads wider than its box needs). Phones: the page's width less the smallest gutters (1rem).
    Without a layout file the browser assumes the viewport's width."""
    if layout is None:
        return "100vw"
    wide, desktop, tablet, small = (layout.media(name) for name in ("wide", "desktop", "tablet", "small"))
    wrap, wrap_wide, gutters = layout.rem("wrap"), layout.rem("wrap_wide"), 2 * layout.rem("gutter_max")

    def rem(width: float) -> str:
        return css_length(width, "rem")

    page, page_wide = f"min(100vw, {rem(wrap)})", f"min(100vw, {rem(wrap_wide)})"  # the page's content box, gutters included

    if context == "hero":  # two columns once the page stops growing
        return f"(min-width: {rem(wrap)}) {rem((wrap - gutters) / 2)}, {desktop} 47vw, calc(100vw - 2rem)"
    if context == "gallery":  # wide: five columns (gaps of 1rem); phones: one row that scrolls sideways
        return (f"{wide} calc(({page_wide} - {rem(gutters + 4)}) / 5), "
                f"{desktop} calc(({page} - {rem(gutters + 2.5)}) / 3), "
                f"{tablet} calc(50vw - 2.5rem), min(84vw - 1.7rem, 19rem)")
    if context == "row":  # one of `n` figures in a row (blocks that follow each other, 30-compact.css)
        return (f"{wide} calc(({page_wide} - {rem(gutters + n - 1)}) / {n}), "
                f"{desktop} calc(({page} - {rem(gutters + n - 1)}) / {n}), "
                f"{tablet} calc(50vw - 2.5rem), min(86vw - 1.75rem, 20rem)")
    if context == "compare":  # narrow screens show one image at a time (tabs); wider ones the set side by side
        return f"{desktop} {39 / n:.1f}rem, {small} calc((100vw - 6rem) / {n}), calc(100vw - 4rem)"
    # a figure: on wide screens the column beside the prose (the smaller measure leaves the wider
    # column; 2.5rem: the gap before it); from the desktop breakpoint at most 52rem
    beside = gutters + layout.rem("measure_wide_latin") + 2.5
    return f"{wide} calc({page_wide} - {rem(beside)}), {desktop} 52rem, calc(100vw - 2rem)"


# Test images (provenance `"test_fixture": true`) are refused by every build, except inside
# `test_images_allowed()`, which only the tests and their fixture-store tools enter.
_TEST_IMAGES: ContextVar[bool] = ContextVar("zimage_site_test_images", default=False)


@contextmanager
def test_images_allowed() -> Iterator[None]:
    """Let builds inside this block show images marked as test images (tests only)."""
    token = _TEST_IMAGES.set(True)
    try:
        yield
    finally:
        _TEST_IMAGES.reset(token)


test_images_allowed.__test__ = False  # not a test, whatever pytest's name matching thinks



@dataclass(frozen=True)
class ImageView:
    """Everything `templates/blocks/figure.html` needs for one image in one language. Plain
    strings only: the templates escape them (autoescape)."""

    id: str
    lang: str
    pending: bool
    hero: bool
    context: str
    section: str | None
    width: int
    height: int
    aspect: str
    size: str
    alt: str
    caption: str
    label: str | None
    prompt: str
    prompt_lang: str
    prompt_rendering: str | None  # the prompt in the page's language when it was written in another (English page only)
    prompt_han: bool  # the prompt holds Han characters (a long prompt is shorter in characters)
    seed: int
    steps: int
    guidance: float
    model: str | None
    model_revision: str | None
    show_prompt: bool
    sizes: str
    loading: str
    decoding: str | None
    fetchpriority: str | None
    sources: list[dict] = field(default_factory=list)  # [{type, srcset}], AVIF then WebP
    src: str | None = None
    color: str | None = None
    style: str = ""

    def __getitem__(self, key: str):  # view["alt"] reads like view.alt, as it did when views were dicts
        return getattr(self, key)


@dataclass(frozen=True)
class ComparisonView:
    """Everything `templates/blocks/compare.html` needs for one comparison set."""

    id: str
    lang: str
    section: str | None
    varies: str
    title: str
    note: str | None
    items: list[ImageView]
    count: int
    prompt: str | None          # the prompt all images share (None when the prompt is what varies)
    prompt_lang: str | None
    pending: int
    prompt_rendering: str | None = None  # its English rendering, on the English page

    def __getitem__(self, key: str):
        return getattr(self, key)


def prompt_lang(prompt: str, languages: dict) -> str:
    """The language of site.yaml a prompt is written in, by its script: the first language written
    by hand in Han characters when the prompt holds them, else the first in another script."""
    han = bool(_CJK.search(prompt))
    hand = [code for code, lang in languages.items() if not lang.source]
    return next((code for code in hand if languages[code].han == han), hand[0] if hand else "")


class ImageCatalog:
    """The manifest and the stored images it finds, resolved when loaded; never changed after."""

    def __init__(self, root: Path, manifest: Manifest | None, *, allow_test_images: bool = False):
        self.root = Path(root)
        self.allow_test_images = allow_test_images  # tests only: accept images of the tiny test pipeline
        self.manifest = manifest or Manifest()
        self.store = Store(self.root)
        self.cache = VariantCache(self.root)
        self.entries: dict[str, Entry] = {}
        self.notes: list[str] = []  # files of the store that were not used
        for spec in self.manifest.images.values():
            # the build trusts a SHA-256 match with the provenance; `generate` decodes too
            entry, notes = self.store.find(spec.id, spec.spec_hash, allow_test_images=self.allow_test_images,
                                           decode=False, pixels=spec.pixels())
            self.notes.extend(f"images/{n}" for n in notes)
            if entry is not None:
                self.entries[spec.id] = entry

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, root: Path, report: Report | None = None, *, allow_test_images: bool = False) -> "ImageCatalog":
        """Load and validate `content/images.yaml` (SiteError listing every problem) and find its
        stored images. No file: an empty catalog."""
        return cls(Path(root), load_manifest(Path(root), report=report),
                   allow_test_images=allow_test_images or _TEST_IMAGES.get())

    @property
    def image_ids(self) -> list[str]:
        return list(self.manifest.images)

    @property
    def set_ids(self) -> list[str]:
        return list(self.manifest.sets)

    def has_image(self, image_id: str) -> bool:
        return image_id in self.manifest.images

    def has_set(self, set_id: str) -> bool:
        return set_id in self.manifest.sets

    def spec(self, image_id: str) -> ImageSpec:
        return self.manifest.images[image_id]

    @property
    def missing(self) -> list[str]:
        return [i for i in self.manifest.images if i not in self.entries]

    @property
    def counts(self) -> dict:
        return {"images": len(self.entries), "placeholders": len(self.manifest.images) - len(self.entries)}

    # ------------------------------------------------------------------ the images phase

    def prepare(self, base_path: str, report: Report, *, allow_placeholders: bool = True,
                aigc: "Aigc | None" = None, languages: dict | None = None) -> "Images":
        """The images phase: make (or find in the cache) the labelled variants of every stored
        image; return the files to publish under the output folder and the views' parts, as an
        `Images` value (this catalog is not changed). `base_path` is the site's URL path, "/" or
        "/repo/". `aigc` names the labels' producer and propagator and `languages` the languages
        of site.yaml (both read from root/site.yaml when not given); a generated image is never
        published without its label. Missing images become placeholders (one warning), or a
        SiteError when not allowed."""
        entries = self.entries
        missing = self.missing
        if self.notes:
            report.warn(Problem(
                f"{len(self.notes)} file(s) in the image store were not used",
                file="images/", context="\n".join(self.notes),
                fix="run zimage-site generate to make them again (it replaces damaged files)"))
        if missing:
            ids = textwrap.fill(", ".join(missing), width=96)
            if not allow_placeholders:
                raise SiteError(Problem(
                    f"{len(missing)} image(s) have not been generated yet, and placeholders are not allowed",
                    file=self.manifest.file, context=ids,
                    fix=f"generate them on a machine with an NVIDIA GPU:  {GENERATE_HINT}\n"
                        "  (or build with --allow-placeholders to keep placeholders under --strict)"))
            noun = "image has" if len(missing) == 1 else "images have"
            report.warn(Problem(
                f"{len(missing)} {noun} not been generated yet; the page shows placeholders for them",
                context=ids, kind="placeholder",
                fix=f"generate them on a machine with an NVIDIA GPU:  {GENERATE_HINT}"))
        if languages is None:
            from zimage_site.config import load_languages

            languages = load_languages(self.root)

        sources: dict[str, Source] = {}
        if entries and aigc is None:
            from zimage_site.config import load_aigc

            aigc = load_aigc(self.root)
        for image_id, entry in entries.items():
            spec = self.manifest.images[image_id]
            label = ImageLabel.from_provenance(entry.provenance, aigc.producer, aigc.propagator)
            sources[image_id] = Source(entry.png, entry.provenance["sha256"], spec.width, spec.height, label)
        variant_sets = self.cache.ensure(list(sources.values())) if sources else {}

        parts: dict[str, dict] = {}
        files: list[OutputFile] = []
        for image_id in self.manifest.images:
            if image_id not in entries:
                parts[image_id] = {"pending": True}
                continue
            vs = variant_sets[sources[image_id].cache_key]
            parts[image_id] = _variants(image_id, vs, base_path, files)
        return Images(self, languages, parts, files)


def _variants(image_id: str, vs: VariantSet, base: str, files: list[OutputFile]) -> dict:
    urls: dict[str, dict[int, str]] = {}
    for fmt, names in vs.files.items():
        urls[fmt] = {}
        for w, name in names.items():
            out_path = published_name(image_id, vs.sha256, w, fmt)  # the PropagateID of its label
            files.append(OutputFile(out_path, vs.folder / name))
            urls[fmt][w] = base + out_path
    sources = [{"type": MIME[fmt], "srcset": ", ".join(f"{u} {w}w" for w, u in sorted(urls[fmt].items()))}
               for fmt in ("avif", "webp") if urls.get(fmt)]
    return {
        "pending": False,
        "sources": sources,
        "src": urls["jpeg"][vs.fallback],
        "color": vs.color,
        "preview": vs.preview,
    }


@dataclass(frozen=True)
class Images:
    """The images phase's result (`ImageCatalog.prepare()`): the files to publish (the writer puts
    them in the output folder) and the typed views the block templates render."""

    catalog: ImageCatalog
    languages: dict  # the languages of site.yaml (their scripts decide a prompt's language)
    parts: dict  # image id → the language-independent parts of its views
    files: list  # [OutputFile]

    @property
    def image_ids(self) -> list[str]:
        return self.catalog.image_ids

    @property
    def set_ids(self) -> list[str]:
        return self.catalog.set_ids

    def has_image(self, image_id: str) -> bool:
        return self.catalog.has_image(image_id)

    def has_set(self, set_id: str) -> bool:
        return self.catalog.has_set(set_id)

    @property
    def counts(self) -> dict:
        return self.catalog.counts

    def view(self, image_id: str, lang: str, *, hero: bool = False, layout: Layout | None = None, row: int = 0,
             context: str = "figure", sizes: str | None = None) -> ImageView:
        """Everything `templates/blocks/figure.html` needs for one image in one language (`row`:
        one of so many figures in a row; `layout`: the site's, for the `sizes` attribute)."""
        spec = self.catalog.manifest.images[image_id]
        part = self.parts[image_id]
        languages = self.languages
        entry = self.catalog.entries.get(image_id)
        prov = entry.provenance if entry is not None else {}
        if hero:
            context = "hero"
        view = {
            "id": spec.id,
            "lang": lang,
            "pending": part["pending"],
            "hero": hero,
            "context": context,
            "section": spec.section,
            "width": spec.width,
            "height": spec.height,
            "aspect": f"{spec.width} / {spec.height}",
            "size": f"{spec.width}×{spec.height}",
            "alt": text(spec.alt, lang),
            "caption": text(spec.caption, lang),
            "label": (spec.label or {}).get(lang),
            # The parameters as the model received them: from the provenance when generated.
            "prompt": prov.get("prompt", spec.prompt),
            "prompt_lang": prompt_lang(prov.get("prompt", spec.prompt), languages),
            "prompt_han": bool(_CJK.search(prov.get("prompt", spec.prompt))),
            # A reader of a page not written in Han characters gets a Chinese prompt as sent plus its
            # English rendering (while the prompt is the manifest's).
            "prompt_rendering": (spec.prompt_en if spec.prompt_en and lang in languages and not languages[lang].han
                                 and prov.get("prompt", spec.prompt) == spec.prompt
                                 and prompt_lang(spec.prompt, languages) != lang else None),
            "seed": prov.get("seed", spec.seed),
            "steps": prov.get("steps", spec.steps),
            "guidance": prov.get("guidance_scale", spec.guidance),
            "model": prov.get("model") if entry is not None else None,
            "model_revision": prov.get("model_revision") if entry is not None else None,
            "show_prompt": True,
            "sizes": sizes or image_sizes(layout, "row" if row and not hero else context, row),
            "loading": "eager" if hero else "lazy",
            "decoding": None if hero else "async",
            "fetchpriority": "high" if hero else None,
        }
        if part["pending"]:
            view.update(sources=[], src=None, style=f"aspect-ratio: {spec.width} / {spec.height}")
        else:
            view.update(
                sources=part["sources"], src=part["src"], color=part["color"],
                style=(f"aspect-ratio: {spec.width} / {spec.height}; background: {part['color']} "
                       f"url({part['preview']}) center / cover no-repeat"))
        return ImageView(**view)

    def gallery(self, image_ids: list[str], lang: str, layout: Layout | None = None) -> list[ImageView]:
        """The views of a gallery block."""
        return [self.view(i, lang, context="gallery", layout=layout) for i in image_ids]

    def comparison(self, set_id: str, lang: str, layout: Layout | None = None) -> ComparisonView:
        """Everything `templates/blocks/compare.html` needs for one comparison set."""
        s = self.catalog.manifest.sets[set_id]
        n = len(s.image_ids)
        varies_prompt = s.varies == "prompt"
        items = [replace(self.view(i, lang, context="compare", sizes=image_sizes(layout, "compare", n)), show_prompt=varies_prompt)
                 for i in s.image_ids]
        first = items[0] if items else None
        return ComparisonView(
            id=s.id, lang=lang, section=s.section, varies=s.varies, title=text(s.title, lang),
            note=(s.note or {}).get(lang), items=items, count=n,
            prompt=None if varies_prompt or first is None else first.prompt,
            prompt_lang=first.prompt_lang if first else None,
            pending=sum(1 for i in items if i.pending),
            prompt_rendering=None if varies_prompt or first is None else first.prompt_rendering)


def generate_missing(root: Path, report: Report) -> None:
    """`zimage-site build --generate`: generate what the store lacks before building, when the
    `generate` extra and a GPU are available; otherwise a warning, and the build goes on."""
    from zimage_site.images.generate import generate_missing as _generate_missing

    _generate_missing(Path(root), report)


__all__ = ["ImageCatalog", "Images", "ImageView", "ComparisonView", "generate_missing", "MANIFEST"]
