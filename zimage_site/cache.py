"""The cache of rendered sections: in memory for the live preview, on disk in `.cache/` for any build.

A section's entry is found by a key made of everything its HTML depends on (see `inputs.FEEDS`:
its own file, the site configuration, the facts and data, the templates and UI strings, the
image manifest and store, the asset URLs, the engine, and the sources cited before it on the
page), so an entry is either exactly right or never looked at. The disk file holds the entries
the last successful build used (no growth), written atomically; an unreadable file is ignored.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from pathlib import Path

from zimage_site.errors import Problem
from zimage_site.fragments import Link, Question, SectionHTML

CACHE_FILE = ".cache/sections.marshal"
_FORMAT = 2


def _problem_fields(p: Problem) -> tuple:
    return (p.message, p.file, p.line, p.key, p.fix, p.context, p.kind)


class SectionCache:
    def __init__(self, root: Path) -> None:
        self.path = Path(root) / CACHE_FILE
        self._entries: dict[str, tuple] | None = None
        self._used: dict[str, tuple] = {}
        self.hits = self.misses = 0

    def _load(self) -> dict[str, tuple]:
        if self._entries is None:
            self._entries = {}
            try:
                with open(self.path, "rb") as f:
                    version, entries = marshal.load(f)
                if version == _FORMAT and isinstance(entries, dict):
                    self._entries = entries
            except (OSError, EOFError, ValueError, TypeError):
                pass
        return self._entries

    def size(self) -> int:
        return len(self._load())

    def get(self, key: str, meta) -> SectionHTML | None:
        entry = self._load().get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._used[key] = entry
        lead, rest, links, ids, faq, cites, warnings, facts = entry
        return SectionHTML(meta, lead, rest, links=tuple(Link(*x) for x in links), ids=ids,
                           faq=tuple(Question(*x) for x in faq), cites=cites,
                           warnings=tuple(Problem(*x) for x in warnings), facts=facts)

    def put(self, key: str, s: SectionHTML) -> None:
        entry = (s.lead_html, s.rest_html, tuple((x.target, x.line) for x in s.links), tuple(s.ids),
                 tuple((q.question, q.answer) for q in s.faq), tuple(s.cites),
                 tuple(_problem_fields(p) for p in s.warnings), tuple(s.facts))
        self._load()[key] = entry
        self._used[key] = entry

    def start(self) -> None:
        """A build begins: count what it uses."""
        self._used = {}
        self.hits = self.misses = 0

    def save(self) -> None:
        """After a successful build: keep in memory and on disk the entries it used."""
        changed = self._used.keys() != (self._entries or {}).keys()
        self._entries = self._used
        if not changed and self.path.exists():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".sections-", dir=self.path.parent)
            with os.fdopen(fd, "wb") as f:
                marshal.dump((_FORMAT, self._entries), f)
            os.replace(tmp, self.path)
        except OSError:  # a read-only checkout builds without the disk cache
            pass
