"""The page model: what the checks need from one built page, read with a real HTML parser (lxml),
and the sitemap's entries (expat). Every item keeps the line it comes from.

The markup names the model looks for (facts, citations, the source list, pending images) come from
`zimage_site.markup`, the module the templates use to write them.
"""

from __future__ import annotations

import json
import re
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from zimage_site import markup
from zimage_site.errors import rel
from zimage_site.files import read_bytes

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"

# Elements whose text a reader never sees.
INVISIBLE = frozenset(("script", "style", "template"))
URL_ATTRS = ("href", "src", "poster", "xlink:href")
META_URLS = frozenset(("og:image", "og:image:url", "og:image:secure_url", "og:url", "twitter:image"))
META_TEXT = frozenset(("description", "og:description", "og:title", "twitter:description"))
TEXT_ATTRS = ("alt", "title", "aria-label", "placeholder")
# JSON-LD properties that point to a resource (not "@id", a node identifier that need not resolve).
JSONLD_URL_KEYS = frozenset(("url", "image", "logo", "contentUrl", "thumbnailUrl", "sameAs", "mainEntityOfPage"))

_PLACEHOLDER_TEXT = re.compile(
    r"(?<![A-Za-z0-9_])(TODO|TBD|FIXME)(?![A-Za-z0-9_])|lorem\s+ipsum", re.IGNORECASE)
_PLACEHOLDER_CASE = re.compile(r"TODO|TBD|FIXME|lorem\s+ipsum", re.IGNORECASE)


@dataclass
class Link:
    url: str
    line: int
    what: str  # how the page uses it: 'a href', 'img src', 'meta og:image', …
    kind: str = "link"  # link | fact-src | alternate | canonical | meta | jsonld


@dataclass
class FactRef:
    key: str
    line: int
    text: str | None  # the shown value (for inline `.fact` elements), None for stat cards


@dataclass
class CheckedRef:
    """A fact's check date as printed ({checked}`key`): `<time datetime="…" data-checked="key">`."""

    key: str
    line: int
    datetime: str
    text: str = ""


@dataclass
class FactSrc:
    source: str | None  # the id after #source-, None when the link is not of that form
    href: str
    label: str
    line: int
    fact: str | None  # the fact key this citation belongs to


@dataclass
class SourceItem:
    source: str
    line: int
    index: int  # 1-based position in the list
    url: str | None = None


@dataclass
class GeneratedImage:
    """A generated image shown on a page: its figure (`data-image`, not pending), the URLs of its
    files (`<img src>`, every `srcset`), and whether it carries its visible AI label."""

    id: str
    line: int
    urls: list[str] = field(default_factory=list)
    labelled: bool = False


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
    sections: list[tuple[str, int]] = field(default_factory=list)  # <section id> in <main>
    images: list[tuple[dict[str, str | None], int]] = field(default_factory=list)
    pending: list[tuple[str, str, int]] = field(default_factory=list)  # (tag, image id, line)
    placeholder_text: list[tuple[str, int]] = field(default_factory=list)
    facts: list[FactRef] = field(default_factory=list)
    checked: list[CheckedRef] = field(default_factory=list)
    chart_facts: list[tuple[str, int]] = field(default_factory=list)  # (fact key, line) of data-facts
    fact_srcs: list[FactSrc] = field(default_factory=list)
    sources: list[SourceItem] = field(default_factory=list)
    noindex: bool = False
    jsonld_errors: list[tuple[str, int]] = field(default_factory=list)
    generated: list[GeneratedImage] = field(default_factory=list)

    @property
    def is_error_page(self) -> bool:
        return Path(self.relpath).name == "404.html"


def _classes(attrs: dict[str, str | None]) -> list[str]:
    return (attrs.get("class") or "").split()


