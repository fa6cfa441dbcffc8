"""Responsive variants of the stored images: AVIF and WebP at several widths, a JPEG fallback, a
dominant colour and a tiny blurred preview.

Every variant carries the image's labels (`xmp.ImageLabel`: GB 45438-2025's AIGC property and
IPTC's digital source type, in XMP), written by the encoder (Pillow's `xmp=`), so no published file
of a generated image is ever without them.

Variants are cached by the SHA-256 of the source PNG, the digest of its label and the encoder
settings in `.cache/variants/` under the site root (gitignored): an unchanged image is never
encoded again. The cache trusts nothing it reads: before an entry is used, every file must have
the size and SHA-256 its `meta.json` records, start with the signature of its format, declare the
size its width implies and hold its exact XMP packet (a file forged together with its digest is
encoded again); the source PNG's signature and declared size are checked against the manifest on
every build, cached or not. The cache is safe to share between processes (two builds, or `build` beside `serve`): an entry is encoded in
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
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from zimage_site.errors import ImageError, Problem, rel
from zimage_site.images.xmp import ImageLabel

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
    "version": 3,  # 2: meta.json records the size and SHA-256 of every file; 3: labelled (XMP)
}
_SETTINGS_HASH = hashlib.sha256(json.dumps(SETTINGS, sort_keys=True).encode()).hexdigest()[:8]
EXT = {"avif": "avif", "webp": "webp", "jpeg": "jpg"}
MIME = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg"}
_PIL_FORMAT = {"avif": "AVIF", "webp": "WEBP", "jpeg": "JPEG"}
_SIGNATURES = {"avif": (4, b"ftypavif"), "webp": (8, b"WEBP"), "jpeg": (0, b"\xff\xd8\xff")}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_REGENERATE = "make it again: zimage-site generate --force --only IMAGE-ID (or remove the file and its .json)"


def widths_for(width: int) -> list[int]:
    """The variant widths of an image: the standard ones below its own width, then its own.
    A standard width within 10 % of the original is dropped (it would add little)."""
    out = [w for w in WIDTHS if w < width * 0.9]
    return out + [width]


def published_name(image_id: str, sha256: str, width: int, fmt: str) -> str:
    """The path of a variant in the output folder (and its PropagateID)."""
    return f"img/{image_id}.{sha256[:10]}.{width}.{EXT[fmt]}"


def variant_height(width: int, height: int, w: int) -> int:
    return max(1, round(height * w / width))


def png_size(data: bytes) -> tuple[int, int] | None:
    """The size a PNG's IHDR declares, None when `data` does not start like a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def fallback_width(width: int) -> int:
    candidates = [w for w in widths_for(width) if w <= FALLBACK_MAX]
    return candidates[-1] if candidates else widths_for(width)[0]


@dataclass
class VariantSet:
    """The cached variants of one source image."""

    folder: Path
    sha256: str
    label: str  # the digest of the ImageLabel its files carry
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


def _encode(src: Path, folder: Path, width: int, formats: tuple[str, ...], packets: dict[str, bytes]) -> list[str]:
    """Encode one width of one image in the given formats, each with its XMP packet (runs in a
    worker thread) into a folder that only this process writes."""
    im = _resized(src, width)
    written = []
    for fmt in formats:
        name = f"{width}.{EXT[fmt]}"
        buf = io.BytesIO()
        im.save(buf, _PIL_FORMAT[fmt], **SETTINGS[fmt], xmp=packets[fmt])
        (folder / name).write_bytes(buf.getvalue())
        written.append(name)
    return written


def _digest(path: Path) -> tuple[int, str]:
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def _sniff(head: bytes) -> str | None:
    """What a file that should be a PNG is instead, from its first bytes (for messages)."""
    for name, magic in (("a JPEG file", b"\xff\xd8\xff"), ("a GIF file", b"GIF8"), ("a WebP file", b"RIFF"),
                        ("a BMP file", b"BM"), ("a TIFF file", b"II*\x00"), ("a TIFF file", b"MM\x00*")):
        if head.startswith(magic):
            return name
    if head[4:12] in (b"ftypavif", b"ftypheic", b"ftypmif1"):
        return "an AVIF or HEIF file"
    return None


