"""The S3-DiT architecture diagram of the technology section: inline, accessible SVG.

Drawn by `::: chart architecture` like the charts (zimage_site/charts.py registers it): every number it
prints comes from a fact of content/data/facts.yaml, named by the series `s3_dit`, and the figure
links the sources of those facts under the drawing. The SVG has a title and a description that
state the whole flow and its numbers in words, and the numbers are also a table in a
<details>. Portrait layout, 340 units wide, so that it stays readable on a 390-px phone; colours
come from CSS classes (`dgm__*`), so both themes work. Every string is escaped.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

W = 340
COL = 104          # column width
GAP = (W - 3 * COL) / 2
XS = [0, COL + GAP, 2 * (COL + GAP)]


def _box(x: float, y: float, w: float, h: float, cls: str, lines: list[tuple[str, str]]) -> str:
    """A rounded box with centred lines [(class, text)]."""
    out = [f'<rect class="dgm__box {cls}" x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="8"/>']
    n = len(lines)
    step = 14.5
    first = y + h / 2 - (n - 1) * step / 2 + 4
    for i, (tcls, text) in enumerate(lines):
        out.append(f'<text class="{tcls}" x="{x + w / 2:.0f}" y="{first + i * step:.0f}" text-anchor="middle">'
                   f"{escape(text)}</text>")
    return "".join(out)


def _arrow(x: float, y1: float, y2: float, cls: str = "") -> str:
    return (f'<line class="dgm__arrow {cls}" x1="{x:.0f}" y1="{y1:.0f}" x2="{x:.0f}" y2="{y2 - 5:.0f}"/>'
            f'<path class="dgm__head {cls}" d="M{x - 4:.0f} {y2 - 6:.0f} L{x:.0f} {y2:.0f} L{x + 4:.0f} {y2 - 6:.0f}Z"/>')


def draw_s3_dit(ctx: Any, series: Any, figure) -> Markup:
    """`figure(ctx, svg=…, caption=…, table=…, series=…)` wraps it like every chart."""
    from zimage_site.charts import _num

    f = {k: _num(v) for k, v in series.fields.items()}
    t = ctx.t
    base = f"chart-{ctx.chart_id}"
    title = t("chart_dgm_title")
    desc = t("chart_dgm_desc", **f)
    cx = [x + COL / 2 for x in XS]
    parts: list[str] = []
    # row 1: the inputs and their encoders
    y0, bh = 6, 30
    parts.append(_box(XS[0], y0, COL, bh, "dgm__in", [("dgm__t", t("chart_dgm_prompt"))]))
    parts.append(_box(XS[1], y0, COL, bh, "dgm__in dgm__opt", [("dgm__t", t("chart_dgm_image_in"))]))
    parts.append(_box(XS[2], y0, COL, bh, "dgm__in", [("dgm__t", t("chart_dgm_noise"))]))
    y1, eh = y0 + bh + 16, 66
    for x in cx:
        parts.append(_arrow(x, y0 + bh, y1, "dgm__opt" if x == cx[1] else ""))
    parts.append(_box(XS[0], y1, COL, eh, "dgm__text", [
        ("dgm__t dgm__b", "Qwen3-4B"), ("dgm__s", t("chart_dgm_te_layers", **f)), ("dgm__s", t("chart_dgm_te_hidden", **f)),
        ("dgm__s", t("chart_dgm_te_tokens", **f))]))
    parts.append(_box(XS[1], y1, COL, eh, "dgm__vis dgm__opt", [
        ("dgm__t dgm__b", "SigLIP-2"), ("dgm__s", t("chart_dgm_siglip_only"))]))
    parts.append(_box(XS[2], y1, COL, eh, "dgm__img", [
        ("dgm__t dgm__b", "VAE"), ("dgm__s", t("chart_dgm_vae_latent")), ("dgm__s", t("chart_dgm_vae_channels", **f))]))
    # row 2: the refiners (text and noise), before the streams merge
    y2, rh = y1 + eh + 16, 34
    parts.append(_arrow(cx[0], y1 + eh, y2))
    parts.append(_arrow(cx[2], y1 + eh, y2))
    parts.append(_box(XS[0], y2, COL, rh, "dgm__text", [("dgm__t", t("chart_dgm_context_refiner", **f))]))
    parts.append(_box(XS[2], y2, COL, rh, "dgm__img", [("dgm__t", t("chart_dgm_noise_refiner", **f))]))
    # row 3: one token stream
    y3 = y2 + rh + 16
    parts.append(_arrow(cx[0], y2 + rh, y3))
    parts.append(_arrow(cx[1], y1 + eh, y3, "dgm__opt"))
    parts.append(_arrow(cx[2], y2 + rh, y3))
    sh = 22
    parts.append(f'<rect class="dgm__stream" x="0" y="{y3}" width="{W}" height="{sh}" rx="6"/>')
    tok, pad = 14, 4
    kinds = ["dgm__tok--text"] * 7 + ["dgm__tok--vis"] * 4 + ["dgm__tok--img"] * 9
    span = (W - 2 * pad) / len(kinds)
    for i, k in enumerate(kinds):
        x = pad + i * span + (span - tok) / 2
        parts.append(f'<rect class="dgm__tok {k}" x="{x:.0f}" y="{y3 + (sh - tok) / 2:.0f}" width="{tok}" height="{tok}" rx="3"/>')
    ly = y3 + sh + 13
    for x, key, anchor in ((pad, "chart_dgm_tok_text", "start"), (W / 2 - 8, "chart_dgm_tok_vis", "middle"),
                           (W - pad, "chart_dgm_tok_img", "end")):
        parts.append(f'<text class="dgm__s" x="{x:.0f}" y="{ly:.0f}" text-anchor="{anchor}">{escape(t(key))}</text>')
    ry = ly + 16
    parts.append(f'<text class="dgm__t dgm__rope" x="{W // 2}" y="{ry}" text-anchor="middle">'
                 f'{escape(t("chart_dgm_rope", **f))}</text>')
    # row 4: the single-stream transformer
    y4, dh = ry + 12, 78
    parts.append(_arrow(W / 2, ry + 4, y4))
    parts.append(_box(0, y4, W, dh, "dgm__dit", [
        ("dgm__t dgm__b", t("chart_dgm_dit")), ("dgm__s", t("chart_dgm_dit_shape", **f)), ("dgm__s", t("chart_dgm_dit_norm")),
        ("dgm__s", t("chart_dgm_dit_params", **f))]))
    # row 5: the output
    y5, oh = y4 + dh + 16, 30
    parts.append(_arrow(W / 2, y4 + dh, y5))
    parts.append(_box(0, y5, W, oh, "dgm__in", [("dgm__t", t("chart_dgm_out"))]))
    height = y5 + oh + 4
    svg = (f'<svg class="chart__svg dgm" role="img" viewBox="0 0 {W} {height:.0f}" width="{W}" height="{height:.0f}" '
           f'aria-labelledby="{base}-title {base}-desc" focusable="false">'
           f'<title id="{base}-title">{escape(title)}</title><desc id="{base}-desc">{escape(desc)}</desc>'
           f'<g aria-hidden="true">{"".join(parts)}</g></svg>')
    rows = [
        (t("chart_dgm_row_te"), t("chart_dgm_row_te_v", **f)),
        (t("chart_dgm_row_vae"), t("chart_dgm_vae_channels", **f)),
        (t("chart_dgm_row_refiners"), t("chart_dgm_row_refiners_v", **f)),
        (t("chart_dgm_row_dit"), t("chart_dgm_dit_shape", **f)),
        (t("chart_dgm_row_rope"), t("chart_dgm_row_rope_v", **f)),
        (t("chart_dgm_row_params"), t("chart_dgm_dit_params", **f)),
    ]
    body = "".join(f'<tr><th scope="row">{escape(a)}</th><td>{escape(b)}</td></tr>' for a, b in rows)
    table = (f'<table class="chart__table"><caption>{escape(title)}</caption>'
             f'<thead><tr><th scope="col">{escape(t("chart_dgm_part"))}</th><th scope="col">{escape(t("chart_dgm_numbers"))}</th>'
             f"</tr></thead><tbody>{body}</tbody></table>")
    return figure(ctx, svg=svg, caption=t("chart_dgm_caption"), table=table, series=series)