class _Reader:
    """Walks the parsed tree in document order (start and end of every element, then its text)
    and fills a Page. The parser settled the structure (omitted end tags, nesting); this only
    keeps the context a few rules need: inside <main>, inside a fact, a citation, the source list."""

    def __init__(self, page: Page):
        self.page = page
        self.line = 1
        self.invisible = 0
        self.in_main = 0
        self.fact_stack: list[tuple[FactRef, list[str] | None]] = []
        self.last_fact: str | None = None
        self.fact_src: FactSrc | None = None
        self.checked: CheckedRef | None = None
        self.fact_src_text: list[str] | None = None
        self.sources_depth = 0
        self.source_item: SourceItem | None = None
        self.flags: list[set[str]] = []
        self.generated: GeneratedImage | None = None

    def read(self, root) -> None:
        from lxml import etree

        for event, el in etree.iterwalk(root, events=("start", "end")):
            if not isinstance(el.tag, str):  # a comment or processing instruction: only its tail counts
                if event == "end":
                    self.line += (el.text or "").count("\n")
                    self.data(el.tail)
                continue
            if event == "start":
                if el.sourceline:
                    self.line = el.sourceline
                self.start(el.tag.lower(), {k.lower(): v for k, v in el.attrib.items()}, el)
                self.data(el.text)
            else:
                self.end(self.flags.pop())
                self.data(el.tail)

    # -- elements
    def start(self, tag: str, attrs: dict[str, str | None], el) -> None:
        page, line = self.page, self.line
        classes = _classes(attrs)
        flags: set[str] = set()
        self.flags.append(flags)  # events are well nested: end() pops them
        if tag == "html":
            page.lang = (attrs.get("lang") or "").strip() or None
            page.lang_line = line
        ident = attrs.get("id")
        if ident is not None:
            self._add_id(ident, line)
        if tag == "a" and attrs.get("name"):
            self._add_id(attrs["name"] or "", line)

        self._links(tag, attrs, line)
        if tag == "meta":
            prop = (attrs.get("property") or attrs.get("name") or "").strip().lower()
            content = attrs.get("content")
            if prop in META_URLS and content:
                page.links.append(Link(content, line, f"meta {prop}", "meta"))
            if prop == "robots" and "noindex" in (content or "").lower():
                page.noindex = True
            if prop in META_TEXT and content:
                self.scan_text(content, line)

        if tag == "img":
            page.images.append((attrs, line))
        for name in TEXT_ATTRS:
            if attrs.get(name):
                self.scan_text(attrs[name] or "", line)
        if markup.PENDING_ATTR in attrs:
            page.pending.append((tag, attrs.get(markup.IMAGE_ATTR) or "", line))
        elif tag == "figure" and markup.IMAGE_ATTR in attrs and self.generated is None:
            flags.add("generated")
            self.generated = GeneratedImage(attrs.get(markup.IMAGE_ATTR) or "", line)
        if self.generated is not None:
            if markup.AI_LABEL_ATTR in attrs and not self.invisible:
                self.generated.labelled = True
            if tag == "img" and attrs.get("src"):
                self.generated.urls.append((attrs.get("src") or "").strip())
            if tag in ("img", "source") and attrs.get("srcset"):
                self.generated.urls.extend(srcset_urls(attrs.get("srcset") or ""))

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
            self._jsonld(el.text or "", line)

        if attrs.get(markup.FACT_ATTR) is not None:
            ref = FactRef((attrs.get(markup.FACT_ATTR) or "").strip(), line, None)
            page.facts.append(ref)
            flags.add("fact")
            self.fact_stack.append((ref, [] if markup.FACT_CLASS in classes else None))
        if attrs.get(markup.CHECKED_ATTR) is not None:
            self.checked = CheckedRef((attrs.get(markup.CHECKED_ATTR) or "").strip(), line,
                                      (attrs.get("datetime") or "").strip())
            page.checked.append(self.checked)
            flags.add("checked")
        if attrs.get(markup.FACTS_ATTR):
            page.chart_facts.extend((key, line) for key in (attrs.get(markup.FACTS_ATTR) or "").split())
        if tag == "sup" and markup.FACT_SRC_CLASS in classes:
            flags.add("fact-src")
            owner = self.fact_stack[-1][0].key if self.fact_stack else self.last_fact
            self.fact_src = FactSrc(None, "", "", line, owner)
            self.fact_src_text = []
        if tag == "ol" and markup.SOURCES_CLASS in classes:
            flags.add("sources")
            self.sources_depth += 1
        if tag == "li" and self.sources_depth:
            flags.add("source-item")
            prefix = markup.SOURCE_ID_PREFIX
            source = ident[len(prefix):] if ident and ident.startswith(prefix) else ""
            self.source_item = SourceItem(source, line, len(page.sources) + 1)
            page.sources.append(self.source_item)
        elif tag == "a" and self.source_item is not None and self.source_item.url is None:
            self.source_item.url = (attrs.get("href") or "").strip()

    def _links(self, tag: str, attrs: dict[str, str | None], line: int) -> None:
        page = self.page
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
            if tag == "a" and name == "href" and self.fact_src is not None and not self.fact_src.href:
                # the citation's link: checked with the facts
                src = self.fact_src
                src.href, src.line = value, line
                fragment = value.partition("#")[2]
                prefix = markup.SOURCE_ID_PREFIX
                src.source = fragment[len(prefix):] if fragment.startswith(prefix) else None
                page.links.append(Link(value, line, "fact source link", "fact-src"))
                continue
            page.links.append(Link(value, line, f"{tag} {name}"))
        for name in ("srcset", "imagesrcset"):
            if attrs.get(name):
                for url in srcset_urls(attrs[name] or ""):
                    page.links.append(Link(url, line, f"{tag} {name}"))

    def end(self, flags: set[str]) -> None:
        if "generated" in flags and self.generated is not None:
            self.page.generated.append(self.generated)
            self.generated = None
        if "main" in flags:
            self.in_main -= 1
        if "invisible" in flags:
            self.invisible -= 1
        if "fact" in flags and self.fact_stack:
            ref, parts = self.fact_stack.pop()
            if parts is not None:
                ref.text = " ".join("".join(parts).split())
            self.last_fact = ref.key
        if "fact-src" in flags and self.fact_src is not None:
            self.fact_src.label = "".join(self.fact_src_text or []).strip()
            self.page.fact_srcs.append(self.fact_src)
            self.fact_src = None
            self.fact_src_text = None
        if "checked" in flags:
            self.checked = None
        if "sources" in flags:
            self.sources_depth -= 1
        if "source-item" in flags:
            self.source_item = None

    # -- text
    def data(self, text: str | None) -> None:
        if not text:
            return
        line = self.line
        self.line += text.count("\n")
        if self.invisible:
            return
        if self.checked is not None:
            self.checked.text = " ".join((self.checked.text + text).split())
        if self.fact_src_text is not None:
            self.fact_src_text.append(text)
        elif self.fact_stack and self.fact_stack[-1][1] is not None:
            self.fact_stack[-1][1].append(text)  # type: ignore[union-attr]
        self.scan_text(text, line)

    def scan_text(self, text: str, line: int) -> None:
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
        except RecursionError:  # json's decoder recurses once per level of nesting
            self.page.jsonld_errors.append(("the JSON-LD nests too deeply to be read (hundreds of levels)", line))
            return
        for url in jsonld_urls(data):
            self.page.links.append(Link(url, line, "JSON-LD", "jsonld"))


