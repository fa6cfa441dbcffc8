"""Inline, accessible SVG charts built from the facts data at build time.

`render_chart(chart_id, data, lang, strings)` returns one `<figure class="chart">` holding:

- a `<figcaption>` first (HTML allows it only as the first or last child), then
- an `<svg role="img" aria-labelledby="…">` with a `<title>` and a `<desc>` that states the numbers
  in words, so a screen reader gets the chart's message;
- the same numbers as a real `<table>` inside a `<details>` (readable, copyable, printable);
- a visible source line linking every source the chart draws on.

Colours come from CSS classes (`chart__bar`, `chart__bar--highlight`, `chart__bar--te`, …), never
from inline colours, so the light and dark themes both work. Every string from the data is escaped.

The data is `data["facts"]["series"][<series>]` of content/data/facts.yaml. A series holds no
number of its own: each value it plots or prints is the key of a fact (`elo: arena_elo`), and the
chart reads the value from `facts:` and links the fact's source from `sources:`. Only display
settings (where an axis starts) are literal. Each series is a model (`ArenaSeries`, `SizeSeries`,
`ArchitectureSeries`, zimage_site/model.py), checked before anything is drawn, its fact keys then
resolved: a mistake is a `ContentError` naming facts.yaml, the line, the key path and the fix.

UI strings come from `strings` (templates/i18n/charts.yaml, merged by the engine); a key missing
there is a bug and raises `KeyError`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as field_of_dataclass
from typing import Annotated, Any

from markupsafe import Markup, escape
from pydantic import BeforeValidator

from zimage_site.data import text as localized
from zimage_site.errors import ContentError, Problem
from zimage_site.model import Strict, check, extra_of, field, line_of, refused, validate

__all__ = ["CHARTS", "FACTS_FILE", "STRINGS_FILE", "chart_facts", "render_chart"]

FACTS_FILE = "content/data/facts.yaml"
STRINGS_FILE = "templates/i18n/charts.yaml"

_HL_ROW = ' class="chart__table-highlight"'

# Geometry of the horizontal bar charts (SVG user units; the SVG scales to its container).
WIDTH = 640
LABEL_W = 190  # the model-name column
VALUE_W = 92  # room right of the longest bar for its value label
ROW_H = 30
BAR_H = 18
TOP = 12
AXIS_H = 28


def render_chart(chart_id: str, data: Mapping[str, Any], lang: str, strings: Mapping[str, str],
                 lines: Mapping[str, int] | None = None) -> Markup:
    """Render the chart `chart_id` as safe HTML, in `lang`, from the loaded data files.

    `data` maps data file names to their content (`{"facts": <facts.yaml>}`); `strings` maps UI
    string keys to their text in `lang`; `lines` are facts.yaml's (key path → line). Raises a
    `ContentError` naming facts.yaml's line, key and fix when the chart's series is not usable,
    `KeyError` when a UI string is missing.
    """
    try:
        spec = CHARTS[chart_id]
    except KeyError as exc:
        known = ", ".join(sorted(CHARTS))
        raise ValueError(f"unknown chart {chart_id!r}; known charts: {known}") from exc
    series = _read_series(chart_id, spec, data.get("facts"), lines)
    return spec.draw(_Ctx(chart_id, lang, strings), series)


class _Ctx:
    """What every chart builder needs: its id, the language and its UI strings."""

    def __init__(self, chart_id: str, lang: str, strings: Mapping[str, str]):
        self.chart_id = chart_id
        self.lang = lang
        self.strings = strings

    def t(self, key: str, **fields: Any) -> str:
        try:
            template = self.strings[key]
        except KeyError as exc:
            raise KeyError(f"the UI string {key!r} is not defined; "
                           f"add {key}: {{zh: …, en: …}} to {STRINGS_FILE}") from exc
        return template.format(**fields) if fields else template


# --- the series: typed, read and checked before anything is drawn ----------------------------------

# What a series field names: the key of a fact whose value is a number, a positive number, a whole
# number >= 1 (a rank) or a date. Display settings and labels are literal fields of the model.
FACT_NUMBER, FACT_POSITIVE, FACT_RANK, FACT_DATE = "fact-number", "fact-positive", "fact-rank", "fact-date"


def _fact_key(value: Any) -> Any:
    """A fact's key; a number or a date written in its place is refused with the reason."""
    if isinstance(value, str):
        return value
    if _is_number(value) or isinstance(value, dt.date):
        raise refused(f"{_kind_of(value)} is written here, but a chart takes its numbers and dates from facts",
                      "add it under facts: (value, source, verdict, as_of) or reuse the fact that holds it, "
                      "then write its key here (e.g. {example})")
    raise refused(f"expected the key of a fact, found {_kind_of(value)}",
                  "write the key of a fact under facts: (e.g. {example})")


