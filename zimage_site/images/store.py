"""The image store: `images/` at the site root, committed to git.

Each image is two files named by its id and its store key (a hash of everything that changes the
pixels, see `manifest.store_key`):

    images/showcase-teahouse-sign.3f9c0a1b2c3d4e5f.png    the image, exactly as the model made it
    images/showcase-teahouse-sign.3f9c0a1b2c3d4e5f.json   its provenance (the commit marker)

A pair is written in two phases, so that a reader sees both new files or neither, even when the
writer dies between two writes (`generate --force` replaces a pair under the same name):

1. the new image and then its provenance are written in full beside the pair, as
   `.<stem>.png.next` and `.<stem>.json.next` (each through a temporary file, fsynced); the
   provenance file is the commit point;
2. both are renamed over the pair, the image first.

A reader that finds a complete `.<stem>.json.next` whose SHA-256 matches `.<stem>.png.next` (or,
after the first rename, the pair's image) uses the new pair; otherwise the `.next` files are
ignored and the old pair stands. `generate` finishes or discards what an interrupted write left
(`settle()`). An image without provenance, an image whose SHA-256 differs from the one its
provenance records, a provenance file that is not a JSON object of the documented fields with
their types (a number where text belongs, a `created` that is not an ISO 8601 time, nesting deeper
than JSON needs), or a file Pillow cannot verify is corrupt and is generated again.

The image carries its AI-content labels in XMP (`xmp.ImageLabel`, without a propagator: the store
publishes nothing) when `generate` writes it.

Two levels of checking: the build trusts an image whose SHA-256 matches its provenance (that
proves the bytes are the ones the generator wrote) and never decodes it; `generate` also decodes
every image it keeps (`decode=True`), to catch a file that was replaced together with its
provenance. The store folder is listed once per `Store` object (its own writes refresh it).

This module needs only Pillow: the site builds without torch or diffusers.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

STORE_DIR = "images"
KEY_LEN = 16
_NAME_RE = re.compile(r"^(?P<id>.+)\.(?P<key>[0-9a-f]{%d})\.(?P<ext>png|json)$" % KEY_LEN)
_NEXT_RE = re.compile(r"^\.(?P<id>.+)\.(?P<key>[0-9a-f]{%d})\.json\.next$" % KEY_LEN)
MAX_SIDECAR = 1 << 20  # a provenance file is about 2 KB

# Fields every provenance file has.
REQUIRED = ("id", "key", "sha256", "prompt", "seed", "steps", "guidance_scale", "width", "height",
            "model", "created")
_INT = "int"
_NUMBER = "number"
# The type every required field must have (a hostile or damaged file may hold anything).
TYPES = {"id": str, "key": str, "sha256": str, "prompt": str, "seed": _INT, "steps": _INT,
         "guidance_scale": _NUMBER, "width": _INT, "height": _INT, "model": str, "created": str}


def created_time(value: str) -> _dt.datetime | None:
    """`created` as an aware datetime (a time without zone is UTC), None when it is not ISO 8601."""
    try:
        t = _dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.timezone.utc)


def provenance_problem(prov: object) -> str | None:
    """What is wrong with a parsed provenance file, None when every required field has its type."""
    if not isinstance(prov, dict):
        return "the provenance file is not a JSON object"
    missing = [k for k in REQUIRED if k not in prov]
    if missing:
        return "the provenance file lacks required fields (" + ", ".join(missing) + ")"
    for key, kind in TYPES.items():
        value = prov[key]
        if kind is _INT:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is _NUMBER:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, kind)
        if not ok:
            return f"the provenance field {key!r} has the wrong type ({type(value).__name__})"
    if not re.fullmatch(r"[0-9a-f]{64}", prov["sha256"]):
        return "the provenance field 'sha256' is not a SHA-256"
    if created_time(prov["created"]) is None:
        return f"the provenance field 'created' is not an ISO 8601 time ({prov['created'][:40]!r})"
    if prov.get("model_revision") is not None and not isinstance(prov["model_revision"], str):
        return "the provenance field 'model_revision' has the wrong type"
    return None


def read_provenance(path: Path) -> tuple[dict | None, str]:
    """(provenance, "") or (None, why it cannot be used). Reads only a regular file of a sane size,
    and never fails on what the file holds (deep nesting included)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None, "the provenance file is not a regular file"
        if info.st_size > MAX_SIDECAR:
            return None, f"the provenance file is too large ({info.st_size} bytes)"
        with open(path, "rb") as f:
            raw = f.read(MAX_SIDECAR + 1)
        prov = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, f"the provenance file is unreadable ({exc.__class__.__name__})"
    problem = provenance_problem(prov)
    return (None, problem) if problem else (prov, "")


@dataclass
class Entry:
    id: str
    key: str
    png: Path
    sidecar: Path
    provenance: dict


