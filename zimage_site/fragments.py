"""What rendering one section produces, as typed values, and small helpers shared by the renderers.

A section renders into a `SectionHTML` (its HTML and what the page needs from it: the links to
check, the ids it defines, its questions for JSON-LD, the sources it cited, the facts it
prints, its warnings). While
it renders, the Markdown renderer and the blocks add to one `SectionState`. Nothing here imports
another module of the engine.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it.token import Token

    from zimage_site.content import Section
    from zimage_site.errors import Problem

_TAGS = re.compile(r"<[^>]+>")
_BLOCK_TAGS = re.compile(r"</?(?:p|li|ul|ol|div|br|h[1-6]|tr|td|th|pre|blockquote|table|dl|dt|dd|figure|figcaption)\b[^>]*>")
_REFERENCES = re.compile(r"<sup\b[^>]*>.*?</sup>", re.S)  # [n] marks of sources and footnotes


def plain_text(fragment: str) -> str:
    """Visible text of an HTML fragment, without [n] reference marks (for JSON-LD and summaries)."""
    text = _TAGS.sub("", _BLOCK_TAGS.sub(" ", _REFERENCES.sub("", fragment)))  # inline tags join: 需要多大<b>显存</b>
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def section_line(tok: "Token") -> int | None:
    """The 1-based line of a token in its section file (front matter included)."""
    return tok.map[0] + 1 if tok.map else None


@dataclass(frozen=True)
class Link:
    """A link to an id on the page (`#target`), written at `line` of its section file."""

    target: str
    line: int | None


@dataclass(frozen=True)
class Question:
    """One question of a ::: faq block, as plain text (for the FAQPage JSON-LD)."""

    question: str
    answer: str


@dataclass
class SectionState:
    """Filled while one section renders: by the token pass, the render rules and the blocks."""

    links: list[Link] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    faq: list[Question] = field(default_factory=list)
    cited: dict[str, None] = field(default_factory=dict)  # every source cited, in order of first use
    facts: dict[str, None] = field(default_factory=dict)  # every fact printed, in order of first use


@dataclass(frozen=True)
class SectionHTML:
    """One rendered section: what templates show as `section`, and what the page collects from it."""

    meta: "Section"
    lead_html: str           # the Markdown before its first ### heading
    rest_html: str           # from the first ### heading on (a hero shows it below the first screen)
    links: tuple[Link, ...] = ()
    ids: tuple[str, ...] = ()
    faq: tuple[Question, ...] = ()
    cites: tuple[str, ...] = ()          # source ids this section numbered first, in order
    warnings: tuple["Problem", ...] = ()
    facts: tuple[str, ...] = ()          # the keys of the facts it prints (values, cards, check dates)

    @property
    def html(self) -> str:
        return self.lead_html + self.rest_html

    # the section's front matter, as templates read it
    id = property(lambda self: self.meta.id)
    order = property(lambda self: self.meta.order)
    title = property(lambda self: self.meta.title)
    nav = property(lambda self: self.meta.nav)
    description = property(lambda self: self.meta.description)
    layout = property(lambda self: self.meta.layout)
    lang = property(lambda self: self.meta.lang)
    file = property(lambda self: self.meta.file)


@dataclass(frozen=True)
class Page:
    """One rendered output file: its path under the output folder and its text."""

    path: str
    text: str