FactKey = Annotated[str, BeforeValidator(_fact_key)]
Name = Annotated[str, check(lambda v: None if v.strip() else "the text is empty")]
Number = Annotated[float, check(lambda v: None if math.isfinite(v) else f"the number {v} is not finite")]


def ref(kind: str, example: str, doc: str, required: bool = True) -> Any:
    """A field of a series that names a fact (`elo: arena_elo`) of `kind`."""
    return field(... if required else None, doc=doc, example=example, fact=kind,
                 fix="write {name}: FACT-KEY, the key of a fact under facts: (e.g. {name}: {example})")


def _entries(fix: str) -> Any:
    return field(fix=fix)


_NONEMPTY = check(lambda v: None if v else "expected a list of entries, found an empty list")


class ArenaEntry(Strict):
    name: Name = field(doc="the model's name", fix="write name: followed by a text")
    elo: FactKey = ref(FACT_NUMBER, "arena_elo", "the Elo")
    open: bool = False
    highlight: bool = False


class ArenaSeries(Strict):
    """`series: arena_elo:` of facts.yaml, drawn by ::: chart arena-elo."""

    as_of: FactKey = ref(FACT_DATE, "arena_as_of", "the date of the snapshot")
    rank: FactKey = ref(FACT_RANK, "arena_rank", "the highlighted model's rank")
    open_rank: FactKey = ref(FACT_RANK, "arena_open_rank", "its rank among open models")
    axis_min: Number = field(0, doc="where the axis starts", fix="write axis_min: followed by a number")
    entries: Annotated[list[ArenaEntry], _NONEMPTY] = _entries("write one entry per bar: - {name: …, elo: …}")


class SizeEntry(Strict):
    name: Name = field(doc="the model's name", fix="write name: followed by a text")
    dit: FactKey = ref(FACT_POSITIVE, "params", "the diffusion transformer's size")
    text_encoder: FactKey | None = ref(FACT_POSITIVE, "te_params", "the text encoder's size", required=False)
    text_encoder_name: str = ""
    highlight: bool = False


class SizeSeries(Strict):
    """`series: model_size:` of facts.yaml, drawn by ::: chart model-size."""

    as_of: FactKey = ref(FACT_DATE, "turbo_release", "the date of the data")
    entries: Annotated[list[SizeEntry], _NONEMPTY] = _entries("write one entry per bar: - {name: …, dit: …}")


class ArchitectureSeries(Strict):
    """`series: s3_dit:` of facts.yaml, drawn by ::: chart architecture (zimage_site/diagram.py)."""

    params: FactKey = ref(FACT_POSITIVE, "params_exact", "the parameters counted from the config (billions)")
    layers: FactKey = ref(FACT_POSITIVE, "dit_layers", "the main transformer layers")
    hidden: FactKey = ref(FACT_POSITIVE, "hidden_size", "the transformer's hidden size")
    heads: FactKey = ref(FACT_POSITIVE, "attention_heads", "the attention heads")
    refiners: FactKey = ref(FACT_POSITIVE, "refiner_blocks", "the refiner blocks of each stream")
    te_layers: FactKey = ref(FACT_POSITIVE, "te_layers", "the text encoder's layers")
    te_hidden: FactKey = ref(FACT_POSITIVE, "te_hidden", "the text encoder's hidden size")
    max_tokens: FactKey = ref(FACT_POSITIVE, "max_prompt_tokens", "the longest prompt in tokens")
    latent_channels: FactKey = ref(FACT_POSITIVE, "latent_channels", "the VAE latent channels")
    rope_axes: FactKey = ref(FACT_POSITIVE, "rope_axes", "the axes of the unified RoPE")


