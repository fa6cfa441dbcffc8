"""A rebuild is a full build: random sequences of edits, additions and deletions of every kind of
input (inputs.KINDS), each followed by a rebuild that reuses what it can (in memory, or from the
.cache/ of an earlier process) and by a cold build of a copy of the same sources; both must give the
same output byte for byte, the same warnings, or the same errors. A build in a new process that
follows, with nothing changed, publishes the rebuild's result again: the same again.

ZIMAGE_SLOW=1 runs many more examples.
"""

from __future__ import annotations

import os
import shutil

import pytest

pytest.importorskip("hypothesis", reason="needs the pip package hypothesis")

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from zimage_site.inputs import FEEDS, KINDS  # noqa: E402
from zimage_site.site import Site  # noqa: E402

from helpers import apply, cold_copy, new_site, outcome  # noqa: E402

SLOW = os.environ.get("ZIMAGE_SLOW") == "1"


def test_every_kind_of_input_is_in_the_map():
    assert set(KINDS) | {"engine"} == set(FEEDS)
    for kind, parts in FEEDS.items():
        assert "pages" in parts, kind  # every input can change a page


OPS = st.tuples(st.sampled_from(sorted(KINDS)), st.integers(0, 11), st.integers(0, 40))


@settings(max_examples=200 if SLOW else 10, deadline=None, derandomize=not SLOW,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.tuples(OPS, st.booleans()), min_size=1, max_size=6))
@example(ops=[(("content", 4, 0), False), (("content", 4, 1), True)])  # sources renumbered after a section
@example(ops=[(("store", 0, 3), False), (("store", 0, 4), True), (("manifest", 0, 1), False)])
@example(ops=[(("content", 3, 0), True), (("config", 0, 0), False), (("content", 3, 0), False)])
@example(ops=[(("data", 2, 0), False), (("data", 2, 2), True)])  # a breakpoint moves (layout.yaml), and back
def test_a_rebuild_equals_a_full_build(tmp_path_factory, ops):
    tmp = tmp_path_factory.getbasetemp() / "rebuild"
    tmp.mkdir(exist_ok=True)
    root = new_site(tmp, derived=True)
    site = Site(root, allow_placeholders=True)
    site.build(tmp / "out-first")
    for step, (op, new_process) in enumerate(ops):
        apply(root, op)
        if new_process:  # a later process: only the .cache/ on disk is shared
            site = Site(root, allow_placeholders=True)
        warm = outcome(site, tmp / f"out-{step}")
        cold = outcome(Site(cold_copy(root, tmp / "cold"), allow_placeholders=True), tmp / "cold-out")
        assert warm[0] == cold[0], (op, warm[1] if warm[0] == "error" else cold[1])
        if warm[0] == "error":
            assert warm[1] == cold[1], op
        else:
            assert warm[1].keys() == cold[1].keys(), op
            different = [name for name in warm[1] if warm[1][name] != cold[1][name]]
            assert not different, (op, different)
            assert warm[2] == cold[2], op
        # nothing changed since: a later process publishes the same result again (or the same errors)
        again = outcome(Site(root, allow_placeholders=True), tmp / f"out-again-{step}")
        assert again == warm, op
        shutil.rmtree(tmp / f"out-{step}", ignore_errors=True)
        shutil.rmtree(tmp / f"out-again-{step}", ignore_errors=True)
