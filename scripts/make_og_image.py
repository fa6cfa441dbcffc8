"""Draw the social image, static/img/og.png (1200×630), shown when the page is shared.

    python scripts/make_og_image.py [--out static/img/og.png]

Pillow draws the brand mark, "造相 Z-Image" and a short English line on the page's indigo
gradient, with Noto Sans CJK (Debian: fonts-noto-cjk). Without that font it falls back to
another CJK font it can find, and at last to Pillow's own font (Latin only), and says so. The
result is palette-quantised to stay small (well under 100 KB).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "static" / "img" / "og.png"
W, H = 1200, 630

# (path, face index of Simplified Chinese in a collection)
FONT_CANDIDATES = {
    "bold": [
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
        ("/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc", 2),
        ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc", 2),
        ("/System/Library/Fonts/PingFang.ttc", 0),
        ("C:/Windows/Fonts/msyhbd.ttc", 0),
    ],
    "regular": [
        ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
        ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
        ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
        ("/System/Library/Fonts/PingFang.ttc", 0),
        ("C:/Windows/Fonts/msyh.ttc", 0),
    ],
}

INDIGO_TOP = (30, 27, 75)      # #1e1b4b, the call-to-action panel of the page
INDIGO_BOTTOM = (49, 46, 129)  # #312e81
ACCENT = (79, 70, 229)         # #4f46e5, the theme colour
WHITE = (255, 255, 255)
SOFT = (199, 210, 254)         # #c7d2fe


def load_font(weight: str, size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """The first CJK font found at `size`; (font, True). Else Pillow's default font; (font, False)."""
    for path, index in FONT_CANDIDATES[weight]:
        if Path(path).exists():
            try:
                return ImageFont.truetype(path, size, index=index), True
            except OSError:
                continue
    try:
        return ImageFont.load_default(size=size), False
    except TypeError:  # Pillow < 10.1: a fixed-size bitmap font
        return ImageFont.load_default(), False


def gradient() -> Image.Image:
    base = Image.new("RGB", (W, H), INDIGO_TOP)
    px = base.load()
    for y in range(H):
        for x in range(0, W, 1):
            t = min(1.0, (x / W) * 0.45 + (y / H) * 0.55)
            px[x, y] = tuple(round(a + (b - a) * t) for a, b in zip(INDIGO_TOP, INDIGO_BOTTOM))
    # two soft glows, like the page's hero
    glow = Image.new("RGB", (W, H), (0, 0, 0))
    g = ImageDraw.Draw(glow)
    g.ellipse((760, -260, 1400, 300), fill=(251, 146, 60))
    g.ellipse((-300, 380, 420, 900), fill=(129, 140, 248))
    glow = glow.filter(ImageFilter.GaussianBlur(140))
    return Image.blend(base, Image.composite(glow, base, glow.convert("L")), 0.38)


def draw_mark(img: Image.Image, x: int, y: int, size: int) -> None:
    """The brand mark of static/favicon.svg: a rounded square with a white Z."""
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((x, y, x + size, y + size), radius=round(size * 0.25), fill=ACCENT)
    s = size / 64
    z = [(18, 18), (46, 18), (46, 24), (27, 40), (46, 40), (46, 46), (18, 46), (18, 40), (37, 24), (18, 24)]
    d.polygon([(x + px * s, y + py * s) for px, py in z], fill=WHITE)


def make(out: Path) -> Path:
    img = gradient()
    d = ImageDraw.Draw(img)
    title, cjk = load_font("bold", 104)
    latin_big, _ = load_font("bold", 104)
    line, _ = load_font("regular", 40)
    chip, _ = load_font("bold", 28)
    small, _ = load_font("regular", 26)
    if not cjk:
        print("warning: no CJK font found (install fonts-noto-cjk); drawing the Latin text only", file=sys.stderr)

    draw_mark(img, 80, 80, 72)
    d.text((172, 116), "Tongyi-MAI · Open weights", font=small, fill=SOFT, anchor="lm")

    # the name: 造相 Z-Image (the Chinese only when a CJK font is there)
    y = 300
    x = 80
    if cjk:
        d.text((x, y), "造相", font=title, fill=WHITE, anchor="ls")
        x += round(d.textlength("造相", font=title)) + 34
    d.text((x, y), "Z-Image", font=latin_big, fill=WHITE, anchor="ls")

    d.text((82, 388), "Alibaba's open 6B text-to-image model.", font=line, fill=WHITE, anchor="ls")
    d.text((82, 444), "Photoreal images and bilingual text, in 8 steps.", font=line, fill=SOFT, anchor="ls")

    # three chips
    x = 80
    for label in ("8 steps", "16 GB VRAM", "Apache-2.0"):
        w = round(d.textlength(label, font=chip)) + 44
        d.rounded_rectangle((x, 510, x + w, 566), radius=28, fill=None, outline=(165, 180, 252), width=2)
        d.text((x + w / 2, 539), label, font=chip, fill=WHITE, anchor="mm")
        x += w + 16

    out.parent.mkdir(parents=True, exist_ok=True)
    small_img = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    small_img.save(out, optimize=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write the PNG (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    path = make(args.out)
    print(f"wrote {path} ({W}×{H}, {path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