@dataclass(frozen=True)
class ChartSpec:
    series: str                        # the key under `series:`
    model: type[Strict]                # what the series holds
    draw: Callable[[_Ctx, Series], Markup]
    check: Callable[[Series, _Resolver], None] | None = None  # checks across entries


@dataclass
class Series:
    """A series with every fact key replaced by the fact's value, and the sources it drew on."""

    name: str
    fields: dict[str, Any]
    entries: list[dict[str, Any]]
    sources: list[Mapping[str, Any]] = field_of_dataclass(default_factory=list)  # ordered, without duplicates
    facts: list[str] = field_of_dataclass(default_factory=list)  # the keys of the facts it shows, without duplicates
    typed: Strict | None = None  # the series as its model read it (fact keys, not values)


class _Resolver:
    """Looks up the facts a typed series names, collecting what is wrong as (key path, what, fix)."""

    def __init__(self, facts_file: Any, raw: Mapping[str, Any]):
        self.problems: list[tuple[str, str, str]] = []
        self.keys: dict[str, None] = {}  # the facts read, in order
        facts_file = facts_file if isinstance(facts_file, Mapping) else {}
        self.facts = facts_file.get("facts") if isinstance(facts_file.get("facts"), Mapping) else {}
        self.sources = facts_file.get("sources") if isinstance(facts_file.get("sources"), Mapping) else {}
        self.raw = raw  # the series as written (for messages that quote a fact key)

    def fail(self, path: str, what: str, fix: str) -> None:
        self.problems.append((path, what, fix))

    def values(self, model: Strict, path: str, used: list[str]) -> dict[str, Any]:
        """The model's fields, each fact key replaced by the fact's value (entries aside)."""
        out = {}
        for name, info in type(model).model_fields.items():
            if name == "entries":
                continue
            value, extra = getattr(model, name), extra_of(info)
            if value is not None and extra.get("fact"):
                value = self.fact(value, extra["fact"], f"{path}.{name}", used)
            out[name] = value
        return out

    def fact(self, key: str, kind: str, where: str, used: list[str]) -> Any:
        fact = self.facts.get(key)
        if fact is None:
            close = difflib.get_close_matches(key, list(self.facts), n=3)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            self.fail(where, f"unknown fact {key!r}", f"{hint}add {key} under facts: with value, source and verdict, "
                                                       "or use the key of an existing fact")
            return None
        self.keys[key] = None
        value, fact_path = fact.get("value"), f"facts.{key}.value"
        if kind == FACT_DATE:
            if not isinstance(value, (str, dt.date)) or not str(value).strip():
                self.fail(fact_path, f"{where} needs a date, found {_kind_of(value)}", 'write the date, e.g. value: "2025-11-26"')
                return None
        elif kind == FACT_RANK:
            if not _is_number(value) or not float(value).is_integer() or value < 1:
                self.fail(fact_path, f"{where} needs a rank (a whole number from 1), found {_kind_of(value)}",
                          "write the rank, e.g. value: 4")
                return None
        elif not _is_number(value) or not math.isfinite(value):
            self.fail(fact_path, f"{where} plots it, but it is {_kind_of(value)}, not a number",
                      "write the number alone as the value (units and wording belong in display:)")
            return None
        elif kind == FACT_POSITIVE and value <= 0:
            self.fail(fact_path, f"{where} plots it as a size, but it is {value}", "write a number above 0")
            return None
        source_key = fact.get("source")
        source = self.sources.get(source_key) if isinstance(source_key, str) else None
        if not isinstance(source, Mapping) or not source.get("url") or not source.get("title"):
            known = ", ".join(self.sources) or "(none yet)"
            self.fail(f"facts.{key}.source", f"the chart links the source of every value it shows, "
                      f"and {source_key!r} is not a source with a title and a url",
                      f"name one of the sources: {known}")
            return None
        used.append(source_key)
        return value


