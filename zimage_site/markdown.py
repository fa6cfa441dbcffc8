"""Markdown → HTML for one section: markdown-it-py, mdit-py-plugins, Pygments, and blocks.

The parser is configured once per build. Rendering a section parses it, walks the tokens once
(checking roles, links and attributes, collecting the ids the section defines, and turning each
`:::` container into one `block` token), then renders the tokens in document order: blocks are
rendered by their partials where they stand, so sources are numbered in the order a reader meets
them. What a section produces is returned as a `SectionHTML`; nothing is written into `Section`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.myst_role import myst_role_plugin
from pydantic import BaseModel

from zimage_site.blocks import BLOCKS, render_block, unknown_block
from zimage_site.errors import Problem, Report, SiteError
from zimage_site.urls import malformed_web_url
from zimage_site.fragments import Link, SectionHTML, SectionState, plain_text, section_line  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from zimage_site.content import Section
    from zimage_site.render import PageContext

# Attributes an author may set with {…} (attrs plugins); everything else is dropped, so that no
# event handler or inline style can be written into the page from Markdown.
SAFE_ATTRS = {"id", "class", "lang", "dir", "title", "href", "src", "alt", "start", "colspan",
              "rowspan", "width", "height", "reversed", "scope"}
_URL_ATTRS = {"href": "link_open", "src": "image"}
BLOCK_TOKEN = "zimage_block"  # a ::: container, rendered by its block partial when the tokens render


@lru_cache(maxsize=None)
def _lexer(name: str):
    """A Pygments lexer by name (lexers are reusable; the lookup by name is not cheap), or None."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


@lru_cache(maxsize=1)
def _formatter():
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)


@lru_cache(maxsize=512)
def highlight(code: str, lang_name: str):
    """(HTML of the highlighted code, whether the language is known). Remembered: the pages of a
    bilingual site show the same code blocks, and highlighting is a pure function of its inputs."""
    from pygments import highlight as pygments_highlight

    lexer = _lexer(lang_name or "text")
    known = lexer is not None
    return pygments_highlight(code, lexer if known else _lexer("text"), _formatter()), known


