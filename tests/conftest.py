"""Shared fixtures: fixture sites copied into a temporary folder with the project's templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