def _read_series(chart_id: str, spec: ChartSpec, facts_file: Any, lines: Mapping[str, int] | None) -> Series:
    """The series of `spec` as its model, every fact key resolved; a SiteError lists what is wrong,
    each problem with facts.yaml's line."""
    lines = lines or {}
    path = f"series.{spec.series}"
    all_series = facts_file.get("series") if isinstance(facts_file, Mapping) else None
    raw = all_series.get(spec.series) if isinstance(all_series, Mapping) else None

    def error(problems: list[Problem]) -> ContentError:
        for p in problems:
            p.message = f"chart {chart_id!r}: {p.message}"
        return ContentError(problems)

    def problem(key: str, what: str, fix: str) -> Problem:
        return Problem(what, file=FACTS_FILE, line=line_of(dict(lines), key, None), key=key, fix=fix)

    if raw is None:
        raise error([problem(path, "the series is missing",
                             f"add series: {spec.series}: with {', '.join(spec.model.model_fields)} "
                             "(see the other series)")])
    try:
        typed = validate(raw, spec.model, FACTS_FILE, dict(lines), error=ContentError, at=path, default_line=None,
                         top="expected a series (a mapping)")
    except ContentError as exc:
        raise error(exc.problems) from None
    r = _Resolver(facts_file, raw)
    series_sources: list[str] = []
    entry_sources: list[str] = []
    fields = r.values(typed, path, series_sources)
    entries = [r.values(entry, f"{path}.entries[{i}]", entry_sources)
               for i, entry in enumerate(getattr(typed, "entries", []))]
    series = Series(spec.series, fields, entries, typed=typed)
    if not r.problems and spec.check:
        spec.check(series, r)
    if r.problems:
        raise error([problem(*p) for p in r.problems])
    series.sources = [r.sources[key] for key in dict.fromkeys(entry_sources + series_sources)]
    series.facts = list(r.keys)
    return series


def chart_facts(chart_id: str, data: Mapping[str, Any], lines: Mapping[str, int] | None = None) -> list[str]:
    """The keys of the facts the chart `chart_id` shows (the page dates its facts by them)."""
    return _read_series(chart_id, CHARTS[chart_id], data.get("facts"), lines).facts


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the flag {str(value).lower()}"
    if _is_number(value):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dt.date):
        return f"the date {value}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return type(value).__name__


# --- helpers --------------------------------------------------------------------------------------


