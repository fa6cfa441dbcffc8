"""The parts of a build, kept between builds: in memory for the builds of one `Site` (the live
preview), and on disk (`.cache/parts.json`, `.cache/build-<key>.marshal`) for the parts that only YAML
parsing makes, the converted pages of a derived language and the whole build's result.

A part is a value made under a key (the digests of the inputs that feed it, `inputs.FEEDS`) with
the warnings made with it. A part is recorded only when it was made without an error, so a build
after a failed one never reuses a half-made value. The files hold a closed list of types
(`cache.encode`: JSON's), as JSON (parts.json) or, for the whole build's pages, in marshal's
format, which reads and writes megabytes of text several times faster; each is signed with this
user's key (`cache.sign`): a planted file is ignored.
"""

from __future__ import annotations

import json
import marshal
from pathlib import Path
from typing import Any

from zimage_site.cache import Unstorable, decode, encode, read_signed, write_signed
from zimage_site.errors import Problem

# Parts kept in .cache/ for the next process (values that only YAML parsing makes, the images
# phase's result, and the whole build's result: see site.py); keyed like in memory, on the digests
# of their inputs and the engine. A derived language's converted pages are kept too, each a part of
# its own named DERIVED + "<language>:<page>" (keyed on the page converted, the language's profile
# and glossary, and the engine, OpenCC's version included).
PERSISTED = ("config", "data", "sections", "strings", "catalog", "images", "build")
DERIVED = "derived:"
PARTS_FILE = ".cache/parts.json"
# The whole build's result (its pages: megabytes on a large site) has a file of its own, named by
# its key: a build that reuses it reads nothing else, and one with another key reads none of it.
BUILD_FILE = ".cache/build-{key}.marshal"
PARTS_FORMAT = 3


def persisted(name: Any) -> bool:
    """Whether the part `name` is kept in .cache/."""
    return name in PERSISTED or (isinstance(name, str) and name.startswith(DERIVED))


def file_of(name: str, key: str) -> str:
    """The file of .cache/ that keeps the part `name` made under `key`."""
    return BUILD_FILE.format(key=key) if name == "build" else PARTS_FILE


class Parts:
    """The parts made by earlier builds, by part name: (key, value, warnings). A file is read when
    a build first asks for one of its parts, and a part is decoded when a build first asks for it
    under the key it was stored with (a build that reuses its whole result decodes nothing else,
    and imports no model of the inputs)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._parts: dict[Any, tuple[str, Any, list[Problem]]] = {}
        self._stored: dict[str, Any] = {}  # name → the file's entry, not decoded yet
        self._used: set = set()  # the names the current build asked for or made
        self._loaded: set[str] = set()  # the files read

    def start(self) -> None:
        """A build begins: count the parts it uses (the derived pages it does not use are not kept)."""
        self._used = set()

    def get(self, name: Any, key: str) -> tuple[Any, list[Problem]] | None:
        """The value stored under `key` for part `name`, and its warnings, or None."""
        self._used.add(name)
        if persisted(name) and file_of(name, key) not in self._loaded:
            self._load(file_of(name, key))
        known = self._parts.get(name)
        if known is None and name in self._stored:
            known = self._decode(name, key)
        if known is not None and known[0] == key:
            return known[1], known[2]
        return None

    def put(self, name: Any, key: str, value: Any, warnings: list[Problem]) -> None:
        self._used.add(name)
        self._stored.pop(name, None)
        self._parts[name] = (key, value, warnings)

    def _load(self, file: str) -> None:
        """The parts of the last build in another process kept in `file` (see PERSISTED): JSON
        of a closed list of types (cache.encode), read by files.read_bytes like any input."""
        self._loaded.add(file)
        try:
            raw = read_signed(self.root / file)  # signed with this user's key: a planted file is ignored
            if raw is None:
                return
            stored = json.loads(raw) if file == PARTS_FILE else marshal.loads(raw)
            if stored.get("format") != PARTS_FORMAT or stored.get("root") != str(self.root.resolve()):
                return
            for name, entry in stored["parts"].items():
                if persisted(name) and name not in self._parts and (name == "build") == (file != PARTS_FILE):
                    self._stored[name] = entry
        except Exception:  # noqa: BLE001  none yet, unreadable, or written by another version: made again
            return

    def _decode(self, name: str, key: str) -> tuple[str, Any, list[Problem]] | None:
        """The stored part `name` when it was stored under `key` (else it stays as stored)."""
        entry = self._stored[name]
        try:
            if entry["v"][0] != key:  # (key, value, warnings) as cache.encode wrote the tuple
                return None
            if name in ("catalog", "images") and not self._variants_kept():
                return None  # .cache/variants/ was emptied: both made again
            del self._stored[name]
            value = decode(entry)
            if not (isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], str)):
                return None
        except Exception:  # noqa: BLE001  a part the engine cannot read: made again
            self._stored.pop(name, None)
            return None
        self._parts[name] = value
        return value

    def _variants_kept(self) -> bool:
        """Whether the image files of the stored images part are all still in .cache/variants/
        (when it is not: the stored catalog and images are dropped)."""
        entry = self._stored.get("images")
        if entry is None:
            return True
        try:
            files = decode(entry)[1].files
            if all(Path(item.source).is_file() for item in files):
                return True
        except Exception:  # noqa: BLE001
            pass
        self._stored.pop("images", None)
        self._stored.pop("catalog", None)
        return False

    def save(self, made: set) -> None:
        """Write the files of .cache/ that keep a part this build made (the derived pages only
        when this build used them; a part this build did not ask for, as it was read)."""
        if "build" in made and "build" in self._parts:
            self._save_build(*self._parts["build"])
        if any(persisted(name) and name != "build" for name in made):
            if PARTS_FILE not in self._loaded:
                self._load(PARTS_FILE)  # (its other parts, to keep them)
            names = [*PERSISTED, *sorted(n for n in self._used | set(self._stored)
                                         if isinstance(n, str) and n.startswith(DERIVED))]
            parts = {}
            for name in names:
                if name == "build":
                    continue
                if name in self._parts:
                    if name not in PERSISTED and name not in self._used:
                        continue
                    try:
                        parts[name] = encode(self._parts[name])
                    except Unstorable:  # a value of a type the format does not hold: made again next time
                        continue
                elif name in self._stored and (name in PERSISTED or name in self._used):
                    parts[name] = self._stored[name]  # as it was read (not asked for by this build)
            self._write(PARTS_FILE, parts)

    def _save_build(self, key: str, value: Any, warnings: list[Problem]) -> None:
        """Keep the whole build's result in its file (the files of other keys are removed)."""
        try:
            self._write(BUILD_FILE.format(key=key), {"build": encode((key, value, warnings))})
        except Unstorable:
            return
        for old in (self.root / ".cache").glob("build-*"):  # (of any key and format)
            if old.name != Path(BUILD_FILE.format(key=key)).name:
                try:
                    old.unlink()
                except OSError:  # removed meanwhile by another build, or not ours to remove
                    pass

    def _write(self, file: str, parts: dict) -> None:
        try:
            stored = {"format": PARTS_FORMAT, "root": str(self.root.resolve()), "parts": parts}
            data = (json.dumps(stored, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                    if file == PARTS_FILE else marshal.dumps(stored))
            write_signed(self.root / file, data, ".parts-")
        except OSError:
            pass  # a read-only checkout: the next build makes them again
