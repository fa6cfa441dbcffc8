"""Responsive variants of the stored images: AVIF and WebP at several widths, a JPEG fallback, a
dominant colour and a tiny blurred preview.

Variants are cached by the SHA-256 of the source PNG and the encoder settings in
`.cache/variants/` under the site root (gitignored): an unchanged image is never encoded again.
Encoding runs in a thread pool with one worker per core (Pillow releases the GIL while encoding;
libavif is limited to one thread per task so that the pool, not the codec, spreads the work).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

CACHE_DIR = ".cache/variants"
WIDTHS = (480, 768, 1024, 1344, 1600, 2048)
FALLBACK_MAX = 1024
PREVIEW_WIDTH = 24
# Changing a setting changes the cache folder names, so the cache never serves stale encodings.
SETTINGS = {
    "avif": {"quality": 60, "speed": 7, "max_threads": 1},
    "webp": {"quality": 80, "method": 4},
    "jpeg": {"quality": 82, "optimize": True, "progressive": True},
    "widths": WIDTHS,
    "fallback_max": FALLBACK_MAX,
    "preview": PREVIEW_WIDTH,
    "version": 1,
}
_SETTINGS_HASH = hashlib.sha256(json.dumps(SETTINGS, sort_keys=True).encode()).hexdigest()[:8]
EXT = {"avif": "avif", "webp": "webp", "jpeg": "jpg"}
MIME = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg"}
_PIL_FORMAT = {"avif": "AVIF", "webp": "WEBP", "jpeg": "JPEG"}


def widths_for(width: int) -> list[int]:
    """The variant widths of an image: the standard ones below its own width, then its own.
    A standard width within 10 % of the original is dropped (it would add little)."""
    out = [w for w in WIDTHS if w < width * 0.9]
    return out + [width]


def fallback_width(width: int) -> int:
    candidates = [w for w in widths_for(width) if w <= FALLBACK_MAX]
    return candidates[-1] if candidates else widths_for(width)[0]


@dataclass
class VariantSet:
    """The cached variants of one source image."""

    folder: Path
    sha256: str
    width: int
    height: int
    widths: list[int]
    fallback: int
    color: str
    preview: str  # a data: URI
    files: dict[str, dict[int, str]] = field(default_factory=dict)  # format → width → file name


def _resized(src: Path, width: int):
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        if width != im.width:
            im = im.resize((width, max(1, round(im.height * width / im.width))), Image.Resampling.LANCZOS)
        return im


def _encode(src: Path, folder: Path, width: int, formats: tuple[str, ...]) -> list[str]:
    """Encode one width of one image in the given formats (runs in a worker thread)."""
    im = _resized(src, width)
    written = []
    for fmt in formats:
        name = f"{width}.{EXT[fmt]}"
        buf = io.BytesIO()
        im.save(buf, _PIL_FORMAT[fmt], **SETTINGS[fmt])
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, folder / name)
        written.append(name)
    return written


def _preview(src: Path) -> tuple[str, str]:
    """(dominant colour as #rrggbb, a tiny blurred WebP preview as a data: URI)."""
    from PIL import Image, ImageFilter

    with Image.open(src) as im:
        im = im.convert("RGB")
        r, g, b = im.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        h = max(1, round(im.height * PREVIEW_WIDTH / im.width))
        tiny = im.resize((PREVIEW_WIDTH, h), Image.Resampling.BOX).filter(ImageFilter.GaussianBlur(1))
    buf = io.BytesIO()
    tiny.save(buf, "WEBP", quality=40)
    uri = "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return f"#{r:02x}{g:02x}{b:02x}", uri


class VariantCache:
    """Encodes and caches variants; `encoded` counts the files encoded by this object."""

    def __init__(self, root: Path, workers: int | None = None, folder: Path | None = None):
        self.dir = folder or (root / CACHE_DIR)
        self.workers = workers or os.cpu_count() or 1
        self.encoded = 0
        self.reused = 0

    def folder_for(self, sha256: str) -> Path:
        return self.dir / f"{sha256[:24]}-{_SETTINGS_HASH}"

    def _load(self, folder: Path) -> VariantSet | None:
        meta = folder / "meta.json"
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            vs = VariantSet(folder=folder, sha256=data["sha256"], width=data["width"],
                            height=data["height"], widths=data["widths"], fallback=data["fallback"],
                            color=data["color"], preview=data["preview"],
                            files={fmt: {int(w): n for w, n in d.items()} for fmt, d in data["files"].items()})
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if all((folder / n).is_file() for d in vs.files.values() for n in d.values()):
            return vs
        return None

    def ensure(self, sources: list[tuple[Path, str, int, int]]) -> dict[str, VariantSet]:
        """Make sure every source (png path, sha256, width, height) has its variants cached.
        Returns sha256 → VariantSet."""
        result: dict[str, VariantSet] = {}
        todo = []
        for src, sha, width, height in sources:
            if sha in result:
                continue
            folder = self.folder_for(sha)
            cached = self._load(folder)
            if cached is not None:
                result[sha] = cached
                self.reused += 1
            else:
                todo.append((src, sha, width, height, folder))
        if not todo:
            return result

        jobs = []  # (sha, future-producing callable)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {}
            for src, sha, width, height, folder in todo:
                if folder.exists():
                    shutil.rmtree(folder)  # a partial or stale entry
                folder.mkdir(parents=True)
                fb = fallback_width(width)
                for w in widths_for(width):
                    formats = ("avif", "webp") + (("jpeg",) if w == fb else ())
                    futures[pool.submit(_encode, src, folder, w, formats)] = (sha, w)
                futures[pool.submit(_preview, src)] = (sha, "preview")
                jobs.append((src, sha, width, height, folder, fb))
            done: dict = {}
            for fut, (sha, what) in futures.items():
                done[(sha, what)] = fut.result()
        for src, sha, width, height, folder, fb in jobs:
            widths = widths_for(width)
            files: dict[str, dict[int, str]] = {"avif": {}, "webp": {}, "jpeg": {}}
            for w in widths:
                for name in done[(sha, w)]:
                    fmt = {"avif": "avif", "webp": "webp", "jpg": "jpeg"}[name.rsplit(".", 1)[1]]
                    files[fmt][w] = name
                    self.encoded += 1
            color, preview = done[(sha, "preview")]
            vs = VariantSet(folder=folder, sha256=sha, width=width, height=height, widths=widths,
                            fallback=fb, color=color, preview=preview, files=files)
            meta = {"sha256": sha, "width": width, "height": height, "widths": widths, "fallback": fb,
                    "color": color, "preview": preview,
                    "files": {fmt: {str(w): n for w, n in d.items()} for fmt, d in files.items()}}
            tmp = folder / ".meta.json.tmp"
            tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
            os.replace(tmp, folder / "meta.json")  # written last: the cache entry is complete
            result[sha] = vs
        return result