@dataclass
class Status:
    state: str  # "ok", "missing" or "corrupt"
    detail: str = ""
    entry: Entry | None = None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    """Make the renames in `folder` durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def verify_png(path: Path) -> str | None:
    """None when Pillow reads `path` as a complete PNG, else what is wrong."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.format != "PNG":
                return f"not a PNG file ({im.format})"
            im.verify()
        with Image.open(path) as im:  # verify() does not decode; load the pixels too
            im.load()
    except Exception as exc:  # Pillow raises many kinds for broken files
        return f"the image file is damaged ({exc.__class__.__name__}: {exc})"
    return None


def spec_difference(provenance: dict, pixels: dict | None) -> str:
    """What differs between the values an image was made from and the manifest's, e.g.
    "seed 7 here, 8 in the manifest"."""
    names = {"guidance": "guidance_scale"}
    diffs = [f"{key} {provenance.get(names.get(key, key))!r} here, {value!r} in the manifest"
             for key, value in (pixels or {}).items() if provenance.get(names.get(key, key)) != value]
    return "; ".join(diffs) or "its spec hash differs"


class Store:
    def __init__(self, root: Path, folder: Path | None = None):
        self.root = root
        self.dir = folder or (root / STORE_DIR)
        self._listing: dict[str, list[str]] | None = None  # id → stems ("<id>.<key>"), sorted

    def _stems(self, image_id: str) -> list[str]:
        """The stored stems of an id, from one listing of the store folder per Store object."""
        if self._listing is None:
            listing: dict[str, set[str]] = {}
            try:
                with os.scandir(self.dir) as entries:
                    for item in entries:
                        m = _NAME_RE.match(item.name) or _NEXT_RE.match(item.name)
                        if m:
                            listing.setdefault(m["id"], set()).add(f"{m['id']}.{m['key']}")
            except (FileNotFoundError, NotADirectoryError):
                pass
            self._listing = {i: sorted(stems) for i, stems in listing.items()}
        return self._listing.get(image_id, [])

    def refresh(self) -> None:
        """Forget the listing of the store folder (after another process changed it)."""
        self._listing = None

    def paths(self, image_id: str, key: str) -> tuple[Path, Path]:
        stem = f"{image_id}.{key[:KEY_LEN]}"
        return self.dir / f"{stem}.png", self.dir / f"{stem}.json"

    @staticmethod
    def next_paths(png: Path, sidecar: Path) -> tuple[Path, Path]:
        """Where the new pair of a two-phase write waits (`.<stem>.png.next`, `.<stem>.json.next`)."""
        return png.with_name(f".{png.name}.next"), sidecar.with_name(f".{sidecar.name}.next")

    def _pending(self, png: Path, sidecar: Path) -> tuple[Path, Path] | None:
        """The committed new pair of an unfinished two-phase write, as (image, provenance) paths,
        or None when there is none (or it is not complete: the old pair stands)."""
        png_next, json_next = self.next_paths(png, sidecar)
        if not os.path.lexists(json_next):
            return None
        prov, _why = read_provenance(json_next)
        if prov is None:
            return None
        for candidate in (png_next, png):
            try:
                if candidate.is_file() and sha256_file(candidate) == prov["sha256"]:
                    return candidate, json_next
            except OSError:
                continue
        return None

    # ------------------------------------------------------------------ reading

    def check(self, image_id: str, key: str, *, decode: bool = True) -> Status:
        """Is the image with this exact store key present and intact? With `decode`, Pillow also
        decodes the whole image."""
        png, sidecar = self.paths(image_id, key)
        if not png.exists() and not sidecar.exists() and self._pending(png, sidecar) is None:
            return Status("missing")
        return self._verify(image_id, png, sidecar, key, decode=decode)

    def _verify(self, image_id: str, png: Path, sidecar: Path, key: str | None = None, *,
                decode: bool = True) -> Status:
        pending = self._pending(png, sidecar)
        if pending is not None:  # an unfinished two-phase write whose new pair is committed
            png, sidecar = pending
        if not sidecar.exists():
            return Status("corrupt", "the image has no provenance file (an interrupted run)")
        prov, why = read_provenance(sidecar)
        if prov is None:
            return Status("corrupt", why)
        if prov["id"] != image_id or (key is not None and prov["key"] != key):
            return Status("corrupt", "the provenance file belongs to another image")
        if not png.exists():
            return Status("corrupt", "the image file is missing")
        if sha256_file(png) != prov["sha256"]:
            return Status("corrupt", "the image does not match the SHA-256 in its provenance")
        problem = verify_png(png) if decode else None
        if problem:
            return Status("corrupt", problem)
        return Status("ok", entry=Entry(image_id, prov["key"], png, sidecar, prov))

    def entries_for(self, image_id: str) -> list[tuple[Path, Path]]:
        """Every (png, sidecar) pair stored for an id, whatever its key."""
        return [(self.dir / f"{s}.png", self.dir / f"{s}.json") for s in self._stems(image_id)]

    def find(self, image_id: str, spec_hash: str, *, allow_test_images: bool = False,
             decode: bool = True, pixels: dict | None = None) -> tuple[Entry | None, list[str]]:
        """The newest intact image stored for this id whose pixels-affecting manifest fields
        (prompt, seed, size, steps, guidance) match `spec_hash`, whatever model revision made it.
        Returns (entry or None, notes on stored files that were passed over). Without `decode`,
        a SHA-256 match with the provenance is enough (the build's check)."""
        best: Entry | None = None
        notes: list[str] = []
        other: list[str] = []  # intact images made from other manifest values
        for png, sidecar in self.entries_for(image_id):
            status = self._verify(image_id, png, sidecar, decode=decode)
            if status.state != "ok":
                notes.append(f"{png.name}: {status.detail}")
                continue
            entry = status.entry
            prov = entry.provenance
            if prov.get("test_fixture") and not allow_test_images:
                notes.append(f"{png.name}: made by a test pipeline, not by Z-Image; ignored")
                continue
            if prov.get("spec") != spec_hash:  # an older version of the image (another prompt, seed or size)
                other.append(f"{png.name}: made from other values than the manifest's ({spec_difference(prov, pixels)})")
                continue
            if best is None or created_time(prov["created"]) > created_time(best.provenance["created"]):
                best = entry
        return best, notes + (other if best is None else [])

    # ------------------------------------------------------------------ writing

    def write(self, image_id: str, key: str, image, provenance: dict, *, xmp: bytes | None = None) -> Entry:
        """Store a PIL image (with its XMP packet, when given) and its provenance, in two phases
        (see the module's docs): a reader sees the old pair or the new one, never a mix."""
        entry = None
        for entry in self.write_steps(image_id, key, image, provenance, xmp=xmp):
            pass
        assert entry is not None
        return entry

    def write_steps(self, image_id: str, key: str, image, provenance: dict, *, xmp: bytes | None = None):
        """`write()` one durable step at a time: yields None after each step, the Entry last.
        (A process may die after any step; the tests stop here to see what a reader finds.)"""
        from PIL import PngImagePlugin

        self.dir.mkdir(parents=True, exist_ok=True)
        png, sidecar = self.paths(image_id, key)
        png_next, json_next = self.next_paths(png, sidecar)
        info = None
        if xmp is not None:
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"), zip=False)  # where XMP readers look
        buf = io.BytesIO()
        image.save(buf, format="PNG", compress_level=6, pnginfo=info)
        data = buf.getvalue()
        prov = dict(provenance)
        prov.update(id=image_id, key=key, file=png.name, sha256=hashlib.sha256(data).hexdigest(),
                    bytes=len(data))
        self._listing = None
        # phase 1: the new pair beside the old one; the provenance is the commit point
        atomic_write(png_next, data)
        yield None
        atomic_write(json_next, (json.dumps(prov, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        _fsync_dir(self.dir)
        yield None
        # phase 2: over the old pair, the image first
        os.replace(png_next, png)
        yield None
        os.replace(json_next, sidecar)
        _fsync_dir(self.dir)
        self._listing = None
        yield Entry(image_id, key, png, sidecar, prov)

    def settle(self) -> list[str]:
        """Finish the two-phase writes an interrupted run committed, and discard the ones it did
        not (`generate` calls this before it plans). Returns what was done, for messages."""
        done: list[str] = []
        if not self.dir.is_dir():
            return done
        for path in sorted(self.dir.glob(".*.json.next")):
            m = _NEXT_RE.match(path.name)
            if not m:
                continue
            png, sidecar = self.paths(m["id"], m["key"])
            png_next, json_next = self.next_paths(png, sidecar)
            pending = self._pending(png, sidecar)
            if pending is not None:
                if pending[0] == png_next:
                    os.replace(png_next, png)
                os.replace(json_next, sidecar)
                done.append(f"finished the interrupted replacement of {png.name}")
            else:
                json_next.unlink(missing_ok=True)
                png_next.unlink(missing_ok=True)
        for path in self.dir.glob(".*.png.next"):  # written, never committed
            if not os.path.lexists(path.with_name(path.name[:-len(".png.next")] + ".json.next")):
                path.unlink(missing_ok=True)
        if done:
            _fsync_dir(self.dir)
        self._listing = None
        return done

    def remove_others(self, image_id: str, keep_key: str) -> list[Path]:
        """Remove the other stored versions of an image (git keeps the history)."""
        removed = []
        keep = self.paths(image_id, keep_key)
        for png, sidecar in self.entries_for(image_id):
            if (png, sidecar) == keep:
                continue
            for path in (png, sidecar, *self.next_paths(png, sidecar)):
                if os.path.lexists(path):
                    path.unlink()
                    removed.append(path)
        if removed:
            self._listing = None
        return removed

    def remove_temporary(self) -> None:
        """Remove temporary files left by an interrupted write, and settle its two-phase writes."""
        if self.dir.is_dir():
            for path in self.dir.glob(".*.tmp"):
                path.unlink(missing_ok=True)
        self.settle()
