"""The anchor rule, in one place: a link to `#id` must find an element with that id on its page.

A pure function of the links and the ids of a page. `zimage-site check` applies it to the built
pages; the build applies it to the links the Markdown writes, with the ids the page renders, and
each words the problem for its reader.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Collection, Iterable
from urllib.parse import unquote

# Fragments that need no element: the empty one and "top" scroll to the top of the page (HTML spec).
ALWAYS_VALID = frozenset(("", "top"))


@dataclass(frozen=True)
class Anchor:
    """A link to an id: `target` is the fragment without "#", as written (percent-encoded or not)."""

    target: str
    line: int | None = None
    origin: Any = None  # what the caller needs to word the problem (a link, a section)


@dataclass(frozen=True)
class BrokenAnchor:
    anchor: Anchor
    closest: str | None  # the existing id closest to the target, to suggest "did you mean"


def resolves(target: str, ids: Collection[str]) -> bool:
    return target in ALWAYS_VALID or target in ids or unquote(target) in ids


def broken_anchors(anchors: Iterable[Anchor], ids: Collection[str]) -> list[BrokenAnchor]:
    """The anchors whose target is no id of `ids`, in the order given, each with the closest id."""
    broken = []
    for anchor in anchors:
        if not resolves(anchor.target, ids):
            close = difflib.get_close_matches(unquote(anchor.target), list(ids), n=1, cutoff=0.6)
            broken.append(BrokenAnchor(anchor, close[0] if close else None))
    return broken
