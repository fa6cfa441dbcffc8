"""The asset store: the assets phase's files, made once per key into `.cache/assets/<key>/`.

The folder is content-addressed (its key digests everything it is made from), so it is published
once, atomically (a rename of a complete folder), and never changed: builds of the same site
running at once each make it in a folder of their own, the first rename wins, and the others use
the winner's (theirs is the same) and remove their own. Its manifest (the URLs, and the SHA-256 of
every file) is signed with this user's key: a folder planted in .cache/, or changed since, is made
again rather than published. Old folders are evicted (`ASSET_VERSIONS`). Where .cache/ cannot be
written, a private temporary folder holds them for the life of the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from zimage_site.cache import read_signed, write_signed
from zimage_site.errors import Problem, SiteError
from zimage_site.files import MAX_STATIC, read_bytes
from zimage_site.writer import OutputFile

ASSET_VERSIONS = 4  # asset folders kept (a build and a preview, two base URLs)


@dataclass
class Assets:
    """The assets phase's result: URLs by logical name, and the files to publish."""

    urls: dict[str, str]
    files: list[OutputFile]


class AssetStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp: tempfile.TemporaryDirectory | None = None

    def assets(self, key: str, base_path: str, hash_names: bool) -> Assets:
        """The assets made under `key` (see the module's docstring): found, or made now."""
        folder = self.root / ".cache" / "assets" / key
        made = _manifest(folder)
        if made is None:
            try:
                folder.parent.mkdir(parents=True, exist_ok=True)
                _evict(folder.parent, keep=key)
            except OSError:
                if self._tmp is None:
                    self._tmp = tempfile.TemporaryDirectory(prefix="zimage-site-assets-")
                folder = Path(self._tmp.name) / key
            made = _manifest(folder)
        if made is None:
            self._make(folder, key, base_path, hash_names)
            made = _manifest(folder)
            if made is None:
                raise SiteError(Problem("the assets cannot be kept in .cache/assets/", file=".cache/assets",
                                        fix="delete .cache/ (the next build makes it again)"))
        urls, files = made
        return Assets(urls, [OutputFile(name, folder / name) for name in sorted(files)])

    def _make(self, folder: Path, key: str, base_path: str, hash_names: bool) -> None:
        from zimage_site.assets import build_assets

        work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
        try:
            urls = build_assets(self.root, work, base_path, hash_names=hash_names)
            files = {path.relative_to(work).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
                     for path in sorted((work / "assets").rglob("*")) if path.is_file()}
            write_signed(work / "manifest.json", json.dumps({"urls": urls, "files": files}, sort_keys=True)
                         .encode("utf-8"), ".manifest-")
            if os.path.lexists(folder):  # not a folder this user's builds made: set aside, removed
                aside = folder.with_name(f".{key}-untrusted-{os.getpid()}")
                os.rename(folder, aside)
                shutil.rmtree(aside, ignore_errors=True)
            try:
                os.rename(work, folder)  # a folder in place is never replaced (another build's)
            except OSError:
                if _manifest(folder) is None:  # not published by another build: a failure
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _manifest(folder: Path) -> tuple[dict, dict] | None:
    """(URLs, files) of an asset folder this user's builds made and nobody changed, else None."""
    data = read_signed(folder / "manifest.json", limit=16 << 20)
    if data is None:
        return None
    try:
        manifest = json.loads(data)
        urls, files = manifest["urls"], manifest["files"]
        for name, sha in files.items():
            if hashlib.sha256(read_bytes(None, folder / name, name, limit=MAX_STATIC)).hexdigest() != sha:
                return None
    except (SiteError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return urls, files


def _evict(parent: Path, keep: str) -> None:
    """Remove old asset folders: the newest few are kept (a build and a preview, two base URLs),
    and none younger than an hour (a build running now may be publishing from it)."""
    dated = []
    for entry in os.scandir(parent):
        try:
            dated.append((entry.stat(follow_symlinks=False).st_mtime, entry.name))
        except OSError:  # removed meanwhile by another build
            continue
    dated.sort(reverse=True)
    now = time.time()
    for mtime, name in dated[ASSET_VERSIONS:]:
        if name != keep and now - mtime > 3600:
            shutil.rmtree(parent / name, ignore_errors=True)
