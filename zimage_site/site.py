"""The build pipeline: config → content → images → render → write, each phase named and timed.

    site = Site(root, base_url=..., strict=...)
    result = site.build(out)          # atomic; raises SiteError and leaves `out` untouched
    result = site.build(out2)         # after edits: the same Site reuses every part whose inputs did not change

Each phase returns what the next one consumes and never writes into an earlier phase's values:

    inputs ─▶ config ─▶ content ──────────▶ images ──────────▶ render ─────────▶ write
    Fingerprint  Config   Sections, Data,     image files to      Pages (HTML),      Writer: pages,
                          UI strings, Jinja   publish + views     assets, sitemap    assets, images

Every part is keyed on the digests of the inputs that feed it (`inputs.FEEDS`) and reused when
its key is unchanged: in memory across the builds of one `Site` (the live preview) and on disk
in `.cache/` across processes (parts.py for the parts YAML parsing makes, cache.SectionCache for
rendered sections). This module only orchestrates: the asset store is asset_store.py, the
rendering of sections render_sections.py, page assembly assemble.py.

`build_site(...)` is the one-call form used by the CLI and the tests.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from zimage_site.assemble import Content, Inputs, assemble
from zimage_site.asset_store import Assets, AssetStore
from zimage_site.cache import SectionCache
from zimage_site.config import Config, load_config
from zimage_site.content import CONTENT_DIR, Section, load_sections, parse_section
from zimage_site.data import missing_texts, load_data
from zimage_site.errors import ContentError, Problem, Report, SiteError
from zimage_site.files import read_bytes
from zimage_site.fragments import Page
from zimage_site.inputs import Fingerprint, fingerprint
from zimage_site.parts import Parts
from zimage_site.render import load_strings, make_environment
from zimage_site.writer import writing


@dataclass
class BuildResult:
    out: Path
    languages: list[str]
    sections: dict[str, int]
    images: int
    placeholders: int
    warnings: list[Problem]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    rendered: int = 0   # sections rendered by this build (the others came from the cache)
    reused: int = 0

    def summary(self) -> str:
        langs = " + ".join(self.languages)
        counts = sorted(set(self.sections.values()))
        each = f"{counts[0]} sections each" if len(counts) == 1 else \
            ", ".join(f"{n} {lang}" for lang, n in self.sections.items()) + " sections"
        n = len(self.warnings)
        return (f"built {langs} ({len(self.languages)} pages, {each}), {self.images} images "
                f"({self.placeholders} placeholders), {n} warning{'s' * (n != 1)} in {self.seconds:.2f} s → {self.out}")


class Site:
    def __init__(self, root: Path, *, base_url: str | None = None, strict: bool = False,
                 allow_placeholders: bool = False, hash_assets: bool = True, inject_html: str = "",
                 processes: int | None = None, today: dt.date | None = None) -> None:
        self.root = Path(root)
        self.today = today  # the day stale facts are measured against (None: the real today)
        self.base_url = base_url
        self.strict = strict
        self.allow_placeholders = allow_placeholders
        self.hash_assets = hash_assets
        self.inject_html = inject_html
        self.processes = processes  # None: a pool of os.cpu_count() when there are many sections; 1: none
        self.report = Report()
        self.timings: dict[str, float] = {}
        # What the last build loaded (for the CLI, serve and the tests)
        self.config: Config
        self.sections: dict[str, list[Section]] = {}
        self.images = None
        self.parts = Parts(self.root)  # the parts of earlier builds
        self.section_cache = SectionCache(self.root)
        self.asset_store = AssetStore(self.root)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def part(self, name: Any, key: str, make: Callable[[], Any]) -> Any:
        """The value of one part of the build: the last one made under the same key, or a new one.
        Its warnings are recorded with it and repeated whenever it is reused."""
        known = self.parts.get(name, key)
        if known is not None:
            for w in known[1]:
                self.report.warn(w)
            return known[0]
        main, self.report = self.report, Report()
        try:
            value = make()
        finally:
            warnings, self.report = self.report.warnings, main
            for w in warnings:
                main.warn(w)
        self.parts.put(name, key, value, warnings)
        self._made.add(name)
        return value

    # -- the whole build
    def build(self, out: Path) -> BuildResult:
        start = time.perf_counter()
        self.report = Report()
        self.timings = {}
        self._made: set = set()
        with self.phase("config"):
            inputs = fingerprint(self.root, self.base_url or "")
            config = self.load_config(inputs)
        with self.phase("content"):
            content = self.load_content(inputs, config)
        with self.phase("images"):
            images = self.load_images(inputs, config)
        with self.phase("assets"):
            assets = self.load_assets(inputs, config)
        with self.phase("render"):
            pages, rendered = self.render(inputs, config, content, images, assets)
        with self.phase("write"), writing(out, self.root) as writer:
            for page in pages:
                writer.text(page.path, page.text)
            writer.files(assets.files)
            writer.files(images.files)
            writer.text(".nojekyll", "")
            self._enforce_strict()
        self.section_cache.save()
        self.parts.save(self._made)
        counts = images.counts
        return BuildResult(out=out, languages=list(config.languages),
                           sections={lang: len(s) for lang, s in self.sections.items()},
                           images=counts.get("images", 0), placeholders=counts.get("placeholders", 0),
                           warnings=list(self.report.warnings), seconds=time.perf_counter() - start,
                           timings=dict(self.timings), rendered=rendered,
                           reused=sum(map(len, self.sections.values())) - rendered)

    # -- config
    def load_config(self, inputs: Fingerprint) -> Config:
        def make() -> Config:
            config = load_config(self.root, self.report)
            if self.base_url:
                config = config.with_base_url(self.base_url)
            return config

        self.config = self.part("config", inputs.key("config"), make)
        inputs.refuse(list(self.config.languages))
        self._check_static_files(self.config)
        return self.config

    def _check_static_files(self, config: Config) -> None:
        problems = [Problem(f"static/{name} does not exist", file="site.yaml", key=key, line=config.lines.get(key),
                            fix=f"add the file under static/ or point {key} at an existing one")
                    for key, name in (("social_image", config.social_image), ("favicon", config.favicon))
                    if not (self.root / "static" / name).is_file()]
        if problems:
            raise SiteError(problems)

    # -- content
    def load_content(self, inputs: Fingerprint, config: Config) -> "Content":
        # the languages written by hand; a derived language reads its source's sections and strings
        languages = [code for code, lang in config.languages.items() if not lang.source]
        data = self.part("data", inputs.key("data"), lambda: load_data(self.root, self.report))
        for problem in missing_texts(data, languages):  # warned in every build (cheap; keyed on two kinds)
            self.report.warn(problem)

        def parse(path: Path, lang: str) -> Section:
            shown = f"{CONTENT_DIR.as_posix()}/{lang}/{path.name}"
            source = inputs.sources.get(shown)
            if source is None:  # not a file the fingerprint read (a folder named like a section): refused
                source = read_bytes(self.root, path, shown, error=ContentError)
            return self.part(("section", shown), inputs.files.get(shown, ""),
                             lambda: parse_section(path, lang, self.root, self.report, shown=shown, source=source))

        self.sections = self.part("sections", inputs.key("sections"), lambda: load_sections(
            self.root, languages, config.default_language, self.report, parse))
        strings = self.part("strings", inputs.key("strings"), lambda: load_strings(self.root, languages))
        derived = {code: lang.source for code, lang in config.languages.items() if lang.source}
        if derived:
            self.sections = {**self.sections, **{code: self.sections[src] for code, src in derived.items()}}
            strings = {**strings, **{code: strings[src] for code, src in derived.items()}}
        jinja = self.part("templates", inputs.key("templates"), lambda: make_environment(self.root))
        ids = {s.id for s in self.sections[config.default_language]}
        unknown = [n for n in config.nav if n not in ids]
        if unknown:
            raise SiteError(Problem(f"nav lists unknown sections: {', '.join(unknown)}", file="site.yaml", key="nav",
                                    line=config.lines.get("nav"),
                                    fix=f"use section ids: {', '.join(s.id for s in self.sections[config.default_language])}"))
        return Content(self.sections, data, strings, jinja)

    # -- images
    def load_images(self, inputs: Fingerprint, config: Config):
        """The images phase's value (`images.catalog.Images`): the files to publish and the views."""
        from zimage_site.images import ImageCatalog

        from zimage_site.images.catalog import _TEST_IMAGES

        # test images (tests/fixture_store.py) are let in only by the tests: part of the key
        catalog = self.part("catalog", inputs.key("catalog", str(_TEST_IMAGES.get())),
                            lambda: ImageCatalog.load(self.root, self.report))
        allow = self.allow_placeholders or not self.strict
        images = self.part("images", inputs.key("images", config.base_path, str(allow), str(_TEST_IMAGES.get())),
                           lambda: catalog.prepare(config.base_path, self.report, allow_placeholders=allow,
                                                   aigc=config.aigc, languages=config.languages))
        self.images = images
        return images

    # -- assets
    def load_assets(self, inputs: Fingerprint, config: Config) -> Assets:
        key = inputs.key("assets", config.base_path, str(self.hash_assets))
        return self.part("assets", key, lambda: self.asset_store.assets(key, config.base_path, self.hash_assets))

    # -- render
    def render(self, inputs: Fingerprint, config: Config, content: Content, images,
               assets: Assets) -> tuple[list[Page], int]:
        """Render every page; return them and the number of sections rendered (not reused)."""
        from zimage_site.render_sections import render_pages

        made = Inputs(self.root, config, content, images, assets.urls, self.report, self.inject_html)
        base_key = inputs.key("html", json.dumps(assets.urls, sort_keys=True))
        self.section_cache.start()
        # a derived page renders its source's sections in its source's language (the same HTML,
        # from the cache): derive.py converts the whole page afterwards
        jobs = [(made.page_context(lang), content.sections[lang]) for lang in config.languages]
        rendered_sections, rendered = render_pages(jobs, base_key, inputs, self.section_cache, self.processes)
        self._warn_stale(content.data, [key for sections in rendered_sections for s in sections for key in s.facts])
        return assemble(made, [page for page, _ in jobs], rendered_sections), rendered

    def _warn_stale(self, data, printed: list[str]) -> None:
        """A printed fact whose check is older than its class allows is a warning (made anew by
        every build: it depends on the day, not on the inputs). `zimage-site check --strict`
        refuses it; the build does not, since the page it makes is the same."""
        for stale in data.stale_facts(printed, self.today or dt.date.today()):
            self.report.warn(stale.problem(data))

    def _enforce_strict(self) -> None:
        if not self.strict:
            return
        failing = [w for w in self.report.warnings
                   if not (self.allow_placeholders and w.kind == "placeholder") and w.kind != "stale"]
        if failing:
            raise SiteError([replace(w, fix=(w.fix + "; " if w.fix else "") + "this is an error because of --strict")
                             for w in failing])


def build_site(root: Path, out: Path | None = None, **options) -> BuildResult:
    root = Path(root)
    return Site(root, **options).build(Path(out) if out else root / "build")
