"""Markdown → HTML for one section: markdown-it-py, mdit-py-plugins, Pygments, and blocks.

The parser is configured once per build. Rendering a section parses it, walks the tokens once
(checking roles, links and attributes, and replacing `:::` containers by the HTML of their block
partials), then renders the tokens.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.myst_role import myst_role_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from zimage_site.errors import Problem, SiteError

if TYPE_CHECKING:
    from zimage_site.content import Section
    from zimage_site.render import PageContext

# Attributes an author may set with {…} (attrs plugins); everything else is dropped, so that no
# event handler or inline style can be written into the page from Markdown.
SAFE_ATTRS = {"id", "class", "lang", "dir", "title", "href", "src", "alt", "start", "colspan",
              "rowspan", "width", "height", "reversed", "scope"}
CITE = "\ue000cite:{}\ue001"
CITE_RE = re.compile("\ue000cite:([^\ue001]+)\ue001")
_CODE_FORMATTER = HtmlFormatter(nowrap=True)
_TAGS = re.compile(r"<[^>]+>")
_BLOCK_TAGS = re.compile(r"</?(?:p|li|ul|ol|div|br|h[1-6]|tr|td|th|pre|blockquote|table|dl|dt|dd|figure|figcaption)\b[^>]*>")
_REFERENCES = re.compile(r"<sup\b[^>]*>.*?</sup>", re.S)  # [n] marks of sources and footnotes


def plain_text(fragment: str) -> str:
    """Visible text of an HTML fragment, without [n] reference marks (for JSON-LD and summaries)."""
    text = _TAGS.sub("", _BLOCK_TAGS.sub(" ", _REFERENCES.sub("", fragment)))  # inline tags join: 需要多大<b>显存</b>
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


@dataclass
class SectionRender:
    """What rendering one section produces besides its HTML."""

    anchors: list[tuple[str, int]] = field(default_factory=list)  # (#target, line)
    faq: list[dict] = field(default_factory=list)


class MarkdownRenderer:
    def __init__(self) -> None:
        md = MarkdownIt("commonmark", {"html": False, "typographer": False})
        md.enable(["table", "strikethrough"])
        md.use(front_matter_plugin)
        md.use(container_plugin, "block", validate=lambda *_: True)
        md.use(attrs_block_plugin)
        md.use(attrs_plugin)
        md.use(anchors_plugin, min_level=3, max_level=4, slug_func=self._slug)
        md.use(footnote_plugin)
        md.use(deflist_plugin)
        md.use(myst_role_plugin)
        md.add_render_rule("fence", self._render_fence)
        md.add_render_rule("myst_role", self._render_role)
        self.md = md
        self._prefix = ""

    # -- slugs: heading ids are prefixed with the section id, unique across the page
    def _slug(self, title: str) -> str:
        slug = re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-")
        slug = re.sub(r"-{2,}", "-", slug).strip("-")
        return f"{self._prefix}-{slug}" if slug else self._prefix

    def render_section(self, section: "Section", page: "PageContext") -> SectionRender:
        self._prefix = section.id
        env: dict[str, Any] = {"docId": section.id, "page": page, "section": section}
        tokens = self.md.parse(section.source, env)
        out = SectionRender()
        env["out"] = out
        tokens = self.transform(tokens, env)
        split = next((i for i, t in enumerate(tokens) if t.type == "heading_open" and t.level == 0), len(tokens))
        if section.layout == "hero":  # the hero's title is the <h1>: its subsections move up a level
            for tok in tokens[split:]:
                if tok.type in ("heading_open", "heading_close") and tok.tag in ("h3", "h4", "h5", "h6"):
                    tok.tag = f"h{int(tok.tag[1]) - 1}"
        section.lead_html = self.render_tokens(tokens[:split], env)
        section.rest_html = self.render_tokens(tokens[split:], env)
        section.faq = out.faq
        return out

    def render_tokens(self, tokens: list[Token], env: dict) -> str:
        return self.md.renderer.render(tokens, self.md.options, env)

    # -- the one pass over the tokens
    def transform(self, tokens: list[Token], env: dict) -> list[Token]:
        from zimage_site.blocks import render_block

        section: Section = env["section"]
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.type == "container_block_open":
                j, depth = i + 1, 1
                while j < len(tokens):
                    if tokens[j].type == "container_block_open":
                        depth += 1
                    elif tokens[j].type == "container_block_close":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                block = Token("html_block", "", 0)
                block.content = render_block(self, tok, tokens[i + 1 : j], env)
                block.map = tok.map
                out.append(block)
                i = j + 1
                continue
            line = section_line(tok)
            if tok.type == "heading_open" and tok.tag in ("h1", "h2"):
                env["page"].report.warn(
                    f"a {'#' * int(tok.tag[1])} heading inside a section; the section title is already the <h2>",
                    file=section.file, line=line, fix="start headings inside a section at ###")
            self._check_attrs(tok)
            for child in tok.children or ():
                self._check_attrs(child)
                if child.type == "myst_role":
                    self._check_role(child, line, env)
                elif child.type == "link_open":
                    href = child.attrGet("href") or ""
                    if href.startswith("#"):
                        env["out"].anchors.append((href[1:], line))
                    elif href.startswith(("@", "/")) and not href.startswith("//"):
                        try:  # @name: a link of site.yaml; /path: under the site's base path
                            child.attrSet("href", env["page"].link(href))
                        except ValueError as exc:
                            raise SiteError(Problem(str(exc), file=section.file, line=line,
                                                    fix="correct the link target")) from None
            out.append(tok)
            i += 1
        return out

    @staticmethod
    def _check_attrs(tok: Token) -> None:
        if tok.attrs:
            for name in [n for n in tok.attrs if n not in SAFE_ATTRS and not n.startswith("data-")]:
                del tok.attrs[name]

    # -- roles: {fact}`key`, {data}`file.path`
    def _check_role(self, tok: Token, line: int | None, env: dict) -> None:
        page: PageContext = env["page"]
        section: Section = env["section"]
        name, key = tok.meta.get("name"), tok.content.strip()
        if name == "fact":
            if key not in page.data.facts:
                raise SiteError(Problem(
                    f"unknown fact {key!r} in {{fact}}`{key}`", file=section.file, line=line,
                    fix=f"add it to content/data/facts.yaml or use one of: {', '.join(sorted(page.data.facts)) or '(none yet)'}"))
        elif name == "data":
            try:
                value = page.data.lookup(key)
            except KeyError:
                raise SiteError(Problem(
                    f"no data at {key!r} in {{data}}`{key}`", file=section.file, line=line,
                    fix=f"the path starts with a file of content/data/ ({', '.join(sorted(page.data.files)) or 'none yet'}) then its keys, e.g. facts.facts.turbo_params.value")) from None
            if isinstance(value, (dict, list)):
                raise SiteError(Problem(f"{{data}}`{key}` is a {type(value).__name__}, not a single value",
                                        file=section.file, line=line, fix="point the path at one value"))
        else:
            raise SiteError(Problem(f"unknown role {{{name}}}", file=section.file, line=line,
                                    fix="use {fact}`key` for a number with its source, or {data}`file.key` for a value"))

    def _render_role(self, tokens, idx, options, env) -> str:
        tok = tokens[idx]
        page: PageContext = env["page"]
        key = tok.content.strip()
        if tok.meta["name"] == "data":
            from zimage_site.data import text
            return str(escape(text(page.data.lookup(key), page.lang)))
        return str(page.fact_html(key))

    def _render_fence(self, tokens, idx, options, env) -> str:
        tok = tokens[idx]
        page: PageContext = env["page"]
        lang_name = tok.info.strip().split(maxsplit=1)[0] if tok.info.strip() else ""
        try:
            lexer = get_lexer_by_name(lang_name or "text")
        except ClassNotFound:
            page.report.warn(f"no syntax highlighting for code language {lang_name!r}", file=env["section"].file,
                             line=section_line(tok), fix="use a Pygments language name such as python, bash, yaml, json")
            lexer = get_lexer_by_name("text")
        code = Markup(highlight(tok.content, lexer, _CODE_FORMATTER))
        return page.partial("blocks/code.html", code=code, code_language=lang_name, source=tok.content)


def section_line(tok: Token) -> int | None:
    return tok.map[0] + 1 if tok.map else None
