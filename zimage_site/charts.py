"""Inline, accessible SVG charts built from the facts data at build time.

`render_chart(chart_id, facts_file, lang, strings, jinja, lines)` returns a `Chart`: its HTML and
the facts it shows. The HTML is one `<figure class="chart">` (templates/blocks/charts/figure.html)
holding:

- a `<figcaption>` first (HTML allows it only as the first or last child), then
- an `<svg role="img" aria-labelledby="…">` with a `<title>` and a `<desc>` that states the numbers
  in words, so a screen reader gets the chart's message;
- the same numbers as a real `<table>` inside a `<details>` (readable, copyable, printable);
- a visible source line linking every source the chart draws on.

The markup is Jinja (templates/blocks/charts/<chart id>.html, autoescaped like every template);
this module computes what the templates place: the typed series (chart_series.py: every value
a fact of content/data/facts.yaml, with its line), the geometry and the sentences. Colours come
from CSS classes (`chart__bar`, `chart__bar--highlight`, `chart__bar--te`, …), never from inline
colours, so the light and dark themes both work.

UI strings come from `strings` (templates/i18n/charts.yaml, merged by the engine); a missing one
is a `ChartStringError` naming that file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from zimage_site.chart_series import (FACTS_FILE, ArchitectureSeries, ArenaSeries, ChartDataError, ChartSeries,
                                      FactResolver, SeriesSpec, SizeSeries, read_series)
from zimage_site.errors import Problem, SiteError

if TYPE_CHECKING:
    from zimage_site.data import FactsFile

__all__ = ["CHARTS", "FACTS_FILE", "STRINGS_FILE", "Chart", "ChartDataError", "ChartStringError", "render_chart"]

STRINGS_FILE = "templates/i18n/charts.yaml"

# Geometry of the horizontal bar charts (SVG user units; the SVG scales to its container).
WIDTH = 640
LABEL_W = 190  # the model-name column
VALUE_W = 92  # room right of the longest bar for its value label
ROW_H = 30
BAR_H = 18
TOP = 12
AXIS_H = 28


class ChartStringError(SiteError):
    """A UI string a chart needs is not defined in templates/i18n/charts.yaml."""


@dataclass(frozen=True)
class Chart:
    html: Markup
    facts: list[str]  # the keys of the facts it shows (the page dates its facts by them)


class Strings:
    """The UI strings of one language, as a chart's template and code read them: `t(key, **fields)`."""

    def __init__(self, chart_id: str, strings: Mapping[str, str]):
        self.chart_id = chart_id
        self.strings = strings

    def __call__(self, key: str, **fields: Any) -> str:
        try:
            template = self.strings[key]
        except KeyError:
            raise ChartStringError(Problem(f"chart {self.chart_id!r}: the UI string {key!r} is not defined",
                                           file=STRINGS_FILE, key=key,
                                           fix=f"add {key}: with its text in every language to {STRINGS_FILE}")) from None
        return template.format(**fields) if fields else template


@dataclass(frozen=True)
class ChartSpec:
    series: SeriesSpec
    draw: Callable[[Strings, ChartSeries], dict]  # the template's values
    check: Callable[[ChartSeries, FactResolver], None] | None = None  # checks across entries


def render_chart(chart_id: str, facts_file: FactsFile, lang: str, strings: Mapping[str, str], jinja,
                 lines: Mapping[str, int] | None = None) -> Chart:
    """The chart `chart_id` in `lang`, from facts.yaml (its model; `lines`: the line of each
    key path of it, for the errors). Raises ChartDataError when its series cannot be drawn,
    ChartStringError when a UI string is missing."""
    if chart_id not in CHARTS:  # the ::: chart block checks the id first, naming the section's line
        raise ValueError(f"unknown chart {chart_id!r}; known charts: {', '.join(sorted(CHARTS))}")
    spec = CHARTS[chart_id]
    series = read_series(chart_id, spec.series, facts_file, lines, spec.check)
    t = Strings(chart_id, strings)
    values = spec.draw(t, series)
    html = jinja.get_template(f"blocks/charts/{chart_id}.html").render(
        id=chart_id, base=f"chart-{chart_id}", lang=lang, t=t, sources=series.sources,
        as_of=series.fields.get("as_of"), **values)
    return Chart(Markup(_tight(html)), series.facts)


def _tight(html: str) -> str:
    """The templates are written one element a line: the line breaks between two tags are not
    part of the figure (text is escaped, so it never holds a `<` or `>`)."""
    return re.sub(r">[ \t]*\n\s*<", "><", html.strip())