def _webp_size(blob: bytes) -> tuple[int, int] | None:
    """The canvas size a WebP file declares (its VP8X, VP8 or VP8L header)."""
    chunk = blob[12:16]
    if chunk == b"VP8X" and len(blob) >= 30:
        return 1 + int.from_bytes(blob[24:27], "little"), 1 + int.from_bytes(blob[27:30], "little")
    if chunk == b"VP8 " and len(blob) >= 30 and blob[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(blob[26:28], "little") & 0x3FFF, int.from_bytes(blob[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(blob) >= 25 and blob[20] == 0x2F:
        bits = int.from_bytes(blob[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(blob: bytes) -> tuple[int, int] | None:
    """The size a JPEG's first SOF segment declares."""
    pos = 2
    while pos + 9 < len(blob):
        if blob[pos] != 0xFF:
            return None
        marker = blob[pos + 1]
        length = int.from_bytes(blob[pos + 2:pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(blob[pos + 7:pos + 9], "big"), int.from_bytes(blob[pos + 5:pos + 7], "big")
        pos += 2 + length
    return None


def _avif_size(blob: bytes) -> tuple[int, int] | None:
    """The size of the first image spatial extents ('ispe') property of an AVIF file."""
    at = blob.find(b"ispe", 0, 4096)
    if at < 4 or at + 16 > len(blob):
        return None
    return int.from_bytes(blob[at + 8:at + 12], "big"), int.from_bytes(blob[at + 12:at + 16], "big")


def _is_variant(blob: bytes, fmt: str, width: int, height: int, packet: bytes) -> bool:
    """Is `blob` a file of format `fmt`, of width × height pixels by its header, holding `packet`?"""
    offset, magic = _SIGNATURES[fmt]
    if blob[offset:offset + len(magic)] != magic or (fmt == "webp" and not blob.startswith(b"RIFF")):
        return False
    size = {"avif": _avif_size, "webp": _webp_size, "jpeg": _jpeg_size}[fmt](blob)
    return size == (width, height) and packet in blob


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


@dataclass(frozen=True)
class Source:
    """A stored image to publish: its PNG, the SHA-256 its provenance records, the size the
    manifest gives it, and its labels."""

    png: Path
    sha256: str
    width: int
    height: int
    label: "ImageLabel"

    @property
    def cache_key(self) -> str:
        return f"{self.sha256[:24]}-{self.label.digest[:12]}"


class VariantCache:
    """Encodes and caches variants; `encoded` counts the files encoded by this object.

    `root` is the site root: errors name the source images relative to it."""

    def __init__(self, root: Path, workers: int | None = None, folder: Path | None = None):
        self.root = Path(root)
        self.dir = folder or (self.root / CACHE_DIR)
        self.workers = workers or os.cpu_count() or 1
        self.encoded = 0
        self.reused = 0

    def folder_for(self, source: Source) -> Path:
        return self.dir / f"{source.cache_key}-{_SETTINGS_HASH}"

    def _load(self, folder: Path, source: Source) -> VariantSet | None:
        """The cached entry in `folder` when it is complete and every file is what this source's
        variants must be: the size and SHA-256 its meta.json records, the signature of its format,
        the pixel size its width implies, and the exact XMP packet of its published name. None
        otherwise (it is then encoded again)."""
        meta = folder / "meta.json"
        try:
            if meta.stat().st_size > 1 << 20:
                return None
            data = json.loads(meta.read_text(encoding="utf-8"))
            vs = VariantSet(folder=folder, sha256=data["sha256"], label=data["label"], width=data["width"],
                            height=data["height"], widths=data["widths"], fallback=data["fallback"],
                            color=data["color"], preview=data["preview"],
                            files={fmt: {int(w): n for w, n in d.items()} for fmt, d in data["files"].items()})
            if (vs.sha256, vs.label, vs.width, vs.height) != (source.sha256, source.label.digest, source.width,
                                                              source.height):
                return None
            if vs.widths != widths_for(source.width) or vs.fallback != fallback_width(source.width) \
                    or not isinstance(vs.preview, str) \
                    or not re.fullmatch(r"data:image/webp;base64,[A-Za-z0-9+/]+={0,2}", vs.preview) \
                    or set(vs.files) != set(EXT) or set(vs.files["avif"]) != set(vs.widths) \
                    or set(vs.files["webp"]) != set(vs.widths) or set(vs.files["jpeg"]) != {vs.fallback} \
                    or not (isinstance(vs.color, str) and re.fullmatch(r"#[0-9a-f]{6}", vs.color)):
                return None
            digests = data["digests"]
            for fmt, names in vs.files.items():
                for w, name in names.items():
                    if name != f"{w}.{EXT[fmt]}" or w not in vs.widths:
                        return None
                    blob = (folder / name).read_bytes()
                    if [len(blob), hashlib.sha256(blob).hexdigest()] != digests[name]:
                        return None
                    if not _is_variant(blob, fmt, w, variant_height(source.width, source.height, w),
                                       source.label.packet(published_name(source.label.image_id, source.sha256,
                                                                          w, fmt))):
                        return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
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

    def _check_source(self, source: Source) -> None:
        """The stored file must be a PNG of the manifest's size (its header says so; nothing is
        decoded). Checked on every build, whether its variants are cached or not."""
        src, width, height = source.png, source.width, source.height
        try:
            with open(src, "rb") as f:
                head = f.read(24)
        except OSError as exc:
            raise ImageError(Problem(f"the stored image cannot be read ({exc.__class__.__name__}: {exc})",
                                     file=rel(src, self.root), fix=_REGENERATE)) from exc
        size = png_size(head)
        if size is None:
            kind = _sniff(head)
            raise ImageError(Problem("the stored image is not a PNG file" + (f" (it is {kind})" if kind else ""),
                                     file=rel(src, self.root), fix=_REGENERATE))
        if size != (width, height):
            raise ImageError(Problem(f"the stored image is {size[0]}×{size[1]} pixels, the manifest says "
                                     f"{width}×{height}", file=rel(src, self.root), fix=_REGENERATE))

    def ensure(self, sources: list[Source]) -> dict[str, VariantSet]:
        """Make sure every source has its labelled variants cached. Returns Source.cache_key →
        VariantSet. A source that is not a PNG of its manifest size, or that Pillow cannot decode,
        is an ImageError naming it."""
        result: dict[str, VariantSet] = {}
        todo = []
        for source in sources:
            self._check_source(source)
            if source.cache_key in result or any(t[0].cache_key == source.cache_key for t in todo):
                continue
            folder = self.folder_for(source)
            cached = self._load(folder, source)
            if cached is not None:
                result[source.cache_key] = cached
                self.reused += 1
            else:
                todo.append((source, folder))
        if not todo:
            return result
        self.dir.mkdir(parents=True, exist_ok=True)
        self._clean_leftovers()

        jobs = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {}
            for source, folder in todo:
                src, sha, width = source.png, source.sha256, source.width
                work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{os.getpid()}.", dir=self.dir))
                fb = fallback_width(width)
                for w in widths_for(width):
                    formats = ("avif", "webp") + (("jpeg",) if w == fb else ())
                    packets = {fmt: source.label.packet(published_name(source.label.image_id, sha, w, fmt))
                               for fmt in formats}
                    futures[pool.submit(_encode, src, work, w, formats, packets)] = (source.cache_key, w, src)
                futures[pool.submit(_preview, src)] = (source.cache_key, "preview", src)
                jobs.append((source, folder, work, fb))
            done: dict = {}
            try:
                for fut, (ck, what, src) in futures.items():
                    try:
                        done[(ck, what)] = fut.result()
                    except Exception as exc:  # Pillow: a file whose bytes match its SHA-256 but do not decode
                        raise ImageError(Problem(
                            f"the stored image cannot be decoded ({exc.__class__.__name__}: {exc})",
                            file=rel(src, self.root), fix=_REGENERATE)) from exc
            except BaseException:
                for f in futures:
                    f.cancel()
                pool.shutdown(wait=True)
                for job in jobs:
                    shutil.rmtree(job[2], ignore_errors=True)
                raise
        for source, folder, work, fb in jobs:
            ck = source.cache_key
            widths = widths_for(source.width)
            files: dict[str, dict[int, str]] = {"avif": {}, "webp": {}, "jpeg": {}}
            for w in widths:
                for name in done[(ck, w)]:
                    fmt = {"avif": "avif", "webp": "webp", "jpg": "jpeg"}[name.rsplit(".", 1)[1]]
                    files[fmt][w] = name
                    self.encoded += 1
            color, preview = done[(ck, "preview")]
            meta = {"sha256": source.sha256, "label": source.label.digest, "width": source.width,
                    "height": source.height, "widths": widths, "fallback": fb, "color": color, "preview": preview,
                    "files": {fmt: {str(w): n for w, n in d.items()} for fmt, d in files.items()},
                    "digests": {n: list(_digest(work / n)) for d in files.values() for n in d.values()}}
            (work / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
            result[ck] = self._commit(work, folder, source)
        return result

    def _commit(self, work: Path, folder: Path, source: Source) -> VariantSet:
        """Rename a finished private folder into place. When another process got there first with
        a complete entry, keep theirs; a damaged entry is replaced."""
        for _attempt in range(3):
            try:
                os.rename(work, folder)
                break
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
            theirs = self._load(folder, source)
            if theirs is not None:
                shutil.rmtree(work, ignore_errors=True)
                return theirs
            trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{os.getpid()}.", dir=self.dir))
            try:
                os.rename(folder, trash / "old")
            except FileNotFoundError:
                pass
            shutil.rmtree(trash, ignore_errors=True)
        vs = self._load(folder, source)
        if vs is None:
            raise ImageError(Problem("the variant cache cannot be written", file=rel(folder, self.root),
                                     fix=f"remove {CACHE_DIR}/ and build again"))
        return vs
