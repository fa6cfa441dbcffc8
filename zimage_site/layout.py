"""The page's breakpoints and widths (`content/data/layout.yaml`), declared once.

The stylesheets name a breakpoint instead of writing its width: `@media (--wide)` (from the
breakpoint up) or `@media (--below-wide)` (below it), the form of CSS custom media queries; the
assets phase replaces each name with its query (`expand_css`), and puts the widths in front of
the bundle as custom properties (`--wrap`, `--wrap-wide`, …). The images' `sizes` attributes,
which tell a browser how wide an image will be shown before the stylesheet has laid it out, are
made from the same values (`images/catalog.py`), so the two cannot disagree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from zimage_site.errors import ContentError, Problem
from zimage_site.model import Strict, check, field, validate
from zimage_site.yamlfile import load_yaml

LAYOUT_FILE = "content/data/layout.yaml"
_LENGTH = re.compile(r"(\d+(?:\.\d+)?)(em|rem)")
_NAME = re.compile(r"\(--([a-z][a-z0-9-]*)\)")


def _length(unit: str):
    def run(value: str) -> str | None:
        found = _LENGTH.fullmatch(value)
        if found is None or found.group(2) != unit or float(found.group(1)) <= 0:
            return f"{value!r} is not a length in {unit} above 0 (e.g. 60{unit})"
        return None
    return check(run)


Em = Annotated[str, _length("em")]
Rem = Annotated[str, _length("rem")]


def number(length: str) -> float:
    """60em → 60.0"""
    return float(_LENGTH.fullmatch(length).group(1))


def css_length(value: float, unit: str) -> str:
    """88.0, "rem" → "88rem"; 49.5 → "49.5rem"."""
    return f"{value:g}{unit}"


class Breakpoints(Strict):
    """The viewport widths where the layout changes (`@media (--name)`, `@media (--below-name)`)."""

    phone: Em = field(fix="the width below which phone rules apply, e.g. 30em")
    small: Em = field(fix="the width from which comparison sets show side by side, e.g. 40em")
    tablet: Em = field(fix="the width from which card rows stop scrolling sideways, e.g. 48em")
    desktop: Em = field(fix="the width from which the hero has two columns, e.g. 60em")
    wide: Em = field(fix="the width from which blocks stand beside the prose, e.g. 80em")


class Widths(Strict):
    """The page's widths (custom properties of the stylesheet: `--wrap`, `--wrap-wide`, …)."""

    wrap: Rem = field(fix="the page's width below the wide breakpoint, e.g. 72rem")
    wrap_wide: Rem = field(fix="the page's width from the wide breakpoint up, e.g. 88rem")
    gutter_max: Rem = field(fix="the page's side padding at its widest, e.g. 2rem")
    measure_wide: Rem = field(fix="the prose's width beside a block on wide screens, e.g. 46rem")
    measure_wide_latin: Rem = field(fix="the same for text in Latin script (a smaller measure), e.g. 43rem")


class Layout(Strict):
    """content/data/layout.yaml."""

    breakpoints: Breakpoints = field(fix="breakpoints: {phone: 30em, small: 40em, …}; see docs/content.md")
    widths: Widths = field(fix="widths: {wrap: 72rem, wrap_wide: 88rem, …}; see docs/content.md")

    def media(self, name: str) -> str | None:
        """The query a name stands for: `wide` → "(min-width: 80em)", `below-wide` →
        "(max-width: 79.99em)"; None for a name the file does not declare."""
        below = name.startswith("below-")
        key = name.removeprefix("below-").replace("-", "_")
        if key not in Breakpoints.model_fields:
            return None
        value = getattr(self.breakpoints, key)
        return f"(max-width: {css_length(number(value) - 0.01, 'em')})" if below else f"(min-width: {value})"

    def rem(self, name: str) -> float:
        """A width in rem: `rem("wrap")` → 72.0."""
        return number(getattr(self.widths, name))

    def css(self) -> str:
        """The widths as custom properties, for the start of the stylesheet bundle."""
        props = "; ".join(f"--{name.replace('_', '-')}: {getattr(self.widths, name)}" for name in Widths.model_fields)
        return f"/* {LAYOUT_FILE} */\n:root {{ {props}; }}\n"


def load_layout(root: Path) -> Layout | None:
    """The site's layout file, validated; None when the site has none."""
    path = Path(root) / LAYOUT_FILE
    if not path.is_file():
        return None
    raw, lines = load_yaml(path, LAYOUT_FILE, error=ContentError)
    return validate(raw, Layout, LAYOUT_FILE, lines, error=ContentError, top="expected a mapping with breakpoints: "
                    "and widths:")


def expand_css(css: str, file: str, layout: Layout | None) -> str:
    """A stylesheet with each breakpoint name of its media queries replaced by the query; an
    unknown name is an error naming the file and line."""
    problems: list[Problem] = []

    def replace(found: re.Match, line: int) -> str:
        query = layout.media(found.group(1)) if layout is not None else None
        if query is None:
            known = ", ".join(f"--{n.replace('_', '-')}" for n in Breakpoints.model_fields)
            problems.append(Problem(
                f"unknown breakpoint (--{found.group(1)})", file=file, line=line,
                fix=f"use one of: {known} (or --below-<name>), declared in {LAYOUT_FILE}"
                if layout is not None else f"declare the breakpoints in {LAYOUT_FILE} (see docs/content.md)"))
            return found.group(0)
        return query

    out = []
    for number_, line in enumerate(css.split("\n"), 1):
        if "@media" in line and "(--" in line:
            line = _NAME.sub(lambda m: replace(m, number_), line)
        out.append(line)
    if problems:
        raise ContentError(problems)
    return "\n".join(out)
