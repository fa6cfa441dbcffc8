"""The built site as the rules see it: its files, its parsed pages and sitemap, the base path it is
served under, how a URL used on a page resolves to one of its files, and where findings go."""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import xml.parsers.expat
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urljoin
from urllib.parse import urlsplit as _urlsplit

from zimage_site.check.findings import CheckResult, Finding
from zimage_site.check.model import Page, SitemapEntry, parse_page, parse_sitemap

from zimage_site.errors import Problem, rel
from zimage_site.files import MAX_BYTES, kind_problem, name_problem

TEXT_SUFFIXES = (".html", ".css", ".xml", ".txt", ".js", ".json", ".svg")

_SKIP_SCHEMES = frozenset(("mailto", "tel", "javascript", "data", "blob", "sms", "geo", "about"))


def urlsplit(url: str) -> SplitResult:
    """urllib's urlsplit, which never raises: a URL it cannot split (a malformed IPv6 host,
    `https://[::1/`) has no parts here; the links rule reports it (`malformed`)."""
    try:
        return _urlsplit(url)
    except ValueError:
        return SplitResult("", "", "", "", "")


def malformed(url: str) -> str | None:
    """Why a URL of the output cannot be parsed as a browser would, or None."""
    try:
        _urlsplit(url)
    except ValueError as exc:
        return str(exc)
    return None