# --- helpers --------------------------------------------------------------------------------------


def num(value: float) -> str:
    """2 -> "2", 2.5 -> "2.5" (no trailing zeros)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def _nice_step(span: float, target_ticks: int = 5) -> float:
    raw = span / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return m * magnitude
    return 10 * magnitude


def _ticks(lo: float, hi: float) -> tuple[list[float], float]:
    step = _nice_step(hi - lo)
    top = math.ceil(hi / step) * step
    n = int(round((top - lo) / step))
    return [lo + i * step for i in range(n + 1)], top


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: where its label, bar(s) and value go."""

    name: str
    y: float  # the top of the row
    ends: list[float]  # the x where each stacked part ends (the first starts at LABEL_W)
    value: str
    highlight: bool
    open: bool = False
    classes: list[str] = field(default_factory=list)  # the classes of each stacked part

    @property
    def text_y(self) -> float:
        return self.y + ROW_H / 2 + 4

    @property
    def bar_y(self) -> float:
        return self.y + (ROW_H - BAR_H) / 2


def _axis(scale: Callable[[float], float], ticks: list[float]) -> list[Tick]:
    return [Tick(scale(tick), num(tick)) for tick in ticks]


_GEOMETRY = dict(width=WIDTH, label_w=LABEL_W, bar_h=BAR_H, top=TOP)


# --- the charts -----------------------------------------------------------------------------------


def _by_elo(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: -float(e["elo"]))


def _check_arena(series: ChartSeries, r: FactResolver) -> None:
    path = series.path
    highlighted = [e for e in series.entries if e["highlight"]]
    if len(highlighted) != 1:
        names = ", ".join(e["name"] for e in highlighted) or "none"
        r.fail(f"{path}.entries", f"{len(highlighted)} entries have highlight: true ({names})",
               "mark exactly one entry, the model whose rank the chart states, with highlight: true")
        return
    ranked = _by_elo(series.entries)
    axis_min, lowest = series.fields["axis_min"], ranked[-1]
    if axis_min >= lowest["elo"]:
        r.fail(f"{path}.axis_min", f"the axis starts at {num(axis_min)}, not below the lowest Elo in the chart "
               f"({lowest['name']}, {num(lowest['elo'])}), so its bar would have no length",
               f"write a number below {num(lowest['elo'])}, e.g. axis_min: {num(_round_down(lowest['elo']))}")
    hl = highlighted[0]
    rank = ranked.index(hl) + 1
    if rank != series.fields["rank"]:
        r.fail(f"{path}.rank", f"the fact {series.raw['rank']} says #{num(series.fields['rank'])}, but by their Elo "
               f"the entries put {hl['name']} at #{rank}", f"correct the fact {series.raw['rank']} or the Elo facts "
               "of the entries, so that the caption and the bars agree")
    if not hl["open"]:
        r.fail(f"{path}.entries[{series.entries.index(hl)}].open", f"{hl['name']} is highlighted but not open, so it "
               f"has no rank among the open models that {series.raw['open_rank']} could state",
               "write open: true for an open-weights model, or highlight an open model")
    else:
        open_rank = [e for e in ranked if e["open"]].index(hl) + 1
        if open_rank != series.fields["open_rank"]:
            r.fail(f"{path}.open_rank", f"the fact {series.raw['open_rank']} says #{num(series.fields['open_rank'])}, "
                   f"but among the open entries {hl['name']} is #{open_rank}",
                   f"correct the fact {series.raw['open_rank']}, or the open: flags or Elo facts of the entries")


def _round_down(value: float) -> float:
    """A round number below `value` where an axis can start: 936 -> 900, 900 -> 800."""
    step = 10 ** max(math.floor(math.log10(abs(value))) - 1, 0) if value else 1
    lower = math.floor(value / step) * step
    return lower if lower < value else lower - step


