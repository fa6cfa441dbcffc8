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

A build whose inputs did not change at all (the same digests of every kind, the same options)
publishes again what the last one published: its pages, warnings and files are a part too
(`Built`, keyed on every kind: inputs.FEEDS's "pages"), so such a build reads no YAML, imports no
model, template or Markdown library, and converts nothing. What depends on the day (stale facts)
is checked anew, and the files it publishes from .cache/ are checked as in any build.

`build_site(...)` is the one-call form used by the CLI and the tests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

# Only what every build needs is imported here: a build that publishes its last result again
# (nothing changed) imports none of the phases' modules (pydantic, Jinja, YAML).
from zimage_site.asset_store import Assets, AssetStore
from zimage_site.cache import SectionCache
from zimage_site.errors import ContentError, Problem, Report, SiteError
from zimage_site.files import read_bytes
from zimage_site.inputs import Fingerprint, digest, fingerprint
from zimage_site.parts import DERIVED, Parts
from zimage_site.writer import OutputFile, writing

if TYPE_CHECKING:
    from zimage_site.assemble import Content
    from zimage_site.config import Config
    from zimage_site.content import Section
    from zimage_site.fragments import Page


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


@dataclass
class Built:
    """What a build published, kept (the part "build") to be published again by a build whose
    inputs and options are all the same. Its stale-fact warnings depend on the day: they are not
    kept, but the facts that may become stale are (`dated`), and checked again."""

    languages: list[str]
    sections: dict[str, int]          # sections per language
    counts: dict[str, int]            # the images phase's counts (images, placeholders)
    pages: list[tuple[str, str]]      # (path, text) of every page
    asset_key: str                    # the asset store's folder (checked, and its files published)
    base_path: str
    asset_urls: dict[str, str]
    images: list[OutputFile]          # the image files published (from .cache/variants/)
    warnings: list[Problem]           # the warnings before the stale facts' ones
    later: list[Problem]              # and after them
    dated: list[tuple[str, dt.date, int]]  # printed facts with a check date: key, checked, days trusted


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
        # What the last build loaded (for the CLI, serve and the tests; `config` is read from the
        # parts when the build published its last result again)
        self._config: Config | None = None
        self._inputs: Fingerprint | None = None
        self.sections: dict[str, list[Section]] = {}
        self.images = None
        self.parts = Parts(self.root)  # the parts of earlier builds
        self.section_cache = SectionCache(self.root)
        self.asset_store = AssetStore(self.root)

    @property
    def config(self) -> Config:
        """The configuration of the last build."""
        if self._config is None and self._inputs is not None:
            known = self.parts.get("config", self._inputs.key("config"))
            if known is not None:
                self._config = known[0]
            else:
                self._config = self._read_config(Report())
        if self._config is None:
            raise AttributeError("config: no build has run")
        return self._config

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
        self.parts.start()
        with self.phase("config"):
            inputs = fingerprint(self.root, self.base_url or "")
            self._inputs = inputs
            key = self.build_key(inputs)
            known = self.parts.get("build", key)
        if known is not None:
            result = self.publish_again(known[0], inputs, out, start)
            if result is not None:
                return result
            self.report = Report()
        self._config = None
        with self.phase("config"):
            config = self.load_config(inputs)
        with self.phase("content"):
            content = self.load_content(inputs, config)
        with self.phase("images"):
            images = self.load_images(inputs, config)
        with self.phase("assets"):
            assets = self.load_assets(inputs, config)
        with self.phase("render"):
            pages, rendered, printed, stale_at = self.render(inputs, config, content, images, assets)
        with self.phase("write"), writing(out, self.root) as writer:
            for page in pages:
                writer.text(page.path, page.text)
            writer.files(assets.files)
            writer.files(images.files)
            writer.text(".nojekyll", "")
            self._enforce_strict()
        self.section_cache.save()
        counts = images.counts
        self._keep(key, inputs, config, content.data, assets, images, pages, printed, stale_at)
        self.parts.save(self._made)
        return BuildResult(out=out, languages=list(config.languages),
                           sections={lang: len(s) for lang, s in self.sections.items()},
                           images=counts.get("images", 0), placeholders=counts.get("placeholders", 0),
                           warnings=list(self.report.warnings), seconds=time.perf_counter() - start,
                           timings=dict(self.timings), rendered=rendered,
                           reused=sum(map(len, self.sections.values())) - rendered)

    # -- a build of inputs that did not change
    def build_key(self, inputs: Fingerprint) -> str:
        """The key of the whole build: every kind of input (FEEDS's "pages") and every option
        that changes what it publishes (not `processes`, nor `today`: see `publish_again`)."""
        catalog = sys.modules.get("zimage_site.images.catalog")  # test images: only once it is imported
        test_images = bool(catalog is not None and catalog._TEST_IMAGES.get())
        return inputs.key("pages", self.base_url or "", str(self.strict), str(self.allow_placeholders),
                          str(self.hash_assets), self.inject_html, str(test_images),
                          os.environ.get("SOURCE_DATE_EPOCH", ""))

    def _keep(self, key: str, inputs: Fingerprint, config: Config, data, assets: Assets, images,
              pages: list[Page], printed: list[str], stale_at: tuple[int, int]) -> None:
        """Keep what this build published (the part "build"), for a build of the same inputs:
        its warnings but those of stale facts (`stale_at`: where they are in the list), and the
        printed facts that can become stale (every one with a class and a check date)."""
        before, after = stale_at
        warnings = self.report.warnings
        dated = [(s.key, s.checked, s.max_age) for s in data.stale_facts(printed, dt.date.max)]
        built = Built(languages=list(config.languages), sections={lang: len(s) for lang, s in self.sections.items()},
                      counts=dict(images.counts), pages=[(page.path, page.text) for page in pages],
                      asset_key=self._assets_key(inputs, config), base_path=config.base_path,
                      asset_urls=dict(assets.urls), images=list(images.files), warnings=warnings[:before],
                      later=warnings[after:], dated=dated)
        self.parts.put("build", key, built, [])
        self._made.add("build")

    def publish_again(self, built: Built, inputs: Fingerprint, out: Path, start: float) -> BuildResult | None:
        """Publish what the last build of the same inputs published (None: it cannot be, e.g. a
        file it published from .cache/ is gone; the build then runs in full). The stale facts are
        measured against today, the asset folder is checked as in every build."""
        inputs.refuse(built.languages)
        today = self.today or dt.date.today()
        stale: list[Problem] = []
        # from two days before the limit data.stale_facts applies (age > days trusted), it decides
        if any((today - checked).days >= days - 1 for _, checked, days in built.dated):
            known = self.parts.get("data", inputs.key("data"))
            if known is None:
                return None
            data = known[0]
            stale = [s.problem(data) for s in data.stale_facts([k for k, _, _ in built.dated], today)]
        if not all(Path(item.source).is_file() for item in built.images):
            return None  # .cache/variants/ was emptied
        with self.phase("assets"):
            assets = self.part("assets", built.asset_key,
                               lambda: self.asset_store.assets(built.asset_key, built.base_path, self.hash_assets))
        if assets.urls != built.asset_urls:
            return None
        for warning in [*built.warnings, *stale, *built.later]:
            self.report.warn(warning)
        with self.phase("write"), writing(out, self.root) as writer:
            for path, text in built.pages:
                writer.text(path, text)
            writer.files(assets.files)
            writer.files(built.images)
            writer.text(".nojekyll", "")
            self._enforce_strict()
        self.images = None
        return BuildResult(out=out, languages=list(built.languages), sections=dict(built.sections),
                           images=built.counts.get("images", 0), placeholders=built.counts.get("placeholders", 0),
                           warnings=list(self.report.warnings), seconds=time.perf_counter() - start,
                           timings=dict(self.timings), rendered=0, reused=sum(built.sections.values()))

    # -- config
    def _read_config(self, report: Report) -> Config:
        """site.yaml, with the --base-url given to the build."""
        from zimage_site.config import load_config

        config = load_config(self.root, report)
        return config.with_base_url(self.base_url) if self.base_url else config

    def load_config(self, inputs: Fingerprint) -> Config:
        config = self._config = self.part("config", inputs.key("config"), lambda: self._read_config(self.report))
        inputs.refuse(list(config.languages))
        self._check_static_files(config)
        return config

    def _check_static_files(self, config: Config) -> None:
        problems = [Problem(f"static/{name} does not exist", file="site.yaml", key=key, line=config.lines.get(key),
                            fix=f"add the file under static/ or point {key} at an existing one")
                    for key, name in (("social_image", config.social_image), ("favicon", config.favicon))
                    if not (self.root / "static" / name).is_file()]
        if problems:
            raise SiteError(problems)

    # -- content
    def load_content(self, inputs: Fingerprint, config: Config) -> "Content":
        from zimage_site.assemble import Content
        from zimage_site.content import CONTENT_DIR, Section, load_sections, parse_section
        from zimage_site.data import load_data, missing_texts
        from zimage_site.render import load_strings, make_environment

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
        key = self._assets_key(inputs, config)
        return self.part("assets", key, lambda: self.asset_store.assets(key, config.base_path, self.hash_assets))

    def _assets_key(self, inputs: Fingerprint, config: Config) -> str:
        return inputs.key("assets", config.base_path, str(self.hash_assets))

    # -- render
    def render(self, inputs: Fingerprint, config: Config, content: Content, images,
               assets: Assets) -> tuple[list[Page], int, list[str], tuple[int, int]]:
        """Render every page; return them, the number of sections rendered (not reused), the
        facts the sections print, and where the stale facts' warnings are in the report."""
        from zimage_site.assemble import Inputs, assemble
        from zimage_site.render_sections import render_pages

        made = Inputs(self.root, config, content, images, assets.urls, self.report, self.inject_html,
                      convert=lambda code, name, html: self.convert(inputs, config, code, name, html))
        base_key = inputs.key("html", json.dumps(assets.urls, sort_keys=True))
        self.section_cache.start()
        # a derived page renders its source's sections in its source's language (the same HTML,
        # from the cache): derive.py converts the whole page afterwards
        jobs = [(made.page_context(lang), content.sections[lang]) for lang in config.languages]
        rendered_sections, rendered = render_pages(jobs, base_key, inputs, self.section_cache, self.processes)
        printed = [key for sections in rendered_sections for s in sections for key in s.facts]
        before = len(self.report.warnings)
        self._warn_stale(content.data, printed)
        stale_at = (before, len(self.report.warnings))
        return assemble(made, [page for page, _ in jobs], rendered_sections), rendered, printed, stale_at

    def convert(self, inputs: Fingerprint, config: Config, code: str, name: str, html: str) -> str:
        """The page `name` (index.html, 404.html) of the derived language `code`, converted from
        `html` (derive.py): a part keyed on the page, the language's profile and glossary, the UI
        strings (a text given for the derived language replaces the converted one) and the engine
        (OpenCC's version with it), so OpenCC is set up only when a page must be converted."""
        language = config.languages[code]
        key = digest("derived", code, html, language.locale, language.convert or "", language.glossary or "",
                     inputs.kinds["glossary"], inputs.kinds["strings"], inputs.kinds["engine"])

        def make() -> str:
            from zimage_site.derive import converter

            return converter(self.root, language).html(html, language.locale)

        return self.part(f"{DERIVED}{code}:{name}", key, make)

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
