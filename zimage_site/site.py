"""The build pipeline: config → content → images → render → write, each phase named and timed.

    site = Site(root, base_url=..., strict=...)
    result = site.build(out)          # atomic; raises SiteError and leaves `out` untouched
    result = site.rebuild(out, changed_paths)   # the same build again: it redoes what changed

Each phase returns what the next one consumes and never writes into an earlier phase's values:

    inputs ─▶ config ─▶ content ──────────▶ images ──────────▶ render ─────────▶ write
    Fingerprint  Config   Sections, Data,     image files to      Pages (HTML),      Writer: pages,
                          UI strings, Jinja   publish + views     assets, sitemap    assets, images

Every part is keyed on the digests of the inputs that feed it (`inputs.FEEDS`) and reused when
its key is unchanged: in memory across the builds of one `Site` (the live preview) and, for
rendered sections, on disk in `.cache/` across processes (`cache.SectionCache`).

`build_site(...)` is the one-call form used by the CLI and the tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from zimage_site.cache import SectionCache, Unstorable, decode, encode, read_signed, write_signed
from zimage_site.anchors import Anchor, broken_anchors
from zimage_site.config import Config, load_config
from zimage_site.content import CONTENT_DIR, Section, load_sections, parse_section
from zimage_site.data import missing_texts, load_data
from zimage_site.errors import ContentError, Problem, Report, SiteError
from zimage_site.files import MAX_STATIC, read_bytes
from zimage_site.fragments import Page, SectionHTML
from zimage_site.inputs import Fingerprint, digest, fingerprint
from zimage_site.render import (Citations, PageContext, alternates, load_strings, make_environment, robots,
                                sitemap, structured_data)
from zimage_site.writer import OutputFile, writing


# Parts kept in .cache/ for the next process (values that only YAML parsing makes, and the images
# phase's result); keyed like in memory, on the digests of their inputs and the engine.
PERSISTED = ("config", "data", "sections", "strings", "catalog", "images")
PARTS_FILE = ".cache/parts.json"
PARTS_FORMAT = 1
ASSET_VERSIONS = 4


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
class Assets:
    """The assets phase's result: URLs by logical name, and the files to publish."""

    urls: dict[str, str]
    files: list[OutputFile]


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
        # parts of earlier builds, by part name: (key, value, warnings)
        self._parts: dict[Any, tuple[str, Any, list[Problem]]] = {}
        self._loaded_parts = False
        self._cache = SectionCache(self.root)
        self._tmp: tempfile.TemporaryDirectory | None = None

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def _load_parts(self) -> None:
        """The parts of the last build in another process (.cache/parts.json, see PERSISTED): JSON
        of a closed list of types (cache.encode), read by files.read_bytes like any input."""
        self._loaded_parts = True
        try:
            raw = read_signed(self.root / PARTS_FILE)  # signed with this user's key: a planted file is ignored
            if raw is None:
                return
            stored = json.loads(raw)
            if stored.get("format") != PARTS_FORMAT or stored.get("root") != str(self.root.resolve()):
                return
            parts = {}
            for name, entry in stored["parts"].items():
                try:
                    parts[name] = decode(entry)
                except Exception:  # noqa: BLE001  a part the engine cannot read: made again
                    continue
        except Exception:  # noqa: BLE001  none yet, unreadable, or written by another version: made again
            return
        files = parts.get("images", (None, [], None))[1]
        try:
            if not all(Path(item.source).is_file() for item in files):  # .cache/variants/ was emptied
                parts.pop("images", None)
                parts.pop("catalog", None)
        except Exception:  # noqa: BLE001
            parts.pop("images", None)
        for name, value in parts.items():
            if isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], str):
                self._parts.setdefault(name, value)

    def _save_parts(self, made: set) -> None:
        if not made & set(PERSISTED):
            return
        parts = {}
        for name in PERSISTED:
            if name in self._parts:
                try:
                    parts[name] = encode(self._parts[name])
                except Unstorable:  # a value of a type the format does not hold: made again next time
                    continue
        try:
            data = json.dumps({"format": PARTS_FORMAT, "root": str(self.root.resolve()), "parts": parts},
                              ensure_ascii=False, separators=(",", ":"))
            write_signed(self.root / PARTS_FILE, data.encode("utf-8"), ".parts-")
        except OSError:
            pass  # a read-only checkout: the next build makes them again

    def part(self, name: Any, key: str, make: Callable[[], Any]) -> Any:
        """The value of one part of the build: the last one made under the same key, or a new one.
        Its warnings are recorded with it and repeated whenever it is reused."""
        known = self._parts.get(name)
        if known is not None and known[0] == key:
            for w in known[2]:
                self.report.warn(w)
            return known[1]
        main, self.report = self.report, Report()
        try:
            value = make()
        finally:
            warnings, self.report = self.report.warnings, main
            for w in warnings:
                main.warn(w)
        self._parts[name] = (key, value, warnings)
        self._made.add(name)
        return value

    # -- the whole build
    def build(self, out: Path) -> BuildResult:
        start = time.perf_counter()
        self.report = Report()
        self.timings = {}
        self._made: set = set()
        with self.phase("config"):
            if not self._loaded_parts:
                self._load_parts()
            inputs = fingerprint(self.root, self.base_url or "")
            config = self.load_config(inputs)
        with self.phase("content"):
            content = self.load_content(inputs, config)
        with self.phase("images"):
            catalog, image_files = self.load_images(inputs, config)
        with self.phase("assets"):
            assets = self.load_assets(inputs, config)
        with self.phase("render"):
            pages, rendered = self.render(inputs, config, content, catalog, assets)
        with self.phase("write"), writing(out, self.root) as writer:
            for page in pages:
                writer.text(page.path, page.text)
            writer.files(assets.files)
            writer.files(image_files)
            writer.text(".nojekyll", "")
            self._enforce_strict()
        self._cache.save()
        self._save_parts(self._made)
        counts = catalog.counts if catalog is not None else {}
        return BuildResult(out=out, languages=list(config.languages),
                           sections={lang: len(s) for lang, s in self.sections.items()},
                           images=counts.get("images", 0), placeholders=counts.get("placeholders", 0),
                           warnings=list(self.report.warnings), seconds=time.perf_counter() - start,
                           timings=dict(self.timings), rendered=rendered,
                           reused=sum(map(len, self.sections.values())) - rendered)

    def rebuild(self, out: Path, changed: Iterable[Path] = ()) -> BuildResult:
        """Build again after files changed: every part whose inputs did not change is reused, so
        this is a full build that skips work (`changed` is not needed; kept for callers)."""
        return self.build(out)

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
        from zimage_site.images import ImageCatalog

        from zimage_site.images.catalog import _TEST_IMAGES

        # test images (tests/fixture_store.py) are let in only by the tests: part of the key
        catalog = self.part("catalog", inputs.key("catalog", str(_TEST_IMAGES.get())),
                            lambda: ImageCatalog.load(self.root, self.report))
        allow = self.allow_placeholders or not self.strict
        files = self.part("images", inputs.key("images", config.base_path, str(allow), str(_TEST_IMAGES.get())),
                          lambda: catalog.prepare(config.base_path, self.report, allow_placeholders=allow,
                                                  aigc=config.aigc))
        self.images = catalog
        return catalog, files

    # -- assets
    def load_assets(self, inputs: Fingerprint, config: Config) -> Assets:
        key = inputs.key("assets", config.base_path, str(self.hash_assets))
        return self.part("assets", key, lambda: self._make_assets(key, config))

    def _make_assets(self, key: str, config: Config) -> Assets:
        """The assets, made once per key into .cache/assets/<key>/ (a private temporary folder
        where .cache/ cannot be written), then published from there.

        The folder is content-addressed (its key digests everything it is made from), so it is
        published once, atomically (a rename of a complete folder), and never changed: builds of
        the same site running at once each make it in a folder of their own, the first rename wins,
        and the others use the winner's (theirs is the same) and remove their own. Its manifest
        (the URLs, and the SHA-256 of every file) is signed with this user's key: a folder planted
        in .cache/, or changed since, is made again rather than published."""
        folder = self.root / ".cache" / "assets" / key
        made = self._asset_manifest(folder)
        if made is None:
            try:
                folder.parent.mkdir(parents=True, exist_ok=True)
                self._prune_assets(folder.parent, keep=key)
            except OSError:
                if self._tmp is None:
                    self._tmp = tempfile.TemporaryDirectory(prefix="zimage-site-assets-")
                folder = Path(self._tmp.name) / key
            made = self._asset_manifest(folder)
        if made is None:
            from zimage_site.assets import build_assets

            work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
            try:
                urls = build_assets(self.root, work, config.base_path, hash_names=self.hash_assets)
                files = {path.relative_to(work).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
                         for path in sorted((work / "assets").rglob("*")) if path.is_file()}
                write_signed(work / "manifest.json", json.dumps({"urls": urls, "files": files}, sort_keys=True)
                             .encode("utf-8"), ".manifest-")
                if os.path.lexists(folder):  # not a folder this user's builds made: set aside, removed
                    aside = folder.with_name(f".{key}-untrusted-{os.getpid()}")
                    os.rename(folder, aside)
                    shutil.rmtree(aside, ignore_errors=True)
                try:
                    os.rename(work, folder)  # a folder in place is never replaced (another build's)
                except OSError:
                    if self._asset_manifest(folder) is None:  # not published by another build: a failure
                        raise
            finally:
                shutil.rmtree(work, ignore_errors=True)
            made = self._asset_manifest(folder)
            if made is None:
                raise SiteError(Problem("the assets cannot be kept in .cache/assets/", file=".cache/assets",
                                        fix="delete .cache/ (the next build makes it again)"))
        urls, files = made
        return Assets(urls, [OutputFile(name, folder / name) for name in sorted(files)])

    @staticmethod
    def _asset_manifest(folder: Path) -> tuple[dict, dict] | None:
        """(URLs, files) of an asset folder this user's builds made and nobody changed, else None."""
        data = read_signed(folder / "manifest.json", limit=16 << 20)
        if data is None:
            return None
        try:
            manifest = json.loads(data)
            urls, files = manifest["urls"], manifest["files"]
            for name, sha in files.items():
                if hashlib.sha256(read_bytes(None, folder / name, name, limit=MAX_STATIC)).hexdigest() != sha:
                    return None
        except (SiteError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return urls, files

    @staticmethod
    def _prune_assets(parent: Path, keep: str) -> None:
        """Remove old asset folders: the newest few are kept (a build and a preview, two base
        URLs), and none younger than an hour (a build running now may be publishing from it)."""
        dated = []
        for entry in os.scandir(parent):
            try:
                dated.append((entry.stat(follow_symlinks=False).st_mtime, entry.name))
            except OSError:  # removed meanwhile by another build
                continue
        dated.sort(reverse=True)
        now = time.time()
        for mtime, name in dated[ASSET_VERSIONS:]:
            if name != keep and now - mtime > 3600:
                shutil.rmtree(parent / name, ignore_errors=True)

    # -- render
    def page_context(self, lang: str, config: Config, content: "Content", catalog, assets: Assets) -> PageContext:
        return PageContext(lang=lang, config=config, data=content.data, images=catalog, report=self.report,
                           strings=content.strings[lang], jinja=content.jinja, assets=assets.urls, root=self.root)

    def render(self, inputs: Fingerprint, config: Config, content: "Content", catalog,
               assets: Assets) -> tuple[list[Page], int]:
        """Render every page; return them and the number of sections rendered (not reused)."""
        from zimage_site.render_sections import render_pages

        base_key = inputs.key("html", json.dumps(assets.urls, sort_keys=True))
        self._cache.start()
        # a derived page renders its source's sections in its source's language (the same HTML,
        # from the cache): derive.py converts the whole page afterwards
        jobs = [(self.page_context(lang, config, content, catalog, assets), content.sections[lang])
                for lang in config.languages]
        rendered_sections, rendered = render_pages(self, jobs, base_key, inputs)
        self._warn_stale(content.data, [key for sections in rendered_sections for s in sections for key in s.facts])
        pages: list[Page] = []
        for (page, _), sections in zip(jobs, rendered_sections):
            page.sections = sections
            self._check_anchors(sections)
            faq = [q for s in sections for q in s.faq]
            html = page.partial("page.html", sections=sections,
                                nav=[s for s in sections if s.id in config.nav],
                                alternates=alternates(config), canonical=config.page_url(page.lang),
                                json_ld=structured_data(page, faq), live_reload=self.inject_html)
            language = config.languages[page.lang]
            if language.source:
                from zimage_site.derive import converter

                html = converter(self.root, language).html(html, language.locale)
            pages.append(Page(config.languages[page.lang].path + "index.html", html))
        default = config.default_language
        page = self.page_context(default, config, content, catalog, assets)
        others = [self.page_context(code, config, content, catalog, assets) for code in config.languages if code != default]
        not_found = page.partial("404.html", alternates=alternates(config), live_reload=self.inject_html, other=others)
        for other in others:  # the derived languages' parts of the page (marked with their lang)
            language = config.languages[other.lang]
            if language.source:
                from zimage_site.derive import converter

                not_found = converter(self.root, language).html(not_found, language.locale)
        pages.append(Page("404.html", not_found))
        pages.append(Page("sitemap.xml", sitemap(config, _lastmod())))
        pages.append(Page("robots.txt", robots(config)))
        return pages, rendered

    def section_key(self, base_key: str, inputs: Fingerprint, section: Section, citations: Citations) -> str:
        """Everything one section's HTML depends on (see inputs.FEEDS), and the sources the page
        numbered before it."""
        return digest(base_key, section.lang, section.file, inputs.files.get(section.file, section.source),
                       "\x1f".join(citations.order))

    @staticmethod
    def _check_anchors(sections: list[SectionHTML]) -> None:
        """Every #link of the content names a section or an id the content defines (heading
        anchors, {#id} attributes): both come from the token stream; the rule is check's."""
        ids = {s.id for s in sections}
        for s in sections:
            ids.update(s.ids)
        known = ", ".join(s.id for s in sections)
        anchors = (Anchor(link.target, link.line, s) for s in sections for link in s.links)
        problems = [Problem(f"link to #{b.anchor.target}: no section or heading on the page has that id",
                            file=b.anchor.origin.file, line=b.anchor.line,
                            fix=f"link to an existing id, e.g. a section: {known}")
                    for b in broken_anchors(anchors, ids)]
        if problems:
            raise SiteError(problems)

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


@dataclass
class Content:
    """The content phase's result."""

    sections: dict[str, list[Section]]
    data: Any
    strings: dict[str, dict[str, str]]
    jinja: Any


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
