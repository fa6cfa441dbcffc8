"""Landing-page blocks: `:::` containers in Markdown, rendered by `templates/blocks/<name>.html`.

Each block function takes a `Block` (its arguments, raw body, inner tokens, where it is) and
returns HTML. Authors write Markdown or a little YAML; the partials decide the markup. A block
reports what the page needs from it through the section's typed state (`Block.state`: links to
check, ids, FAQ questions); it never imports the Markdown renderer, which hands itself in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Callable, Protocol

from markupsafe import Markup

from zimage_site.errors import Problem, SiteError
from zimage_site.fragments import Link, Question, SectionState, plain_text, section_line
from zimage_site.model import Strict, one_of, validate
from zimage_site.yamlfile import parse_yaml

if TYPE_CHECKING:
    from markdown_it.token import Token

    from zimage_site.content import Section
    from zimage_site.render import PageContext


class Renderer(Protocol):
    """What a block needs of the Markdown renderer (zimage_site.markdown.MarkdownRenderer)."""

    def transform(self, tokens: list["Token"], env: dict) -> list["Token"]: ...
    def render_tokens(self, tokens: list["Token"], env: dict) -> str: ...
    def render_inline(self, tokens: list["Token"], env: dict) -> str: ...
    def parse_inline(self, text: str, env: dict) -> list["Token"]: ...


@dataclass
class Block:
    name: str
    args: list[str]
    tokens: list["Token"]        # the inner tokens (for Markdown bodies)
    raw: str                     # the raw body text (for YAML bodies)
    line: int | None             # line of the opening ::: in the file
    md: Renderer
    env: dict
    lines: dict[str, int] = field(default_factory=dict)  # YAML key path → file line, of the body

    @property
    def page(self) -> "PageContext":
        return self.env["page"]

    @property
    def section(self) -> "Section":
        return self.env["section"]

    @property
    def state(self) -> SectionState:
        return self.env["state"]

    @property
    def file(self) -> str:
        return self.section.file

    def error(self, message: str, fix: str, line: int | None = None) -> SiteError:
        return SiteError(Problem(message, file=self.file, line=line or self.line, fix=fix))

    def arg(self, what: str, known: list[str]) -> str:
        if len(self.args) != 1:
            raise self.error(f"::: {self.name} takes exactly one {what}",
                             f"write ::: {self.name} {what.upper().replace(' ', '-')} (one of: {', '.join(known) or 'none defined'})")
        return self.args[0]

    def no_args(self) -> None:
        if self.args:
            raise self.error(f"::: {self.name} takes no arguments, got {' '.join(self.args)!r}",
                             f"write ::: {self.name} on its own line")

    def yaml(self, model: Any) -> Any:
        """The body parsed as YAML and validated as `model` (a type of zimage_site/model.py: a
        model, or a list of them), errors at their file line, keyed "::: NAME path"."""
        offset = self.line or 0
        data, lines = parse_yaml(self.raw, self.file, line_offset=offset)
        self.lines = lines
        return validate(data, model, self.file, lines, default_line=self.line, key_prefix=f"::: {self.name}")

    def item_line(self, path: str, index: int, key: str) -> int | None:
        """The file line of `path[index].key` in the YAML body parsed last."""
        return self.lines.get(f"{path}[{index}].{key}")

    def markdown(self, tokens: list["Token"] | None = None) -> str:
        toks = self.md.transform(self.tokens if tokens is None else tokens, self.env)
        return self.md.render_tokens(toks, self.env)

    def split_by_headings(self, what: str) -> list[tuple["Token", Markup, str]]:
        """Split a Markdown body at its ### headings: [(heading token, title html, body html)]."""
        items: list[tuple["Token", Markup, list["Token"]]] = []
        toks, i, depth = self.tokens, 0, 0
        while i < len(toks):
            tok = toks[i]
            depth += tok.type == "container_block_open"
            depth -= tok.type == "container_block_close"
            if tok.type == "heading_open" and depth == 0:
                inline = self.md.transform([tok, toks[i + 1]], self.env)[1]  # checks its roles, records its id
                items.append((tok, inline, []))
                i += 3  # heading_open, inline, heading_close
                continue
            if not items:
                raise self.error(f"text before the first ### {what} in ::: {self.name}",
                                 f"start every {what} with a ### heading", section_line(tok))
            items[-1][2].append(tok)
            i += 1
        if not items:
            raise self.error(f"::: {self.name} has no ### {what}", f"write each {what} as a ### heading followed by its text")
        # rendered in document order: a title, then its body (sources are numbered as they come)
        return [(tok, Markup(self.md.render_inline(inline.children or [], self.env)), self.markdown(body))
                for tok, inline, body in items]

    def render(self, **context: Any) -> str:
        return self.page.partial(f"blocks/{self.name}.html", **context)


class Stat(Strict):
    """An item of ::: stats: a fact of facts.yaml, with a label of its own when given."""

    fact: str
    label: str | None = None


class Button(Strict):
    """An item of ::: cta."""

    label: str
    href: str
    style: Annotated[str, one_of("primary", "secondary")] = "primary"


def stats(b: Block) -> str:
    b.no_args()
    cards = []
    for i, item in enumerate(b.yaml(list[Stat])):
        key = item.fact
        if key not in b.page.data.facts_file.facts:
            raise b.error(f"unknown fact {key!r} in ::: stats", f"add it to content/data/facts.yaml or use one of: "
                          f"{', '.join(sorted(b.page.data.facts_file.facts)) or '(none yet)'}", (b.line or 0) + 1 + i)
        cards.append(b.page.fact_card(key, item.label))
    return b.render(cards=cards)


