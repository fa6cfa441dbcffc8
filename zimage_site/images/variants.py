"""Responsive variants of the stored images: AVIF and WebP at several widths, a JPEG fallback, a
dominant colour and a tiny blurred preview.

Variants are cached by the SHA-256 of the source PNG and the encoder settings in
`.cache/variants/` under the site root (gitignored): an unchanged image is never encoded again.
The cache is checked before it is used (every file's size and SHA-256 against `meta.json`), and is
safe to share between processes (two builds, or `build` beside `serve`): an entry is encoded in
a private folder and renamed into place whole; the first complete entry wins.
Encoding runs in a thread pool with one worker per core (Pillow releases the GIL while encoding;
libavif is limited to one thread per task so that the pool, not the codec, spreads the work).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from zimage_site.errors import ImageError, Problem, rel

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
    "version": 2,  # 2: meta.json records the size and SHA-256 of every file
}
_SETTINGS_HASH = hashlib.sha256(json.dumps(SETTINGS, sort_keys=True).encode()).hexdigest()[:8]
EXT = {"avif": "avif", "webp": "webp", "jpeg": "jpg"}
MIME = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg"}
_PIL_FORMAT = {"avif": "AVIF", "webp": "WEBP", "jpeg": "JPEG"}
_REGENERATE = "make it again: zimage-site generate --force --only IMAGE-ID (or remove the file and its .json)"


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
    """Encode one width of one image in the given formats (runs in a worker thread) into a
    folder that only this process writes."""
    im = _resized(src, width)
    written = []
    for fmt in formats:
        name = f"{width}.{EXT[fmt]}"
        buf = io.BytesIO()
        im.save(buf, _PIL_FORMAT[fmt], **SETTINGS[fmt])
        (folder / name).write_bytes(buf.getvalue())
        written.append(name)
    return written


def _digest(path: Path) -> tuple[int, str]:
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def _pixel_size(src: Path) -> tuple[int, int]:
    """The size the PNG header declares (nothing is decoded)."""
    from PIL import Image

    with Image.open(src) as im:
        return im.size


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


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
    """Encodes and caches variants; `encoded` counts the files encoded by this object.

    `root` is the site root: errors name the source images relative to it."""

    def __init__(self, root: Path, workers: int | None = None, folder: Path | None = None):
        self.root = Path(root)
        self.dir = folder or (self.root / CACHE_DIR)
        self.workers = workers or os.cpu_count() or 1
        self.encoded = 0
        self.reused = 0

    def folder_for(self, sha256: str) -> Path:
        return self.dir / f"{sha256[:24]}-{_SETTINGS_HASH}"

    def _load(self, folder: Path) -> VariantSet | None:
        """The cached entry in `folder` when it is complete and every file has the size and the
        SHA-256 its meta.json records; None otherwise (it is then encoded again)."""
        meta = folder / "meta.json"
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            vs = VariantSet(folder=folder, sha256=data["sha256"], width=data["width"],
                            height=data["height"], widths=data["widths"], fallback=data["fallback"],
                            color=data["color"], preview=data["preview"],
                            files={fmt: {int(w): n for w, n in d.items()} for fmt, d in data["files"].items()})
            digests = data["digests"]
            for d in vs.files.values():
                for name in d.values():
                    if list(_digest(folder / name)) != digests[name]:
                        return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return vs

    def _clean_leftovers(self) -> None:
        """Remove the private folders of encodings that were interrupted (their process is gone)."""
        try:
            names = [e.name for e in os.scandir(self.dir) if e.name.startswith(".") and e.is_dir()]
        except OSError:
            return
        for name in names:
            parts = name.split(".")
            if len(parts) >= 3 and parts[2].isdigit() and not _pid_alive(int(parts[2])):
                shutil.rmtree(self.dir / name, ignore_errors=True)

    def _check_source(self, src: Path, width: int, height: int) -> None:
        try:
            size = _pixel_size(src)
        except Exception as exc:  # Pillow raises many kinds for a file that is not an image
            raise ImageError(Problem(f"the stored image cannot be read ({exc.__class__.__name__}: {exc})",
                                     file=rel(src, self.root), fix=_REGENERATE)) from exc
        if size != (width, height):
            raise ImageError(Problem(f"the stored image is {size[0]}×{size[1]} pixels, the manifest says "
                                     f"{width}×{height}", file=rel(src, self.root), fix=_REGENERATE))

    def ensure(self, sources: list[tuple[Path, str, int, int]]) -> dict[str, VariantSet]:
        """Make sure every source (png path, sha256, width, height) has its variants cached.
        Returns sha256 → VariantSet. A source Pillow cannot decode is an ImageError naming it."""
        result: dict[str, VariantSet] = {}
        todo = []
        for src, sha, width, height in sources:
            if sha in result or any(t[1] == sha for t in todo):
                continue
            folder = self.folder_for(sha)
            cached = self._load(folder)
            if cached is not None:
                result[sha] = cached
                self.reused += 1
            else:
                self._check_source(src, width, height)
                todo.append((src, sha, width, height, folder))
        if not todo:
            return result
        self.dir.mkdir(parents=True, exist_ok=True)
        self._clean_leftovers()

        jobs = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {}
            for src, sha, width, height, folder in todo:
                work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{os.getpid()}.", dir=self.dir))
                fb = fallback_width(width)
                for w in widths_for(width):
                    formats = ("avif", "webp") + (("jpeg",) if w == fb else ())
                    futures[pool.submit(_encode, src, work, w, formats)] = (sha, w, src)
                futures[pool.submit(_preview, src)] = (sha, "preview", src)
                jobs.append((src, sha, width, height, folder, work, fb))
            done: dict = {}
            try:
                for fut, (sha, what, src) in futures.items():
                    try:
                        done[(sha, what)] = fut.result()
                    except Exception as exc:  # Pillow: a file whose bytes match its SHA-256 but do not decode
                        raise ImageError(Problem(
                            f"the stored image cannot be decoded ({exc.__class__.__name__}: {exc})",
                            file=rel(src, self.root), fix=_REGENERATE)) from exc
            except BaseException:
                for f in futures:
                    f.cancel()
                pool.shutdown(wait=True)
                for job in jobs:
                    shutil.rmtree(job[5], ignore_errors=True)
                raise
        for src, sha, width, height, folder, work, fb in jobs:
            widths = widths_for(width)
            files: dict[str, dict[int, str]] = {"avif": {}, "webp": {}, "jpeg": {}}
            for w in widths:
                for name in done[(sha, w)]:
                    fmt = {"avif": "avif", "webp": "webp", "jpg": "jpeg"}[name.rsplit(".", 1)[1]]
                    files[fmt][w] = name
                    self.encoded += 1
            color, preview = done[(sha, "preview")]
            meta = {"sha256": sha, "width": width, "height": height, "widths": widths, "fallback": fb,
                    "color": color, "preview": preview,
                    "files": {fmt: {str(w): n for w, n in d.items()} for fmt, d in files.items()},
                    "digests": {n: list(_digest(work / n)) for d in files.values() for n in d.values()}}
            (work / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
            result[sha] = self._commit(work, folder)
        return result

    def _commit(self, work: Path, folder: Path) -> VariantSet:
        """Rename a finished private folder into place. When another process got there first with
        a complete entry, keep theirs; a damaged entry is replaced."""
        for _attempt in range(3):
            try:
                os.rename(work, folder)
                break
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
            theirs = self._load(folder)
            if theirs is not None:
                shutil.rmtree(work, ignore_errors=True)
                return theirs
            trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{os.getpid()}.", dir=self.dir))
            try:
                os.rename(folder, trash / "old")
            except FileNotFoundError:
                pass
            shutil.rmtree(trash, ignore_errors=True)
        vs = self._load(folder)
        if vs is None:
            raise ImageError(Problem("the variant cache cannot be written", file=rel(folder, self.root),
                                     fix=f"remove {CACHE_DIR}/ and build again"))
        return vs