def srcset_urls(value: str) -> list[str]:
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


def jsonld_urls(data: Any) -> Iterable[str]:
    """The URLs of the resource properties of JSON-LD data, in document order (iterative: any
    depth of nesting is fine)."""
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        children: list[Any] = []
        if isinstance(node, dict):
            for key, value in node.items():
                if key in JSONLD_URL_KEYS and isinstance(value, str) and value.startswith(("http://", "https://", "/")):
                    yield value
                elif key in JSONLD_URL_KEYS and isinstance(value, list):
                    yield from (v for v in value if isinstance(v, str) and v.startswith(("http://", "https://", "/")))
                if isinstance(value, (dict, list)):
                    children.append(value)
        elif isinstance(node, list):
            children = [item for item in node if isinstance(item, (dict, list))]
        stack.extend(reversed(children))


def parse_page(path: Path, out_dir: Path, root: Path | None = None) -> Page:
    """Read one built page into the model (lxml's HTML parser; lines as in the file)."""
    from lxml import etree

    page = Page(path, path.relative_to(out_dir).as_posix(), rel(path, root))
    text = read_bytes(None, path, page.display).decode("utf-8", errors="replace")
    parser = etree.HTMLParser(encoding="utf-8", huge_tree=True)
    tree = etree.fromstring(text.encode("utf-8"), parser) if text.strip() else None
    if tree is not None:
        _Reader(page).read(tree)
    return page


# --------------------------------------------------------------------------- sitemap

@dataclass
class SitemapEntry:
    loc: str
    line: int
    alternates: list[tuple[str, str, int]] = field(default_factory=list)  # (hreflang, href, line)


def parse_sitemap(path: Path) -> list[SitemapEntry]:
    """`<url><loc>` entries with their `xhtml:link` alternates, with line numbers (expat).
    Raises xml.parsers.expat.ExpatError when the file is not well-formed."""
    entries: list[SitemapEntry] = []
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    entry: SitemapEntry | None = None
    loc_text: list[str] | None = None

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal entry, loc_text
        ns, _, local = name.rpartition("}")
        line = parser.CurrentLineNumber
        if local == "url" and ns in (SITEMAP_NS, ""):
            entry = SitemapEntry("", line)
            entries.append(entry)
        elif local == "loc" and entry is not None:
            loc_text = []
            entry.line = line
        elif local == "link" and ns == XHTML_NS and entry is not None:
            if (attrs.get("rel") or "").strip() == "alternate" and attrs.get("hreflang"):
                entry.alternates.append((attrs["hreflang"].strip(), (attrs.get("href") or "").strip(), line))

    def end(name: str) -> None:
        nonlocal entry, loc_text
        local = name.rpartition("}")[2]
        if local == "loc" and loc_text is not None and entry is not None:
            entry.loc = "".join(loc_text).strip()
            loc_text = None
        elif local == "url":
            entry = None

    def chars(data: str) -> None:
        if loc_text is not None:
            loc_text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(read_bytes(None, path, path.name), True)
    return entries
