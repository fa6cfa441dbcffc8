"""The build pipeline: config → content → images → render → write, each phase named and timed.

    site = Site(root, base_url=..., strict=...)
    result = site.build(out)          # atomic; raises SiteError and leaves `out` untouched
    result = site.rebuild(out, changed_paths)   # the same, redoing only what the changed files feed

`build_site(...)` is the one-call form used by the CLI and the tests.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import jinja2

from zimage_site.assets import build_assets
from zimage_site.check.anchors import Anchor, broken_anchors
from zimage_site.config import Config, load_config
from zimage_site.content import Section, load_sections
from zimage_site.data import Data, load_data
from zimage_site.errors import Problem, Report, SiteError
from zimage_site.markdown import MarkdownRenderer, SectionRender
from zimage_site.output import check_output_dir, link_files, list_files, staging
from zimage_site.render import (PageContext, alternates, load_strings, make_environment, number_sources,
                                robots, sitemap, structured_data)
_ID_ATTR = re.compile(r'\sid="([^"]+)"')


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
                 allow_placeholders: bool = False, hash_assets: bool = True, inject_html: str = "") -> None:
        self.root = Path(root)
        self.base_url = base_url
        self.strict = strict
        self.allow_placeholders = allow_placeholders
        self.hash_assets = hash_assets
        self.inject_html = inject_html
        self.report = Report()
        self.timings: dict[str, float] = {}
        self.config: Config
        self.data: Data
        self.sections: dict[str, list[Section]]
        self.strings: dict[str, dict[str, str]]
        self.jinja: jinja2.Environment
        self.images = None
        # What a rebuild reuses from the last successful build (see rebuild()).
        self._out: Path | None = None                  # its output folder
        self._stale: set[str] | None = None            # parts to redo besides the changed ones; None: all
        self._assets: dict[str, str] = {}              # asset URLs
        self._produced: dict[str, set[str]] = {}       # output files written by the assets and images phases
        self._warnings: dict[str, list[Problem]] = {}  # warnings of the parts that may be reused
        self._sections: dict[tuple, tuple] = {}        # rendered sections, by language, path and source

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    @contextmanager
    def collect(self, part: str, redo: bool = True) -> Iterator[None]:
        """Record the warnings of one reusable part; when it is reused (not redone), repeat them."""
        if not redo:
            for w in self._warnings.get(part, []):
                self.report.warn(w)
            yield
            return
        main, self.report = self.report, Report()
        try:
            yield
        finally:
            self._warnings[part], self.report = self.report.warnings, main
            for w in self._warnings[part]:
                main.warn(w)

    # -- phases
    def load(self, parts: set[str] | None = None) -> None:
        """Load the sources; with `parts` (see affected_parts), reload only those, keeping the rest."""
        from zimage_site.images import ImageCatalog

        def redo(part: str) -> bool:
            return parts is None or part in parts

        if parts is None:
            with self.phase("config"):
                self.config = load_config(self.root, self.report)
                if self.base_url:
                    self.config = self.config.with_base_url(self.base_url)
                self._check_static_files()
        elif "assets" in parts:
            self._check_static_files()
        with self.phase("content"):
            languages = list(self.config.languages)
            with self.collect("data", redo("data")):
                if redo("data"):
                    self.data = load_data(self.root, self.report)
            with self.collect("sections", redo("sections")):
                if redo("sections"):
                    self.sections = load_sections(self.root, languages, self.config.default_language, self.report)
            if redo("templates"):
                self.strings = load_strings(self.root, languages)
                self.jinja = make_environment(self.root)
            self._check_nav()
        with self.phase("images"), self.collect("catalog", redo("images")):
            if redo("images"):
                self.images = ImageCatalog.load(self.root, self.report)

    def _check_static_files(self) -> None:
        problems = [Problem(f"static/{name} does not exist", file="site.yaml", key=key,
                            fix=f"add the file under static/ or point {key} at an existing one")
                    for key, name in (("social_image", self.config.social_image), ("favicon", self.config.favicon))
                    if not (self.root / "static" / name).is_file()]
        if problems:
            raise SiteError(problems)

    def _check_nav(self) -> None:
        ids = {s.id for s in self.sections[self.config.default_language]}
        unknown = [n for n in self.config.nav if n not in ids]
        if unknown:
            raise SiteError(Problem(f"nav lists unknown sections: {', '.join(unknown)}", file="site.yaml", key="nav",
                                    fix=f"use section ids: {', '.join(s.id for s in self.sections[self.config.default_language])}"))

    def render(self, out: Path, parts: set[str] | None = None) -> None:
        """Render every output file into `out` (an empty folder). With `parts`, the assets and images
        whose sources did not change are linked from the previous output instead of being made again."""
        def reuse(part: str) -> bool:
            return parts is not None and part not in parts and part in self._produced

        with self.phase("assets"):
            if reuse("assets"):
                link_files(self._out, out, self._produced["assets"])
                assets = self._assets
            else:
                self._produced.pop("assets", None)
                assets = build_assets(self.root, out, self.config.base_path, hash_names=self.hash_assets)
                self._produced["assets"] = list_files(out)
            if assets != self._assets:
                self._sections.clear()  # blocks may link assets
            self._assets = assets
        with self.phase("images"), self.collect("publish", not reuse("images")):
            if reuse("images"):
                link_files(self._out, out, self._produced["images"])
            else:
                self._produced.pop("images", None)
                before = list_files(out)
                self.images.publish(out, self.config.base_path, self.report, allow_placeholders=self.allow_placeholders or not self.strict)
                self._produced["images"] = list_files(out) - before
        with self.phase("render"):
            markdown = MarkdownRenderer()
            pages = {}
            for lang in self.config.languages:
                pages[lang] = self.render_page(lang, assets, markdown)
            self.render_404(assets)
        with self.phase("write"):
            for lang, html in pages.items():
                target = out / self.config.languages[lang].path / "index.html"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(html, encoding="utf-8")
            (out / "404.html").write_text(self._404, encoding="utf-8")
            (out / "sitemap.xml").write_text(sitemap(self.config, _lastmod()), encoding="utf-8")
            (out / "robots.txt").write_text(robots(self.config), encoding="utf-8")
            (out / ".nojekyll").write_text("", encoding="utf-8")

    def page_context(self, lang: str, assets: dict[str, str]) -> PageContext:
        return PageContext(lang=lang, config=self.config, data=self.data, images=self.images, report=self.report,
                           strings=self.strings[lang], jinja=self.jinja, assets=assets, root=self.root,
                           sections=self.sections[lang])

    def render_page(self, lang: str, assets: dict[str, str], markdown: MarkdownRenderer) -> str:
        page = self.page_context(lang, assets)
        anchors: list[tuple[Section, str, int]] = []
        faq: list[dict] = []
        for section in page.sections:
            result = self.render_section(section, page, markdown)
            anchors.extend((section, target, line) for target, line in result.anchors)
            faq.extend(result.faq)
        context = {
            "sections": page.sections,
            "nav": [s for s in page.sections if s.id in self.config.nav],
            "alternates": alternates(self.config),
            "canonical": self.config.page_url(lang),
            "json_ld": structured_data(page, faq),
            "live_reload": self.inject_html,
        }
        html = page.partial("page.html", **context)
        html, sources = number_sources(html, page)
        html = html.replace("<!--SOURCES-->", page.partial("sources.html", sources=sources))
        self._check_anchors(html, anchors, page.sections)
        return html

    def render_section(self, section: Section, page: PageContext, markdown: MarkdownRenderer) -> SectionRender:
        """Render one section, or reuse its last rendering when its source is unchanged (the cache is
        emptied whenever anything else a section depends on changes)."""
        key = (section.lang, str(section.path), section.source)
        cached = self._sections.get(key)
        if cached is None:
            main, page.report = page.report, Report()
            try:
                result = markdown.render_section(section, page)
            finally:
                warnings, page.report = page.report.warnings, main
                for w in warnings:
                    main.warn(w)
            cached = self._sections[key] = (section.lead_html, section.rest_html, section.faq, result, warnings)
        else:
            section.lead_html, section.rest_html, section.faq = cached[:3]
            for w in cached[4]:
                page.report.warn(w)
        return cached[3]

    def render_404(self, assets: dict[str, str]) -> None:
        page = self.page_context(self.config.default_language, assets)
        self._404 = page.partial("404.html", alternates=alternates(self.config), live_reload=self.inject_html,
                                 other=[self.page_context(code, assets) for code in self.config.languages
                                        if code != self.config.default_language])

    @staticmethod
    def _check_anchors(html: str, anchors: list[tuple[Section, str, int]], sections: list[Section]) -> None:
        if not anchors:
            return
        ids = set(_ID_ATTR.findall(html))
        known = ", ".join(s.id for s in sections)
        problems = [Problem(f"link to #{b.anchor.target}: no section or heading on the page has that id",
                            file=b.anchor.origin.file, line=b.anchor.line,
                            fix=f"link to an existing id, e.g. a section: {known}")
                    for b in broken_anchors((Anchor(target, line, section) for section, target, line in anchors), ids)]
        if problems:
            raise SiteError(problems)

    # -- the whole build
    def build(self, out: Path) -> BuildResult:
        return self._build(out, None)

    def rebuild(self, out: Path, changed: Iterable[Path]) -> BuildResult:
        """Build again after the files in `changed` were edited, redoing only what they feed and reusing
        the rest of the last successful build: its loaded sources, rendered sections and output files
        (linked into the new output, never modified). Atomic like build(). The first build, and one
        after site.yaml or an unknown file changed, is a full build."""
        parts = affected_parts(self.root, changed)
        if parts is None or self._stale is None or self._out is None or not self._out.is_dir():
            return self._build(out, None)
        return self._build(out, parts | self._stale)

    def _build(self, out: Path, parts: set[str] | None) -> BuildResult:
        start = time.perf_counter()
        self.report = Report()
        self.timings = {}
        if parts is None:
            self._produced.clear()
            self._sections.clear()
        elif parts - {"sections", "assets"}:
            self._sections.clear()  # data, templates and images feed every section
        self._stale = parts  # until this build succeeds, what it redoes stays to be redone
        self.load(parts)
        check_output_dir(out, self.root)
        with staging(out) as tmp:
            self.render(tmp, parts)
            self._enforce_strict()
        self._out, self._stale = out, set()
        counts = getattr(self.images, "counts", {}) or {}
        return BuildResult(out=out, languages=list(self.config.languages),
                           sections={lang: len(s) for lang, s in self.sections.items()},
                           images=counts.get("images", 0), placeholders=counts.get("placeholders", 0),
                           warnings=list(self.report.warnings), seconds=time.perf_counter() - start,
                           timings=dict(self.timings))

    def _enforce_strict(self) -> None:
        if not self.strict:
            return
        failing = [w for w in self.report.warnings if not (self.allow_placeholders and w.kind == "placeholder")]
        if failing:
            for w in failing:
                w.fix = (w.fix + "; " if w.fix else "") + "this is an error because of --strict"
            raise SiteError(failing)


def affected_parts(root: Path, changed: Iterable[Path]) -> set[str] | None:
    """The parts of the site that the changed files feed: "data", "sections", "templates", "assets",
    "images"; None when everything must be reloaded (site.yaml, or a file of no known part)."""
    parts = set()
    root = Path(os.path.abspath(root))
    for path in changed:
        try:
            name = Path(os.path.abspath(path)).relative_to(root).as_posix()
        except ValueError:
            return None
        if name.startswith("content/data/"):
            parts.add("data")
        elif name == "content/images.yaml" or name.startswith("images/"):
            parts.add("images")
        elif name.startswith("content/"):
            parts.add("sections")
        elif name.startswith("templates/"):
            parts.add("templates")
        elif name.startswith("static/"):
            parts.add("assets")
        else:
            return None
    return parts


def _lastmod() -> str | None:
    """The sitemap's <lastmod>: from SOURCE_DATE_EPOCH when set (CI sets it from the last commit),
    else none, so that a rebuild of unchanged sources is byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()
    return None


def build_site(root: Path, out: Path | None = None, **options) -> BuildResult:
    root = Path(root)
    return Site(root, **options).build(Path(out) if out else root / "build")
