"""Shared fixtures: fixture sites copied into a temporary folder with the project's templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium; `playwright install` cannot download here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def make_site(tmp_path: Path, name: str) -> Path:
    """Copy tests/fixtures/<name> to tmp_path/<name>, adding the project's templates and static files."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    for folder in ("templates", "static"):
        if not (root / folder).exists():
            shutil.copytree(REPO / folder, root / folder)
    return root


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
