"""Inline, accessible SVG charts built from the facts data at build time.

`render_chart(chart_id, data, lang, strings)` returns one `<figure class="chart">` holding:

- a `<figcaption>` first (HTML allows it only as the first or last child), then
- an `<svg role="img" aria-labelledby="…">` with a `<title>` and a `<desc>` that states the numbers
  in words, so a screen reader gets the chart's message;
- the same numbers as a real `<table>` inside a `<details>` (readable, copyable, printable);
- a visible source line linking every source the chart draws on.

Colours come from CSS classes (`chart__bar`, `chart__bar--highlight`, `chart__bar--te`, …), never
from inline colours, so the light and dark themes both work. Every string from the data is escaped.

The data is `data["facts"]["series"][<series>]` of content/data/facts.yaml; the sources are
`data["facts"]["sources"]`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

__all__ = ["CHARTS", "render_chart"]

# UI strings with their defaults; a key present in `strings` (templates/i18n.yaml) wins.
DEFAULT_STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "chart_source": "来源",
        "chart_data": "查看数据表",
        "chart_as_of": "数据日期",
        "chart_open": "开源",
        "chart_closed": "闭源",
        "chart_model": "模型",
        "chart_weights": "权重",
        "chart_arena_title": "阿里 AI Arena 文生图榜单 Elo（{date}）",
        "chart_arena_caption": "阿里 AI Arena 文生图 Elo 排名（{date}）：Z-Image-Turbo 总排名第 {rank}，开源模型第 {open_rank}。横轴从 {axis_min} 起，以便看清差距。",
        "chart_arena_desc": "横向条形图，{count} 个模型按 Elo 从高到低排列，横轴从 {axis_min} 起。{highlight} 的 Elo 为 {elo}，总排名第 {rank}，在开源模型中排名第 {open_rank}。最高的是 {top}（{top_elo}），最低的是 {bottom}（{bottom_elo}）。各模型分数：{items}。",
        "chart_arena_rank": "排名",
        "chart_arena_elo": "Elo",
        "chart_size_title": "模型规模对比：扩散 Transformer 与文本编码器参数量（十亿）",
        "chart_size_caption": "模型规模对比（单位：十亿参数）：深色为扩散 Transformer，浅色为文本编码器。",
        "chart_size_desc": "堆叠横向条形图，比较 {count} 个模型的参数量（十亿），每条分为扩散 Transformer 和文本编码器两段。{items}。",
        "chart_size_item": "{name}：扩散 Transformer {dit}B，文本编码器（{te_name}）{te}B，合计 {total}B",
        "chart_size_dit": "扩散 Transformer",
        "chart_size_te": "文本编码器",
        "chart_size_total": "合计",
        "chart_unit_b": "十亿参数",
        "chart_list_sep": "；",
        "chart_open_mark": "（{word}）",
    },
    "en": {
        "chart_source": "Source",
        "chart_data": "Show the data",
        "chart_as_of": "Data as of",
        "chart_open": "open weights",
        "chart_closed": "closed",
        "chart_model": "Model",
        "chart_weights": "Weights",
        "chart_arena_title": "Alibaba AI Arena text-to-image Elo ({date})",
        "chart_arena_caption": "Alibaba AI Arena text-to-image Elo ({date}): Z-Image-Turbo ranks #{rank} overall and #{open_rank} among open models. The axis starts at {axis_min} to make the gaps visible.",
        "chart_arena_desc": "Horizontal bar chart of {count} models sorted by Elo, axis starting at {axis_min}. {highlight} has an Elo of {elo}: #{rank} overall and #{open_rank} among open-weights models. The highest is {top} ({top_elo}), the lowest {bottom} ({bottom_elo}). Scores: {items}.",
        "chart_arena_rank": "Rank",
        "chart_arena_elo": "Elo",
        "chart_size_title": "Model size: diffusion transformer and text encoder parameters (billions)",
        "chart_size_caption": "Model size in billions of parameters: the dark segment is the diffusion transformer, the light one the text encoder.",
        "chart_size_desc": "Stacked horizontal bar chart comparing the parameter counts (billions) of {count} models, each bar split into the diffusion transformer and the text encoder. {items}.",
        "chart_size_item": "{name}: diffusion transformer {dit}B, text encoder ({te_name}) {te}B, {total}B in all",
        "chart_size_dit": "Diffusion transformer",
        "chart_size_te": "Text encoder",
        "chart_size_total": "Total",
        "chart_unit_b": "billion parameters",
        "chart_list_sep": "; ",
        "chart_open_mark": " ({word})",
    },
}

_HL_ROW = ' class="chart__table-highlight"'

# Geometry of the horizontal bar charts (SVG user units; the SVG scales to its container).
WIDTH = 640
LABEL_W = 190  # the model-name column
VALUE_W = 92  # room right of the longest bar for its value label
ROW_H = 30
BAR_H = 18
TOP = 12
AXIS_H = 28


def render_chart(chart_id: str, data: Mapping[str, Any], lang: str, strings: Mapping[str, Any]) -> Markup:
    """Render the chart `chart_id` as safe HTML, in `lang`, from the loaded data files."""
    try:
        builder = CHARTS[chart_id]
    except KeyError:
        known = ", ".join(sorted(CHARTS))
        raise ValueError(f"unknown chart {chart_id!r}; known charts: {known}") from None
    facts = data.get("facts") or {}
    return builder(_Ctx(chart_id, facts, lang, strings or {}))


class _Ctx:
    """What every chart builder needs: its id, the facts file, the language and its strings."""

    def __init__(self, chart_id: str, facts: Mapping[str, Any], lang: str, strings: Mapping[str, Any]):
        self.chart_id = chart_id
        self.facts = facts
        self.lang = lang if lang in DEFAULT_STRINGS else "en"
        self.strings = strings

    def t(self, key: str, **fields: Any) -> str:
        text = self.strings.get(key)
        if not isinstance(text, str):
            text = DEFAULT_STRINGS[self.lang][key]
        return text.format(**fields) if fields else text

    def series(self, name: str) -> Mapping[str, Any]:
        try:
            return self.facts["series"][name]
        except (KeyError, TypeError):
            raise ValueError(
                f"chart {self.chart_id!r} needs series {name!r} in content/data/facts.yaml"
            ) from None

    def source(self, key: str) -> Mapping[str, Any]:
        try:
            return self.facts["sources"][key]
        except (KeyError, TypeError):
            raise ValueError(f"chart {self.chart_id!r}: unknown source {key!r}") from None


# --- helpers --------------------------------------------------------------------------------------


def _num(value: float) -> str:
    """2 -> "2", 2.5 -> "2.5" (no trailing zeros)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def _series_sources(series: Mapping[str, Any]) -> list[str]:
    keys: list[str] = []
    if series.get("source"):
        keys.append(series["source"])
    keys.extend(series.get("sources") or [])
    for entry in series.get("entries") or []:
        if entry.get("source"):
            keys.append(entry["source"])
    return list(dict.fromkeys(keys))  # ordered, without duplicates