class BuiltSite:
    def __init__(self, out_dir: Path, root: Path, allow_placeholders: bool = False):
        self.out = out_dir
        self.root = root
        self.allow_placeholders = allow_placeholders
        self.result = CheckResult()
        self.today = dt.date.today()  # the day stale facts are measured against (--today)
        self.files: set[str] = set()
        self.dirs: set[str] = set()
        self.pages: dict[str, Page] = {}
        self.origin: tuple[str, str] | None = None  # (scheme, netloc)
        self.base = "/"
        self.sitemap: list[SitemapEntry] = []
        self.sitemap_display = rel(out_dir / "sitemap.xml", root)

    # -- the site's languages (site.yaml)
    def language_of(self, page):
        """The language of site.yaml whose locale the page's <html lang> names (None: no such
        language, or no readable site.yaml): the checks take its script and date format from it."""
        if not hasattr(self, "_languages"):
            from zimage_site.config import load_languages
            from zimage_site.errors import SiteError

            try:
                self._languages = {l.locale.lower(): l for l in load_languages(self.root).values()}
            except SiteError:
                self._languages = {}
        return self._languages.get((page.lang or "").lower())

    def page_date(self, page, day) -> str | None:
        """A date as the page prints it (its language's date_format UI string; None: unknown)."""
        language = self.language_of(page)
        if language is None:
            return None
        from zimage_site.errors import SiteError
        from zimage_site.render import format_date, load_strings

        try:
            strings = load_strings(self.root, [language.text_lang])[language.text_lang]
            return self.page_text(page, format_date(day, strings))
        except (SiteError, KeyError):
            return None

    def page_text(self, page, value: str) -> str:
        """A text of the data as the page prints it: converted on a derived language's page."""
        language = self.language_of(page)
        if language is None or not language.source:
            return value
        from zimage_site.derive import converter

        return converter(self.root, language).text(value)

    # -- reporting
    def add(self, level: str, rule: str, message: str, file: str | None = None, line: int | None = None,
            fix: str | None = None, key: str | None = None, subject: str | None = None) -> None:
        problem = Problem(message, file=file, line=line, fix=fix, key=key)
        if rule == "placeholder":
            problem.kind = "placeholder"  # the kind of warning that --allow-placeholders tolerates
        self.result.findings.append(Finding(level, rule, problem, subject))

    def error(self, rule: str, message: str, **kw: Any) -> None:
        self.add("error", rule, message, **kw)

    def warning(self, rule: str, message: str, **kw: Any) -> None:
        self.add("warning", rule, message, **kw)

    def display(self, relpath: str) -> str:
        return rel(self.out / relpath, self.root)

    # -- loading
    def load(self) -> bool:
        """List the output, parse its pages and sitemap, find the base path. False when there is
        no page to check (reported)."""
        from zimage_site.output import LAYOUT, is_layout

        # an output on a mount point shows the build that LAYOUT/current links to (output.py)
        top = self.out / LAYOUT / "current" if is_layout(self.out) else self.out
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not (dirpath == str(top) and d == LAYOUT)]
            reldir = Path(dirpath).relative_to(top).as_posix()
            prefix = "" if reldir == "." else reldir + "/"
            if prefix:
                self.dirs.add(prefix.rstrip("/"))
            for name in filenames:
                # only regular files of a sane size are read: a pipe or a link to /dev/zero in the
                # output would hang the check or exhaust the memory
                path = os.path.join(dirpath, name)
                shown = f"{rel(self.out, self.root)}/{prefix}{name}"  # (not resolved: it may be a link)
                problem = name_problem(shown, name) or kind_problem(path, shown)
                if problem is None and name.endswith(TEXT_SUFFIXES) and os.stat(path).st_size > MAX_BYTES:
                    problem = Problem(f"the file is larger than {MAX_BYTES >> 20} MiB, more than a built page can be",
                                      file=shown, fix="rebuild the site")
                if problem is not None:
                    self.error("site", problem.message, file=problem.file, fix=problem.fix)
                    continue
                self.files.add(prefix + name)
        for relpath in sorted(f for f in self.files if f.endswith(".html")):
            self.pages[relpath] = parse_page(self.out / relpath, self.out, self.root)
        self.result.pages = len(self.pages)
        if not self.pages:
            self.error("site", "the output folder holds no HTML page", file=rel(self.out, self.root),
                       fix="build the site first: zimage-site build")
            return False
        if "sitemap.xml" in self.files:
            try:
                self.sitemap = parse_sitemap(self.out / "sitemap.xml")
            except xml.parsers.expat.ExpatError as exc:
                self.error("sitemap", "the sitemap is not well-formed XML "
                                      f"({xml.parsers.expat.ErrorString(exc.code)})",
                           file=self.sitemap_display, line=exc.lineno, fix="rebuild the site")
        self._find_base()
        return True

    # -- base path and URL resolution
    @staticmethod
    def page_path(relpath: str) -> str:
        """The URL path (below the base) at which GitHub Pages serves an output file."""
        if relpath == "index.html":
            return ""
        if relpath.endswith("/index.html"):
            return relpath[: -len("index.html")]
        return relpath

    def _find_base(self) -> None:
        """The origin and base path, from the pages' canonical URLs, else from the sitemap."""
        candidates: list[tuple[str, str, str]] = []  # (scheme, netloc, base)
        for relpath, page in sorted(self.pages.items(), key=lambda kv: (kv[0] != "index.html", kv[0])):
            if page.canonical is None:
                continue
            parts = urlsplit(page.canonical[0])
            if not parts.scheme or not parts.netloc:
                continue
            suffix = self.page_path(relpath)
            path = parts.path or "/"
            if suffix and path.endswith("/" + suffix):
                candidates.append((parts.scheme, parts.netloc.lower(), path[: len(path) - len(suffix)]))
            elif not suffix and path.endswith("/"):
                candidates.append((parts.scheme, parts.netloc.lower(), path))
        if not candidates and self.sitemap:
            locs = [urlsplit(e.loc) for e in self.sitemap if e.loc]
            locs = [p for p in locs if p.scheme and p.netloc]
            if locs:
                top = min(locs, key=lambda p: len(p.path or "/"))
                path = top.path or "/"
                candidates.append((top.scheme, top.netloc.lower(), path if path.endswith("/") else
                                   path.rsplit("/", 1)[0] + "/"))
        if candidates:
            scheme, netloc, base = candidates[0]
            self.origin = (scheme, netloc)
            self.base = base if base.endswith("/") else base + "/"

    def site_url(self, relpath: str) -> str | None:
        if self.origin is None:
            return None
        return f"{self.origin[0]}://{self.origin[1]}{self.base}{self.page_path(relpath)}"

    def resolve(self, url: str, page: Page) -> tuple[str, Any]:
        """Classify a URL used on a page.

        Returns ("skip", None), ("external", None), ("outside", path),
        ("missing", path), or ("ok", (relpath or None, fragment)).
        """
        url = url.strip()
        if malformed(url):
            return "malformed", None
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in _SKIP_SCHEMES or (scheme and scheme not in ("http", "https")):
            return "skip", None
        if not url or url.startswith("?"):
            return "ok", (page.relpath, "")
        if scheme or parts.netloc:
            if self.origin is None or parts.netloc.lower() != self.origin[1]:
                return "external", None
            path = parts.path or "/"
        elif url.startswith("#"):
            return "ok", (page.relpath, unquote(parts.fragment))
        elif url.startswith("/"):
            path = parts.path
        else:
            here = self.base + self.page_path(page.relpath)
            path = urljoin("http://x" + here, parts.path).partition("http://x")[2] or "/"
        path = unquote(path)
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        # `/repo` (without the slash) redirects to `/repo/` on GitHub Pages
        if not path.startswith(self.base) and path + "/" != self.base:
            return "outside", path
        target = path[len(self.base):] if path.startswith(self.base) else ""
        target = posixpath.normpath(target) if target else ""
        if target in (".", ""):
            target = ""
        elif path.endswith("/"):
            target += "/"
        if target.startswith("../") or target == "..":
            return "outside", path
        relpath = self.file_for(target)
        if relpath is None:
            return "missing", path
        return "ok", (relpath, unquote(parts.fragment))

    def resolve_absolute(self, url: str) -> tuple[str, Any]:
        """Resolve an absolute URL (the sitemap's, robots.txt's); the status is "ok" or a phrase
        that ends the sentence "… is <status>"."""
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc:
            return "not an absolute URL", None
        if self.origin is not None and parts.netloc.lower() != self.origin[1]:
            return f"not on the site's origin ({self.origin[0]}://{self.origin[1]})", None
        status, value = self.resolve(url, Page(self.out / "index.html", "index.html", ""))
        if status == "ok":
            return status, value
        if status == "outside":
            return f"outside the base path {self.base}", None
        if status == "missing":
            return "a page missing from the output", None
        return "not on the site's origin", None

    def file_for(self, target: str) -> str | None:
        if target == "" or target.endswith("/"):
            candidate = target + "index.html"
            return candidate if candidate in self.files else None
        if target in self.files:
            return target
        if target in self.dirs and target + "/index.html" in self.files:
            return target + "/index.html"
        if target + ".html" in self.files:
            return target + ".html"
        return None
