"""The S3-DiT architecture diagram of the technology section: the layout of an inline SVG.

Drawn by `::: chart architecture` like the charts (charts.py registers it; the markup is
templates/blocks/charts/architecture.html): every number it prints comes from a fact of
content/data/facts.yaml, named by the series `s3_dit`, and the figure links the sources of those
facts under the drawing. The SVG has a title and a description that state the whole flow and its
numbers in words, and the numbers are also a table in a <details>. Portrait layout, 340 units
wide, so that it stays readable on a 390-px phone; colours come from CSS classes (`dgm__*`), so
both themes work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

W = 340
COL = 104          # column width
GAP = (W - 3 * COL) / 2
XS = [0, COL + GAP, 2 * (COL + GAP)]


@dataclass(frozen=True)
class Box:
    """A rounded box with centred lines of text: [(class, text, y)]."""

    x: float
    y: float
    w: float
    h: float
    cls: str
    lines: list[tuple[str, str, float]]
    kind: str = "box"


@dataclass(frozen=True)
class Arrow:
    x: float
    y1: float
    y2: float
    cls: str = ""
    kind: str = "arrow"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    cls: str
    rx: int
    kind: str = "rect"


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    cls: str
    anchor: str
    text: str
    kind: str = "label"


def _box(x: float, y: float, w: float, h: float, cls: str, lines: list[tuple[str, str]]) -> Box:
    step = 14.5
    first = y + h / 2 - (len(lines) - 1) * step / 2 + 4
    return Box(x, y, w, h, cls, [(tcls, text, first + i * step) for i, (tcls, text) in enumerate(lines)])


def s3_dit(t: Callable[..., str], f: dict[str, str]) -> dict:
    """The template's values: the shapes in drawing order, the title, description, caption and table.
    `t(key, **fields)` gives a UI string; `f` the series' numbers, formatted."""
    title = t("chart_dgm_title")
    cx = [x + COL / 2 for x in XS]
    shapes: list = []
    # row 1: the inputs and their encoders
    y0, bh = 6, 30
    shapes.append(_box(XS[0], y0, COL, bh, "dgm__in", [("dgm__t", t("chart_dgm_prompt"))]))
    shapes.append(_box(XS[1], y0, COL, bh, "dgm__in dgm__opt", [("dgm__t", t("chart_dgm_image_in"))]))
    shapes.append(_box(XS[2], y0, COL, bh, "dgm__in", [("dgm__t", t("chart_dgm_noise"))]))
    y1, eh = y0 + bh + 16, 66
    for x in cx:
        shapes.append(Arrow(x, y0 + bh, y1, "dgm__opt" if x == cx[1] else ""))
    shapes.append(_box(XS[0], y1, COL, eh, "dgm__text", [
        ("dgm__t dgm__b", "Qwen3-4B"), ("dgm__s", t("chart_dgm_te_layers", **f)), ("dgm__s", t("chart_dgm_te_hidden", **f)),
        ("dgm__s", t("chart_dgm_te_tokens", **f))]))
    shapes.append(_box(XS[1], y1, COL, eh, "dgm__vis dgm__opt", [
        ("dgm__t dgm__b", "SigLIP-2"), ("dgm__s", t("chart_dgm_siglip_only"))]))
    shapes.append(_box(XS[2], y1, COL, eh, "dgm__img", [
        ("dgm__t dgm__b", "VAE"), ("dgm__s", t("chart_dgm_vae_latent")), ("dgm__s", t("chart_dgm_vae_channels", **f))]))
    # row 2: the refiners (text and noise), before the streams merge
    y2, rh = y1 + eh + 16, 34
    shapes.append(Arrow(cx[0], y1 + eh, y2))
    shapes.append(Arrow(cx[2], y1 + eh, y2))
    shapes.append(_box(XS[0], y2, COL, rh, "dgm__text", [("dgm__t", t("chart_dgm_context_refiner", **f))]))
    shapes.append(_box(XS[2], y2, COL, rh, "dgm__img", [("dgm__t", t("chart_dgm_noise_refiner", **f))]))
    # row 3: one token stream
    y3 = y2 + rh + 16
    shapes.append(Arrow(cx[0], y2 + rh, y3))
    shapes.append(Arrow(cx[1], y1 + eh, y3, "dgm__opt"))
    shapes.append(Arrow(cx[2], y2 + rh, y3))
    sh = 22
    shapes.append(Rect(0, y3, W, sh, "dgm__stream", 6))
    tok, pad = 14, 4
    kinds = ["dgm__tok--text"] * 7 + ["dgm__tok--vis"] * 4 + ["dgm__tok--img"] * 9
    span = (W - 2 * pad) / len(kinds)
    for i, k in enumerate(kinds):
        shapes.append(Rect(pad + i * span + (span - tok) / 2, y3 + (sh - tok) / 2, tok, tok, f"dgm__tok {k}", 3))
    ly = y3 + sh + 13
    for x, key, anchor in ((pad, "chart_dgm_tok_text", "start"), (W / 2 - 8, "chart_dgm_tok_vis", "middle"),
                           (W - pad, "chart_dgm_tok_img", "end")):
        shapes.append(Label(x, ly, "dgm__s", anchor, t(key)))
    ry = ly + 16
    shapes.append(Label(W // 2, ry, "dgm__t dgm__rope", "middle", t("chart_dgm_rope", **f)))
    # row 4: the single-stream transformer
    y4, dh = ry + 12, 78
    shapes.append(Arrow(W / 2, ry + 4, y4))
    shapes.append(_box(0, y4, W, dh, "dgm__dit", [
        ("dgm__t dgm__b", t("chart_dgm_dit")), ("dgm__s", t("chart_dgm_dit_shape", **f)), ("dgm__s", t("chart_dgm_dit_norm")),
        ("dgm__s", t("chart_dgm_dit_params", **f))]))
    # row 5: the output
    y5, oh = y4 + dh + 16, 30
    shapes.append(Arrow(W / 2, y4 + dh, y5))
    shapes.append(_box(0, y5, W, oh, "dgm__in", [("dgm__t", t("chart_dgm_out"))]))
    rows = [
        (t("chart_dgm_row_te"), t("chart_dgm_row_te_v", **f)),
        (t("chart_dgm_row_vae"), t("chart_dgm_vae_channels", **f)),
        (t("chart_dgm_row_refiners"), t("chart_dgm_row_refiners_v", **f)),
        (t("chart_dgm_row_dit"), t("chart_dgm_dit_shape", **f)),
        (t("chart_dgm_row_rope"), t("chart_dgm_row_rope_v", **f)),
        (t("chart_dgm_row_params"), t("chart_dgm_dit_params", **f)),
    ]
    return dict(width=W, height=y5 + oh + 4, title=title, desc=t("chart_dgm_desc", **f), shapes=shapes,
                rows=rows, caption=t("chart_dgm_caption"))