def _figure(ctx: _Ctx, *, svg: str, caption: str, table: str, series: Mapping[str, Any]) -> Markup:
    base = f"chart-{ctx.chart_id}"
    sources = []
    for key in _series_sources(series):
        src = ctx.source(key)
        sources.append(f'<a href="{escape(src["url"])}">{escape(src["title"])}</a>')
    sep = "；" if ctx.lang == "zh" else "; "
    colon = "：" if ctx.lang == "zh" else ": "
    as_of = series.get("as_of")
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
        f'<p class="chart__source">{escape(ctx.t("chart_source"))}{colon}{sep.join(sources)}'
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


def _arena_elo(ctx: _Ctx) -> Markup:
    series = ctx.series("arena_elo")
    entries = sorted(series.get("entries") or [], key=lambda e: -float(e["elo"]))
    if not entries:
        raise ValueError("series 'arena_elo' has no entries")
    axis_min = float(series.get("axis_min", 0))
    ticks, axis_max = _ticks(axis_min, max(float(e["elo"]) for e in entries))
    plot_w = WIDTH - LABEL_W - VALUE_W

    def scale(v: float) -> float:
        return LABEL_W + (v - axis_min) / (axis_max - axis_min) * plot_w

    date = str(series.get("as_of", ""))
    highlight = next((e for e in entries if e.get("highlight")), entries[0])
    rank = entries.index(highlight) + 1
    open_entries = [e for e in entries if e.get("open")]
    open_rank = open_entries.index(highlight) + 1 if highlight in open_entries else 0
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


def _model_size(ctx: _Ctx) -> Markup:
    series = ctx.series("model_size")
    entries = list(series.get("entries") or [])
    if not entries:
        raise ValueError("series 'model_size' has no entries")
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


CHARTS: dict[str, Callable[[_Ctx], Markup]] = {
    "arena-elo": _arena_elo,
    "model-size": _model_size,
}
