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


# The names the images' `sizes` are made from (images/catalog.py): a layout must declare them; the
# stylesheets may name others.
SIZES_BREAKPOINTS = ("small", "tablet", "desktop", "wide")
SIZES_WIDTHS = ("wrap", "wrap_wide", "gutter_max", "measure_wide_latin")


def _name(value: str) -> str | None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", value) or value.startswith("below_"):
        return f"{value!r} is not a name of lower-case letters, digits and _ (not starting with below_)"
    return None


def _declares(names: tuple[str, ...]):
    def run(value: dict) -> str | None:
        missing = [name for name in names if name not in value]
        return f"{', '.join(missing)} missing: the images' sizes are made from {', '.join(names)}" if missing else None
    return check(run)


Name = Annotated[str, check(_name)]


class Layout(Strict):
    """content/data/layout.yaml: `breakpoints` (the viewport widths where the layout changes, named
    in the stylesheets as `@media (--name)` and `@media (--below-name)`) and `widths` (custom
    properties of the stylesheets: `wrap_wide` is `--wrap-wide`)."""

    breakpoints: Annotated[dict[Name, Em], _declares(SIZES_BREAKPOINTS)] = field(
        fix="breakpoints: {small: 40em, tablet: 48em, desktop: 60em, wide: 80em, …}; see docs/content.md")
    widths: Annotated[dict[Name, Rem], _declares(SIZES_WIDTHS)] = field(
        fix="widths: {wrap: 72rem, wrap_wide: 88rem, gutter_max: 2rem, measure_wide_latin: 43rem, …}; "
            "see docs/content.md")

    def media(self, name: str) -> str | None:
        """The query a name stands for: `wide` → "(min-width: 80em)", `below-wide` →
        "(max-width: 79.99em)"; None for a name the file does not declare."""
        below = name.startswith("below-")
        value = self.breakpoints.get(name.removeprefix("below-").replace("-", "_"))
        if value is None:
            return None
        return f"(max-width: {css_length(number(value) - 0.01, 'em')})" if below else f"(min-width: {value})"

    def rem(self, name: str) -> float:
        """A width in rem: `rem("wrap")` → 72.0."""
        return number(self.widths[name])

    def css(self) -> str:
        """The widths as custom properties, for the start of the stylesheet bundle."""
        props = "; ".join(f"--{name.replace('_', '-')}: {value}" for name, value in self.widths.items())
        return f"/* {LAYOUT_FILE} */\n:root {{ {props}; }}\n"


def load_layout(root: Path) -> Layout | None:
    """The site's layout file, validated; None when the site has none."""
    path = Path(root) / LAYOUT_FILE
    if not path.is_file():
        return None
    return layout_of(*load_yaml(path, LAYOUT_FILE, error=ContentError))


def layout_of(raw: object, lines: dict[str, int]) -> Layout:
    """The layout file's content (from the YAML loader) as a Layout; ContentError naming each
    wrong value's line and fix."""
    return validate(raw, Layout, LAYOUT_FILE, lines, error=ContentError,
                    top="expected a mapping with breakpoints: and widths:")


def expand_css(css: str, file: str, layout: Layout | None) -> str:
    """A stylesheet with each breakpoint name of its media queries replaced by the query; an
    unknown name is an error naming the file and line."""
    problems: list[Problem] = []

    def replace(found: re.Match, line: int) -> str:
        query = layout.media(found.group(1)) if layout is not None else None
        if query is None:
            known = ", ".join(f"--{n.replace('_', '-')}" for n in layout.breakpoints) if layout is not None else ""
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