class MarkdownRenderer:
    def __init__(self) -> None:
        md = MarkdownIt("commonmark", {"html": False, "typographer": False})
        md.enable(["table", "strikethrough"])
        # with "html" off these two rules match nothing, but would be tried at every line and at
        # every "<": leaving them out changes no output
        md.disable(["html_block", "html_inline"])
        md.use(front_matter_plugin)
        md.use(container_plugin, "block", validate=lambda *_: True)
        md.use(attrs_block_plugin)
        md.use(attrs_plugin)
        md.core.ruler.push("anchor", self._heading_ids)  # (mdit-py-plugins' anchors, in linear time)
        md.use(footnote_plugin)
        md.use(deflist_plugin)
        md.use(myst_role_plugin)
        normalize = md.normalizeLink
        # markdown-it "repairs" a URL it cannot parse (https://[x]/ becomes https://x/): such a
        # link is kept as written, and the URL policy refuses it with its line (transform)
        md.normalizeLink = lambda url: url if malformed_web_url(url) else normalize(url)
        md.add_render_rule("fence", self._render_fence)
        md.add_render_rule("myst_role", self._render_role)
        md.add_render_rule(BLOCK_TOKEN, self._render_block)
        md.core.ruler.push("cell_labels", _label_cells)
        self.md = md
        self._prefix = ""

    # -- slugs: heading ids are prefixed with the section id, unique across the page
    def _slug(self, title: str) -> str:
        slug = re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-")
        slug = re.sub(r"-{2,}", "-", slug).strip("-")
        return f"{self._prefix}-{slug}" if slug else self._prefix

    def _heading_ids(self, state) -> None:
        """Give every ### and #### heading without an id a unique one made from its title, as
        mdit-py-plugins' anchors plugin does (explicit ids reserved first; a repeated slug gets
        -1, -2, … in order), remembering per slug where its search for a free number stopped:
        the plugin searches from 1 every time, so 16,000 equal headings cost 128 million tries."""
        tokens = state.tokens
        taken = {str(i) for t in tokens if t.type == "heading_open" and (i := t.attrGet("id"))}
        next_number: dict[str, int] = {}
        for idx, token in enumerate(tokens):
            if token.type != "heading_open" or token.tag not in ("h3", "h4") or token.attrGet("id"):
                continue
            title = "".join(c.content for c in tokens[idx + 1].children or () if c.type in ("text", "code_inline"))
            slug = unique = self._slug(title)
            number = next_number.get(slug, 1)
            while unique in taken:  # the numbers below `number` are taken already (taken only grows)
                unique = f"{slug}-{number}"
                number += 1
            next_number[slug] = number
            taken.add(unique)
            token.attrSet("id", unique)

    def render_section(self, section: "Section", page: "PageContext") -> SectionHTML:
        """Render one section with `page` (whose citation registry it advances); return it with
        everything the page needs from it. Its warnings go to page.report and into the result."""
        self._prefix = section.id
        state = page.state = SectionState()
        main, page.report = page.report, Report()
        before = len(page.citations.order)
        try:
            env: dict[str, Any] = {"docId": section.id, "page": page, "section": section, "state": state,
                                   "renderer": self}
            tokens = self.transform(self.md.parse(section.source, env), env)
            split = next((i for i, t in enumerate(tokens) if t.type == "heading_open" and t.level == 0), len(tokens))
            if section.layout == "hero":  # the hero's title is the <h1>: its subsections move up a level
                for tok in tokens[split:]:
                    if tok.type in ("heading_open", "heading_close") and tok.tag in ("h3", "h4", "h5", "h6"):
                        tok.tag = f"h{int(tok.tag[1]) - 1}"
            lead = self.render_tokens(tokens[:split], env)
            rest = self.render_tokens(tokens[split:], env)
        finally:
            warnings, page.report = page.report.warnings, main
            for w in warnings:
                main.warn(w)
        cites = tuple(list(page.citations.order)[before:])
        return SectionHTML(section, lead, rest, links=tuple(state.links), ids=tuple(state.ids),
                           faq=tuple(state.faq), cites=cites, warnings=tuple(warnings), facts=tuple(state.facts))

    def render_tokens(self, tokens: list[Token], env: dict) -> str:
        return self.md.renderer.render(tokens, self.md.options, env)

    def render_inline(self, tokens: list[Token], env: dict) -> str:
        return self.md.renderer.renderInline(tokens, self.md.options, env)

    def parse_inline(self, text: str, env: dict) -> list[Token]:
        """One line of inline Markdown (a block's argument) as an `inline` token with its children."""
        return self.md.parseInline(text, env)

    # -- the one pass over the tokens
    def transform(self, tokens: list[Token], env: dict) -> list[Token]:
        section: Section = env["section"]
        state: SectionState = env["state"]
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
                words = tok.info.split()
                if not words or words[0] not in BLOCKS:
                    raise unknown_block(words, section.file, section_line(tok))
                block = Token(BLOCK_TOKEN, "", 0)
                block.map, block.info, block.children = tok.map, tok.info, tokens[i + 1 : j]
                out.append(block)
                i = j + 1
                continue
            line = section_line(tok)
            if tok.type == "heading_open" and tok.tag in ("h1", "h2"):
                env["page"].report.warn(
                    f"a {'#' * int(tok.tag[1])} heading inside a section; the section title is already the <h2>",
                    file=section.file, line=line, fix="start headings inside a section at ###")
            if tok.attrs:
                self._check_attrs(tok, state)
            for child in tok.children or ():  # (the inline tokens: the hot loop of a build)
                if child.attrs:
                    self._check_attrs(child, state)
                kind = child.type
                if kind == "myst_role":
                    self._check_role(child, line, env)
                elif kind == "link_open" or kind == "image":
                    attr = "href" if kind == "link_open" else "src"
                    href = child.attrGet(attr) or ""
                    if href.startswith("#"):
                        state.links.append(Link(href[1:], line))
                    try:  # every link by the one URL policy (zimage_site/urls.py)
                        child.attrSet(attr, env["page"].link(href))
                    except ValueError as exc:
                        raise SiteError(Problem(str(exc), file=section.file, line=line,
                                                fix="correct the link target")) from exc
            out.append(tok)
            i += 1
        return out

    @staticmethod
    def _check_attrs(tok: Token, state: SectionState) -> None:
        if tok.attrs:
            for name in [n for n in tok.attrs if n not in SAFE_ATTRS and not n.startswith("data-")
                         or n in _URL_ATTRS and tok.type != _URL_ATTRS[n]]:
                del tok.attrs[name]  # (href and src only on links and images, where the policy checks them)
            if "id" in tok.attrs:  # heading anchors and {#id} attributes: the ids links may point at
                state.ids.append(str(tok.attrs["id"]))
    # -- roles: {fact}`key`, {checked}`key`, {data}`file.path`
    def _check_role(self, tok: Token, line: int | None, env: dict) -> None:
        page: PageContext = env["page"]
        section: Section = env["section"]
        name, key = tok.meta.get("name"), tok.content.strip()
        if name in ("fact", "checked"):
            facts = page.data.facts_file.facts
            if key not in facts:
                raise SiteError(Problem(
                    f"unknown fact {key!r} in {{{name}}}`{key}`", file=section.file, line=line,
                    fix=f"add it to content/data/facts.yaml or use one of: {', '.join(sorted(facts)) or '(none yet)'}"))
            undated = page.data.require_dated(key)
            if undated is None and name == "checked" and facts[key].checked is None:
                undated = Problem(f'fact "{key}" has no checked: date in content/data/facts.yaml',
                                  fix=f"add checked: YYYY-MM-DD to facts.{key}, the day you verified it against its source")
            if undated is not None:
                raise SiteError(Problem(f"{{{name}}}`{key}`: {undated.message}", file=section.file, line=line,
                                        fix=undated.fix))
        elif name == "data":
            try:
                value = page.data.lookup(key)
            except KeyError as exc:
                raise SiteError(Problem(
                    f"no data at {key!r} in {{data}}`{key}`", file=section.file, line=line,
                    fix=f"the path starts with a file of content/data/ ({', '.join(sorted(page.data.files)) or 'none yet'}) then its keys, e.g. facts.facts.turbo_params.value")) from exc
            if isinstance(value, (dict, list, BaseModel)):
                raise SiteError(Problem(f"{{data}}`{key}` is a group of values, not a single value",
                                        file=section.file, line=line, fix="point the path at one value"))
        else:
            raise SiteError(Problem(f"unknown role {{{name}}}", file=section.file, line=line,
                                    fix="use {fact}`key` for a number with its source, {checked}`key` for the day "
                                        "it was last checked, or {data}`file.key` for a value"))

    def _render_role(self, tokens, idx, options, env) -> str:
        tok = tokens[idx]
        page: PageContext = env["page"]
        key = tok.content.strip()
        if tok.meta["name"] == "data":
            from zimage_site.data import text
            return str(escape(text(page.data.lookup(key), page.text_lang)))
        if tok.meta["name"] == "checked":
            return str(page.checked_html(key))
        # one footnote marker per source and paragraph (list item, table cell, heading): a fact
        # whose source an earlier fact of the same run already cites is printed without its own
        facts = page.data.facts_file.facts
        source = facts[key].source
        cited = any(t.type == "myst_role" and t.meta.get("name") == "fact"
                    and (earlier := facts.get(t.content.strip())) is not None and earlier.source == source
                    for t in tokens[:idx])
        return str(page.fact_html(key, cite=not cited))

    def _render_fence(self, tokens, idx, options, env) -> str:
        tok = tokens[idx]
        page: PageContext = env["page"]
        lang_name = tok.info.strip().split(maxsplit=1)[0] if tok.info.strip() else ""
        code, known = highlight(tok.content, lang_name)
        if not known:
            page.report.warn(f"no syntax highlighting for code language {lang_name!r}", file=env["section"].file,
                             line=section_line(tok), fix="use a Pygments language name such as python, bash, yaml, json")
        return page.partial("blocks/code.html", code=Markup(code), code_language=lang_name, source=tok.content)

    @staticmethod
    def _render_block(_html_renderer, tokens, idx, options, env) -> str:  # markdown-it binds rules to its renderer
        # blocks of one kind that follow each other (figures, comparison sets, charts) share a row,
        # which the stylesheet lays out side by side; a block learns the length of its row from env["row"]
        name = _row_name(tokens[idx])
        start = idx
        while name and start and _row_name(tokens[start - 1]) == name:
            start -= 1
        end = idx + 1
        while name and end < len(tokens) and _row_name(tokens[end]) == name:
            end += 1
        env["row"] = end - start if end - start > 1 else None
        try:
            html = render_block(env["renderer"], tokens[idx], env)
        finally:
            env["row"] = None
        if name:
            if _row_name(tokens[idx - 1]) != name if idx else True:
                if idx + 1 < len(tokens) and _row_name(tokens[idx + 1]) == name:
                    html = f'<div class="block-row block-row--{name}" tabindex="0">\n{html}'
            elif idx + 1 >= len(tokens) or _row_name(tokens[idx + 1]) != name:
                html = f"{html}</div>\n"
        return html


ROW_BLOCKS = ("figure", "compare", "chart")


def _label_cells(state) -> None:
    """Give each body cell its column's heading as `data-label`, so that a narrow screen can
    stack a table's rows and still say what each cell is (the stylesheet prints the label)."""
    heads: list[str] = []
    col = 0
    tokens = state.tokens
    for i, tok in enumerate(tokens):
        if tok.type == "thead_open":
            heads = []
        elif tok.type == "th_open" and i + 1 < len(tokens) and tokens[i + 1].type == "inline":
            kids = tokens[i + 1].children or []
            heads.append("".join(k.content for k in kids if k.type in ("text", "code_inline")).strip())
        elif tok.type == "tr_open":
            col = 0
        elif tok.type == "td_open":
            if col < len(heads) and heads[col]:
                tok.attrSet("data-label", heads[col])
            col += 1


def _row_name(tok: Token) -> str | None:
    """The block name of `tok` when blocks of its kind are set in a row, else None."""
    if tok.type != BLOCK_TOKEN:
        return None
    words = tok.info.split()
    return words[0] if words and words[0] in ROW_BLOCKS else None
