"""The image store: `images/` at the site root, committed to git.

Each image is two files named by its id and its store key (a hash of everything that changes the
pixels, see `manifest.store_key`):

    images/showcase-teahouse-sign.3f9c0a1b2c3d4e5f.png    the image, exactly as the model made it
    images/showcase-teahouse-sign.3f9c0a1b2c3d4e5f.json   its provenance (the commit marker)

Both are written atomically (a temporary file, then `os.replace`), the image first and the
provenance last, so a provenance file only exists for a complete image. An image without
provenance, an image whose SHA-256 differs from the one its provenance records, or a file Pillow
cannot verify is corrupt and is generated again.

Two levels of checking: the build trusts an image whose SHA-256 matches its provenance (that
proves the bytes are the ones the generator wrote) and never decodes it; `generate` also decodes
every image it keeps (`decode=True`), to catch a file that was replaced together with its
provenance. The store folder is listed once per `Store` object (its own writes refresh it).

This module needs only Pillow: the site builds without torch or diffusers.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

STORE_DIR = "images"
KEY_LEN = 16
_NAME_RE = re.compile(r"^(?P<id>.+)\.(?P<key>[0-9a-f]{%d})\.(?P<ext>png|json)$" % KEY_LEN)

# Fields every provenance file has.
REQUIRED = ("id", "key", "sha256", "prompt", "seed", "steps", "guidance_scale", "width", "height",
            "model", "created")


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
                        m = _NAME_RE.match(item.name)
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

    # ------------------------------------------------------------------ reading

    def check(self, image_id: str, key: str, *, decode: bool = True) -> Status:
        """Is the image with this exact store key present and intact? With `decode`, Pillow also
        decodes the whole image."""
        png, sidecar = self.paths(image_id, key)
        if not png.exists() and not sidecar.exists():
            return Status("missing")
        return self._verify(image_id, png, sidecar, key, decode=decode)

    def _verify(self, image_id: str, png: Path, sidecar: Path, key: str | None = None, *,
                decode: bool = True) -> Status:
        if not sidecar.exists():
            return Status("corrupt", "the image has no provenance file (an interrupted run)")
        try:
            prov = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return Status("corrupt", f"the provenance file is unreadable ({exc.__class__.__name__})")
        if not isinstance(prov, dict) or any(k not in prov for k in REQUIRED):
            return Status("corrupt", "the provenance file lacks required fields")
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
            if best is None or prov["created"] > best.provenance["created"]:
                best = entry
        return best, notes + (other if best is None else [])

    # ------------------------------------------------------------------ writing

    def write(self, image_id: str, key: str, image, provenance: dict) -> Entry:
        """Store a PIL image and its provenance: the PNG first, the provenance last."""
        self.dir.mkdir(parents=True, exist_ok=True)
        png, sidecar = self.paths(image_id, key)
        buf = io.BytesIO()
        image.save(buf, format="PNG", compress_level=6)
        data = buf.getvalue()
        prov = dict(provenance)
        prov.update(id=image_id, key=key, file=png.name, sha256=hashlib.sha256(data).hexdigest(),
                    bytes=len(data))
        try:
            atomic_write(png, data)
            atomic_write(sidecar, (json.dumps(prov, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        finally:
            self._listing = None
        return Entry(image_id, key, png, sidecar, prov)

    def remove_others(self, image_id: str, keep_key: str) -> list[Path]:
        """Remove the other stored versions of an image (git keeps the history)."""
        removed = []
        keep = self.paths(image_id, keep_key)
        for png, sidecar in self.entries_for(image_id):
            if (png, sidecar) == keep:
                continue
            for path in (png, sidecar):
                if path.exists():
                    path.unlink()
                    removed.append(path)
        if removed:
            self._listing = None
        return removed

    def remove_temporary(self) -> None:
        """Remove temporary files left by an interrupted write."""
        if self.dir.is_dir():
            for path in self.dir.glob(".*.tmp"):
                path.unlink(missing_ok=True)
