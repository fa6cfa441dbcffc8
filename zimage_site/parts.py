"""The parts of a build, kept between builds: in memory for the builds of one `Site` (the live
preview), and on disk (`.cache/parts.json`) for the parts that only YAML parsing makes.

A part is a value made under a key (the digests of the inputs that feed it, `inputs.FEEDS`) with
the warnings made with it. A part is recorded only when it was made without an error, so a build
after a failed one never reuses a half-made value. The file holds JSON of a closed list of types
(`cache.encode`), signed with this user's key (`cache.sign`): a planted file is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zimage_site.cache import Unstorable, decode, encode, read_signed, write_signed
from zimage_site.errors import Problem

# Parts kept in .cache/ for the next process (values that only YAML parsing makes, and the images
# phase's result); keyed like in memory, on the digests of their inputs and the engine.
PERSISTED = ("config", "data", "sections", "strings", "catalog", "images")
PARTS_FILE = ".cache/parts.json"
PARTS_FORMAT = 2


class Parts:
    """The parts made by earlier builds, by part name: (key, value, warnings)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._parts: dict[Any, tuple[str, Any, list[Problem]]] = {}
        self._loaded = False

    def get(self, name: Any, key: str) -> tuple[Any, list[Problem]] | None:
        """The value made under `key` and its warnings, or None."""
        if not self._loaded:
            self._load()
        known = self._parts.get(name)
        if known is not None and known[0] == key:
            return known[1], known[2]
        return None

    def put(self, name: Any, key: str, value: Any, warnings: list[Problem]) -> None:
        self._parts[name] = (key, value, warnings)

    def _load(self) -> None:
        """The parts of the last build in another process (.cache/parts.json, see PERSISTED): JSON
        of a closed list of types (cache.encode), read by files.read_bytes like any input."""
        self._loaded = True
        try:
            raw = read_signed(self.root / PARTS_FILE)  # signed with this user's key: a planted file is ignored
            if raw is None:
                return
            stored = json.loads(raw)
            if stored.get("format") != PARTS_FORMAT or stored.get("root") != str(self.root.resolve()):
                return
            parts = {}
            for name, entry in stored["parts"].items():
                try:
                    parts[name] = decode(entry)
                except Exception:  # noqa: BLE001  a part the engine cannot read: made again
                    continue
        except Exception:  # noqa: BLE001  none yet, unreadable, or written by another version: made again
            return
        try:
            images = parts.get("images")
            if images is not None and not all(Path(item.source).is_file() for item in images[1].files):
                parts.pop("images", None)  # .cache/variants/ was emptied
                parts.pop("catalog", None)
        except Exception:  # noqa: BLE001
            parts.pop("images", None)
        for name, value in parts.items():
            if isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], str):
                self._parts.setdefault(name, value)

    def save(self, made: set) -> None:
        """Write the persisted parts when this build made one of them."""
        if not made & set(PERSISTED):
            return
        parts = {}
        for name in PERSISTED:
            if name in self._parts:
                try:
                    parts[name] = encode(self._parts[name])
                except Unstorable:  # a value of a type the format does not hold: made again next time
                    continue
        try:
            data = json.dumps({"format": PARTS_FORMAT, "root": str(self.root.resolve()), "parts": parts},
                              ensure_ascii=False, separators=(",", ":"))
            write_signed(self.root / PARTS_FILE, data.encode("utf-8"), ".parts-")
        except OSError:
            pass  # a read-only checkout: the next build makes them again