def cta(b: Block) -> str:
    b.no_args()
    buttons = [button.model_dump() for button in b.yaml(list[Button])]
    for i, button in enumerate(buttons):
        try:
            button["href"] = b.page.link(button["href"])
        except ValueError as exc:
            raise b.error(str(exc), "correct the href of this button", b.item_line("", i, "href")) from exc
        button["external"] = button["href"].startswith(("http://", "https://"))
        if button["href"].startswith("#"):
            b.state.links.append(Link(button["href"][1:], b.line))
    return b.render(buttons=buttons)


def _qa(b: Block, what: str) -> list[dict]:
    return [{"id": tok.attrGet("id"), "title": title, "html": body} for tok, title, body in b.split_by_headings(what)]


def faq(b: Block) -> str:
    b.no_args()
    items = _qa(b, "question")
    b.state.faq.extend(Question(plain_text(it["title"]), plain_text(it["html"])) for it in items)
    return b.render(items=items)


def details(b: Block) -> str:
    """A folded panel: `::: details SUMMARY`, the summary in inline Markdown, the body in Markdown.
    Unlike ::: faq it adds nothing to the page's structured data."""
    if not b.args:
        raise b.error("::: details has no summary", "write ::: details followed by the text of its summary line")
    inline = b.md.transform(b.md.parse_inline(" ".join(b.args), b.env), b.env)
    summary = Markup(b.md.render_inline(inline[0].children or [] if inline else [], b.env))
    return b.render(summary=summary, body=b.markdown())


def cards(b: Block) -> str:
    return b.render(items=_qa(b, "card"), variant=b.args[0] if b.args else None)


def note(b: Block) -> str:
    kinds = ("info", "tip", "warning")
    kind = b.args[0] if b.args else "info"
    if kind not in kinds or len(b.args) > 1:
        raise b.error(f"unknown note kind {' '.join(b.args)!r}", f"write ::: note, or ::: note followed by one of: {', '.join(kinds)}")
    return b.render(kind=kind, body=b.markdown())


def figure(b: Block) -> str:
    image_id = b.arg("image id", sorted(b.page.images.image_ids))
    _require_image(b, image_id)
    hero = b.section.layout == "hero"
    # (in a row of several figures, b.env["row"]: a narrower box)
    return b.render(view=b.page.images.view(image_id, b.page.text_lang, hero=hero, row=b.env.get("row") or 0,
                                            layout=b.page.data.layout))


def gallery(b: Block) -> str:
    b.no_args()
    ids = b.yaml(list[str])
    for image_id in ids:
        _require_image(b, image_id)
    return b.render(views=b.page.images.gallery(ids, b.page.text_lang, b.page.data.layout))


def compare(b: Block) -> str:
    set_id = b.arg("set id", sorted(b.page.images.set_ids))
    if not b.page.images.has_set(set_id):
        raise b.error(f"unknown comparison set {set_id!r}",
                      f"use a set defined in content/images.yaml: {', '.join(sorted(b.page.images.set_ids)) or '(none yet)'}")
    return b.render(set=b.page.images.comparison(set_id, b.page.text_lang, b.page.data.layout))


def chart(b: Block) -> str:
    from zimage_site.charts import CHARTS, render_chart

    chart_id = b.arg("chart id", sorted(CHARTS))
    if chart_id not in CHARTS:
        raise b.error(f"unknown chart {chart_id!r}", f"use one of the charts of zimage_site/charts.py: {', '.join(sorted(CHARTS))}")
    # a mistake in the series is a ChartDataError naming facts.yaml's line; a missing UI string
    # a ChartStringError naming templates/i18n/charts.yaml: both SiteErrors, raised as they are
    made = render_chart(chart_id, b.page.data.facts_file, b.page.text_lang, b.page.strings, b.page.jinja,
                        b.page.data.lines.get("facts", {}))
    for key in made.facts:  # the facts it shows count as printed (the page's check dates, stale facts)
        b.page.printed(key)
    return b.render(chart=made.html, id=chart_id, facts=made.facts)


def _require_image(b: Block, image_id: str) -> None:
    if not b.page.images.has_image(image_id):
        raise b.error(f"unknown image {image_id!r}",
                      f"add it to content/images.yaml or use one of: {', '.join(sorted(b.page.images.image_ids)) or '(none yet)'}")


BLOCKS: dict[str, Callable[[Block], str]] = {
    "stats": stats, "cta": cta, "faq": faq, "details": details, "cards": cards, "note": note,
    "figure": figure, "gallery": gallery, "compare": compare, "chart": chart,
}


def unknown_block(words: list[str], file: str, line: int | None) -> SiteError:
    name = words[0] if words else ""
    return SiteError(Problem(f"unknown block ::: {name}".rstrip(), file=file, line=line,
                             fix=f"use one of: {', '.join(BLOCKS)} (see docs/content.md)"))


def render_block(md: Renderer, tok: "Token", env: dict) -> str:
    """The HTML of one `:::` block; `tok` holds its info line, map and inner tokens (children)."""
    section: Section = env["section"]
    words = tok.info.split()
    line = section_line(tok)
    if not words or words[0] not in BLOCKS:
        raise unknown_block(words, section.file, line)
    raw = ""
    if tok.map:
        start, end = tok.map
        lines = env.get("source_lines")
        if lines is None:  # split once per section, not once per block (10,000 blocks: 10,000 splits)
            lines = env["source_lines"] = section.source.splitlines()
        raw = "\n".join(lines[start + 1 : end])  # the map ends before the closing :::
    block = Block(words[0], words[1:], list(tok.children or ()), raw, line, md, env)
    return BLOCKS[words[0]](block)