def _num(value: float) -> str:
    """2 -> "2", 2.5 -> "2.5" (no trailing zeros)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def _figure(ctx: _Ctx, *, svg: str, caption: str, table: str, series: Series) -> Markup:
    base = f"chart-{ctx.chart_id}"
    links = [
        f'<a href="{escape(src["url"])}">{escape(localized(src["title"], ctx.lang))}</a>' for src in series.sources
    ]
    colon = str(escape(ctx.t("chart_colon")))
    as_of = series.fields.get("as_of")
    as_of_html = (
        f'<span class="chart__as-of">{escape(ctx.t("chart_as_of"))}{colon}{escape(str(as_of))}</span>'
        if as_of
        else ""
    )
    html = (
        f'<figure class="chart chart--{escape(ctx.chart_id)}" id="{base}-figure">'
        f'<figcaption class="chart__caption">{escape(caption)}</figcaption>'
        f"{svg}"
        f'<details class="chart__data"><summary>{escape(ctx.t("chart_data"))}</summary>{table}</details>'
        f'<p class="chart__source">{escape(ctx.t("chart_source"))}{colon}{str(escape(ctx.t("chart_list_sep"))).join(links)}'
        f"{' ' + as_of_html if as_of_html else ''}</p>"
        "</figure>"
    )
    return Markup(html)


def _svg_open(ctx: _Ctx, height: int, title: str, desc: str) -> str:
    base = f"chart-{ctx.chart_id}"
    return (
        f'<svg class="chart__svg" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{base}-title {base}-desc" focusable="false">'
        f'<title id="{base}-title">{escape(title)}</title>'
        f'<desc id="{base}-desc">{escape(desc)}</desc>'
    )


def _axis(scale: Callable[[float], float], ticks: list[float], y_top: int, y_bottom: int) -> str:
    parts = ['<g class="chart__axis" aria-hidden="true">']
    for tick in ticks:
        x = scale(tick)
        parts.append(
            f'<line class="chart__grid" x1="{x:.1f}" x2="{x:.1f}" y1="{y_top}" y2="{y_bottom}"/>'
            f'<text class="chart__tick" x="{x:.1f}" y="{y_bottom + 16}" text-anchor="middle">{escape(_num(tick))}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


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


# --- the charts -----------------------------------------------------------------------------------


def _by_elo(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: -float(e["elo"]))


def _check_arena(series: Series, r: _Resolver) -> None:
    path = f"series.{series.name}"
    highlighted = [e for e in series.entries if e["highlight"]]
    if len(highlighted) != 1:
        names = ", ".join(e["name"] for e in highlighted) or "none"
        r.fail(f"{path}.entries", f"{len(highlighted)} entries have highlight: true ({names})",
               "mark exactly one entry, the model whose rank the chart states, with highlight: true")
        return
    ranked = _by_elo(series.entries)
    axis_min, lowest = series.fields["axis_min"], ranked[-1]
    if axis_min >= lowest["elo"]:
        r.fail(f"{path}.axis_min", f"the axis starts at {_num(axis_min)}, not below the lowest Elo in the chart "
               f"({lowest['name']}, {_num(lowest['elo'])}), so its bar would have no length",
               f"write a number below {_num(lowest['elo'])}, e.g. axis_min: {_num(_round_down(lowest['elo']))}")
    hl = highlighted[0]
    rank = ranked.index(hl) + 1
    if rank != series.fields["rank"]:
        r.fail(f"{path}.rank", f"the fact {r.raw['rank']} says #{_num(series.fields['rank'])}, but by their Elo the "
               f"entries put {hl['name']} at #{rank}", f"correct the fact {r.raw['rank']} or the Elo facts of the "
               "entries, so that the caption and the bars agree")
    if not hl["open"]:
        r.fail(f"{path}.entries[{series.entries.index(hl)}].open", f"{hl['name']} is highlighted but not open, so it "
               f"has no rank among the open models that {r.raw['open_rank']} could state",
               "write open: true for an open-weights model, or highlight an open model")
    else:
        open_rank = [e for e in ranked if e["open"]].index(hl) + 1
        if open_rank != series.fields["open_rank"]:
            r.fail(f"{path}.open_rank", f"the fact {r.raw['open_rank']} says #{_num(series.fields['open_rank'])}, "
                   f"but among the open entries {hl['name']} is #{open_rank}",
                   f"correct the fact {r.raw['open_rank']}, or the open: flags or Elo facts of the entries")


def _round_down(value: float) -> float:
    """A round number below `value` where an axis can start: 936 -> 900, 900 -> 800."""
    step = 10 ** max(math.floor(math.log10(abs(value))) - 1, 0) if value else 1
    lower = math.floor(value / step) * step
    return lower if lower < value else lower - step


def _arena_elo(ctx: _Ctx, series: Series) -> Markup:
    entries = _by_elo(series.entries)
    axis_min = float(series.fields["axis_min"])
    ticks, axis_max = _ticks(axis_min, max(float(e["elo"]) for e in entries))
    plot_w = WIDTH - LABEL_W - VALUE_W

    def scale(v: float) -> float:
        return LABEL_W + (v - axis_min) / (axis_max - axis_min) * plot_w

    date = str(series.fields["as_of"])
    highlight = next(e for e in entries if e["highlight"])
    rank, open_rank = _num(series.fields["rank"]), _num(series.fields["open_rank"])
    open_word, closed_word = ctx.t("chart_open"), ctx.t("chart_closed")

    rows_h = ROW_H * len(entries)
    height = TOP + rows_h + AXIS_H
    title = ctx.t("chart_arena_title", date=date)
    items = ctx.t("chart_list_sep").join(
        f"{e['name']} {_num(e['elo'])}" + (ctx.t("chart_open_mark", word=open_word) if e.get("open") else "")
        for e in entries
    )
    desc = ctx.t(
        "chart_arena_desc",
        count=len(entries),
        axis_min=_num(axis_min),
        highlight=highlight["name"],
        elo=_num(highlight["elo"]),
        rank=rank,
        open_rank=open_rank,
        top=entries[0]["name"],
        top_elo=_num(entries[0]["elo"]),
        bottom=entries[-1]["name"],
        bottom_elo=_num(entries[-1]["elo"]),
        items=items,
    )
    svg = [_svg_open(ctx, height, title, desc)]
    svg.append(_axis(scale, ticks, TOP, TOP + rows_h))
    svg.append('<g class="chart__rows" aria-hidden="true">')
    for i, e in enumerate(entries):
        y = TOP + i * ROW_H
        classes = ["chart__bar"]
        if e.get("open"):
            classes.append("chart__bar--open")
        if e.get("highlight"):
            classes.append("chart__bar--highlight")
        row_cls = "chart__row chart__row--highlight" if e.get("highlight") else "chart__row"
        x_end = scale(float(e["elo"]))
        value = _num(e["elo"]) + (f" · {open_word}" if e.get("open") else "")
        svg.append(
            f'<g class="{row_cls}">'
            f'<text class="chart__label" x="{LABEL_W - 8}" y="{y + ROW_H / 2 + 4:.1f}" text-anchor="end">{escape(e["name"])}</text>'
            f'<rect class="{" ".join(classes)}" x="{LABEL_W}" y="{y + (ROW_H - BAR_H) / 2:.1f}" '
            f'width="{max(x_end - LABEL_W, 1):.1f}" height="{BAR_H}" rx="3"/>'
            f'<text class="chart__value" x="{x_end + 6:.1f}" y="{y + ROW_H / 2 + 4:.1f}">{escape(value)}</text>'
            "</g>"
        )
    svg.append("</g></svg>")

    head = (
        f'<tr><th scope="col">{escape(ctx.t("chart_arena_rank"))}</th>'
        f'<th scope="col">{escape(ctx.t("chart_model"))}</th>'
        f'<th scope="col">{escape(ctx.t("chart_arena_elo"))}</th>'
        f'<th scope="col">{escape(ctx.t("chart_weights"))}</th></tr>'
    )
    body = "".join(
        f"<tr{_HL_ROW if e.get('highlight') else ''}>"
        f"<td>{i}</td><th scope=\"row\">{escape(e['name'])}</th><td>{escape(_num(e['elo']))}</td>"
        f"<td>{escape(open_word if e.get('open') else closed_word)}</td></tr>"
        for i, e in enumerate(entries, start=1)
    )
    table = f'<table class="chart__table"><caption>{escape(title)}</caption><thead>{head}</thead><tbody>{body}</tbody></table>'
    caption = ctx.t("chart_arena_caption", date=date, rank=rank, open_rank=open_rank, axis_min=_num(axis_min))
    return _figure(ctx, svg="".join(svg), caption=caption, table=table, series=series)


def _check_model_size(series: Series, r: _Resolver) -> None:
    for i, e in enumerate(series.entries):
        if e["text_encoder"] is not None and not e["text_encoder_name"]:
            r.fail(f"series.{series.name}.entries[{i}].text_encoder_name", "the text encoder has no name",
                   "write text_encoder_name: the model used as text encoder, e.g. Qwen3-4B")


def _model_size(ctx: _Ctx, series: Series) -> Markup:
    entries = series.entries
    totals = [float(e["dit"]) + float(e.get("text_encoder") or 0) for e in entries]
    ticks, axis_max = _ticks(0.0, max(totals))
    legend_h = 26
    plot_w = WIDTH - LABEL_W - VALUE_W

    def scale(v: float) -> float:
        return LABEL_W + v / axis_max * plot_w

    rows_h = ROW_H * len(entries)
    top = TOP + legend_h
    height = top + rows_h + AXIS_H
    title = ctx.t("chart_size_title")
    items = ctx.t("chart_list_sep").join(
        ctx.t(
            "chart_size_item",
            name=e["name"],
            dit=_num(e["dit"]),
            te=_num(e.get("text_encoder") or 0),
            te_name=e.get("text_encoder_name", ""),
            total=_num(total),
        )
        for e, total in zip(entries, totals)
    )
    desc = ctx.t("chart_size_desc", count=len(entries), items=items)

    svg = [_svg_open(ctx, height, title, desc)]
    # legend
    svg.append(
        '<g class="chart__legend" aria-hidden="true">'
        f'<rect class="chart__bar chart__swatch" x="{LABEL_W}" y="{TOP}" width="14" height="14" rx="2"/>'
        f'<text class="chart__legend-label" x="{LABEL_W + 20}" y="{TOP + 12}">{escape(ctx.t("chart_size_dit"))}</text>'
        f'<rect class="chart__bar chart__bar--te chart__swatch" x="{LABEL_W + 190}" y="{TOP}" width="14" height="14" rx="2"/>'
        f'<text class="chart__legend-label" x="{LABEL_W + 210}" y="{TOP + 12}">{escape(ctx.t("chart_size_te"))}</text>'
        "</g>"
    )
    svg.append(_axis(scale, ticks, top, top + rows_h))
    svg.append('<g class="chart__rows" aria-hidden="true">')
    for i, (e, total) in enumerate(zip(entries, totals)):
        y = top + i * ROW_H
        bar_y = y + (ROW_H - BAR_H) / 2
        hl = " chart__bar--highlight" if e.get("highlight") else ""
        row_cls = "chart__row chart__row--highlight" if e.get("highlight") else "chart__row"
        x_dit = scale(float(e["dit"]))
        x_end = scale(total)
        te = float(e.get("text_encoder") or 0)
        value = f"{_num(e['dit'])}B + {_num(te)}B" if te else f"{_num(e['dit'])}B"
        svg.append(
            f'<g class="{row_cls}">'
            f'<text class="chart__label" x="{LABEL_W - 8}" y="{y + ROW_H / 2 + 4:.1f}" text-anchor="end">{escape(e["name"])}</text>'
            f'<rect class="chart__bar{hl}" x="{LABEL_W}" y="{bar_y:.1f}" width="{max(x_dit - LABEL_W, 1):.1f}" height="{BAR_H}" rx="3"/>'
        )
        if te:
            svg.append(
                f'<rect class="chart__bar chart__bar--te{hl}" x="{x_dit:.1f}" y="{bar_y:.1f}" '
                f'width="{max(x_end - x_dit, 1):.1f}" height="{BAR_H}" rx="3"/>'
            )
        svg.append(
            f'<text class="chart__value" x="{x_end + 6:.1f}" y="{y + ROW_H / 2 + 4:.1f}">{escape(value)}</text></g>'
        )
    svg.append("</g></svg>")

    head = (
        f'<tr><th scope="col">{escape(ctx.t("chart_model"))}</th>'
        f'<th scope="col">{escape(ctx.t("chart_size_dit"))} (B)</th>'
        f'<th scope="col">{escape(ctx.t("chart_size_te"))} (B)</th>'
        f'<th scope="col">{escape(ctx.t("chart_size_total"))} (B)</th></tr>'
    )
    body = "".join(
        f"<tr{_HL_ROW if e.get('highlight') else ''}>"
        f"<th scope=\"row\">{escape(e['name'])}</th><td>{escape(_num(e['dit']))}</td>"
        f"<td>{escape(_num(e.get('text_encoder') or 0))} ({escape(e.get('text_encoder_name', ''))})</td>"
        f"<td>{escape(_num(total))}</td></tr>"
        for e, total in zip(entries, totals)
    )
    table = f'<table class="chart__table"><caption>{escape(title)}</caption><thead>{head}</thead><tbody>{body}</tbody></table>'
    return _figure(ctx, svg="".join(svg), caption=ctx.t("chart_size_caption"), table=table, series=series)


def _s3_dit(ctx: _Ctx, series: Series) -> Markup:
    from zimage_site.diagram import draw_s3_dit

    return draw_s3_dit(ctx, series, _figure)


CHARTS: dict[str, ChartSpec] = {
    "architecture": ChartSpec(series="s3_dit", model=ArchitectureSeries, draw=_s3_dit),
    "arena-elo": ChartSpec(series="arena_elo", model=ArenaSeries, draw=_arena_elo, check=_check_arena),
    "model-size": ChartSpec(series="model_size", model=SizeSeries, draw=_model_size, check=_check_model_size),
}