def _arena_elo(t: Strings, series: ChartSeries) -> dict:
    entries = _by_elo(series.entries)
    axis_min = float(series.fields["axis_min"])
    ticks, axis_max = _ticks(axis_min, max(float(e["elo"]) for e in entries))
    plot_w = WIDTH - LABEL_W - VALUE_W

    def scale(v: float) -> float:
        return LABEL_W + (v - axis_min) / (axis_max - axis_min) * plot_w

    date = str(series.fields["as_of"])
    highlight = next(e for e in entries if e["highlight"])
    rank, open_rank = num(series.fields["rank"]), num(series.fields["open_rank"])
    open_word = t("chart_open")
    rows_h = ROW_H * len(entries)
    title = t("chart_arena_title", date=date)
    items = t("chart_list_sep").join(
        f"{e['name']} {num(e['elo'])}" + (t("chart_open_mark", word=open_word) if e.get("open") else "")
        for e in entries)
    desc = t("chart_arena_desc", count=len(entries), axis_min=num(axis_min), highlight=highlight["name"],
             elo=num(highlight["elo"]), rank=rank, open_rank=open_rank, top=entries[0]["name"],
             top_elo=num(entries[0]["elo"]), bottom=entries[-1]["name"], bottom_elo=num(entries[-1]["elo"]),
             items=items)
    bars = []
    for i, e in enumerate(entries):
        classes = ["chart__bar"] + ["chart__bar--open"] * bool(e.get("open")) + \
            ["chart__bar--highlight"] * bool(e.get("highlight"))
        bars.append(Bar(e["name"], TOP + i * ROW_H, [scale(float(e["elo"]))],
                        num(e["elo"]) + (f" · {open_word}" if e.get("open") else ""),
                        bool(e.get("highlight")), bool(e.get("open")), [" ".join(classes)]))
    return dict(_GEOMETRY, height=TOP + rows_h + AXIS_H, title=title, desc=desc, axis=_axis(scale, ticks),
                rows_top=TOP, rows_bottom=TOP + rows_h, bars=bars, elo=[num(e["elo"]) for e in entries],
                caption=t("chart_arena_caption", date=date, rank=rank, open_rank=open_rank, axis_min=num(axis_min)))


def _check_model_size(series: ChartSeries, r: FactResolver) -> None:
    for i, e in enumerate(series.entries):
        if e["text_encoder"] is not None and not e["text_encoder_name"]:
            r.fail(f"{series.path}.entries[{i}].text_encoder_name", "the text encoder has no name",
                   "write text_encoder_name: the model used as text encoder, e.g. Qwen3-4B")


def _model_size(t: Strings, series: ChartSeries) -> dict:
    entries = series.entries
    totals = [float(e["dit"]) + float(e.get("text_encoder") or 0) for e in entries]
    ticks, axis_max = _ticks(0.0, max(totals))
    legend_h = 26
    plot_w = WIDTH - LABEL_W - VALUE_W

    def scale(v: float) -> float:
        return LABEL_W + v / axis_max * plot_w

    rows_h = ROW_H * len(entries)
    top = TOP + legend_h
    items = t("chart_list_sep").join(
        t("chart_size_item", name=e["name"], dit=num(e["dit"]), te=num(e.get("text_encoder") or 0),
          te_name=e.get("text_encoder_name", ""), total=num(total))
        for e, total in zip(entries, totals))
    bars = []
    for i, (e, total) in enumerate(zip(entries, totals)):
        hl = " chart__bar--highlight" if e.get("highlight") else ""
        te = float(e.get("text_encoder") or 0)
        ends = [scale(float(e["dit"]))] + ([scale(total)] if te else [])
        classes = [f"chart__bar{hl}"] + ([f"chart__bar chart__bar--te{hl}"] if te else [])
        value = f"{num(e['dit'])}B + {num(te)}B" if te else f"{num(e['dit'])}B"
        bars.append(Bar(e["name"], top + i * ROW_H, ends, value, bool(e.get("highlight")), classes=classes))
    table = [dict(name=e["name"], dit=num(e["dit"]), te=num(e.get("text_encoder") or 0),
                  te_name=e.get("text_encoder_name", ""), total=num(total), highlight=bool(e.get("highlight")))
             for e, total in zip(entries, totals)]
    return dict(_GEOMETRY, height=top + rows_h + AXIS_H, title=t("chart_size_title"),
                desc=t("chart_size_desc", count=len(entries), items=items), axis=_axis(scale, ticks),
                rows_top=top, rows_bottom=top + rows_h, bars=bars, table=table, caption=t("chart_size_caption"))


def _architecture(t: Strings, series: ChartSeries) -> dict:
    from zimage_site.diagram import s3_dit

    return s3_dit(t, {k: num(v) for k, v in series.fields.items()})


CHARTS: dict[str, ChartSpec] = {
    "architecture": ChartSpec(SeriesSpec("s3_dit", ArchitectureSeries), draw=_architecture),
    "arena-elo": ChartSpec(SeriesSpec("arena_elo", ArenaSeries), draw=_arena_elo, check=_check_arena),
    "model-size": ChartSpec(SeriesSpec("model_size", SizeSeries), draw=_model_size, check=_check_model_size),
}
