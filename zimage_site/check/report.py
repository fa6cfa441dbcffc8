"""`zimage-site check --report FILE`: what broke or went stale, as Markdown for a GitHub issue.

The file is written only when something needs a person: an error (a broken link, a wrong page)
or a stale fact. Then it also lists the links that redirect, refuse the checker or fail for now,
so that one issue says everything. When all is well the file is removed, so that a workflow can
open or close its issue on whether the file exists.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from zimage_site.check.findings import CheckResult, Finding

MARKER = "<!-- zimage-site check report -->"


def needs_attention(result: CheckResult) -> bool:
    """An error, a stale fact, or a fact that goes stale within two weeks (the deploy's
    `check --strict` would refuse it then: the issue comes first)."""
    return bool(result.due_soon) or any(f.level == "error" or f.rule == "stale" for f in result.findings)


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _line(f: Finding) -> str:
    where = f"{f.problem.file}, line {f.problem.line}" if f.problem.line else (f.problem.file or "")
    text = f.problem.message.replace("\n", " ")
    return f"- {text}" + (f" ({_code(where)})" if where else "") + (f"  \n  fix: {f.problem.fix}" if f.problem.fix else "")


def render_report(result: CheckResult, today: dt.date | None = None) -> str:
    day = (today or dt.date.today()).isoformat()
    stale = [f for f in result.findings if f.rule == "stale"]
    broken = [f for f in result.findings if f.rule == "external" and f.level == "error"]
    other_errors = [f for f in result.findings if f.level == "error" and f.rule not in ("external", "stale")]
    external_warnings = [f for f in result.findings if f.rule == "external" and f.level == "warning"]
    parts = [MARKER, f"The weekly check of {day} found links that broke or facts that went (or soon go) stale.", ""]
    if broken:
        parts += [f"## Broken links ({len(broken)})", "", *map(_line, broken), ""]
    if stale:
        parts += [f"## Stale facts ({len(stale)})", "",
                  "Re-verify each against its source, then update `checked:` in `content/data/facts.yaml` "
                  "(see docs/content.md, \"Re-verifying a fact\").", "",
                  *(f"- {f.problem.message}" for f in stale), ""]
    if result.due_soon:
        parts += [f"## Going stale within two weeks ({len(result.due_soon)})", "",
                  "Re-verify these too while you are at it: the deploy refuses stale facts.", "",
                  *(f"- {line}" for line in result.due_soon), ""]
    if other_errors:
        parts += [f"## Other errors ({len(other_errors)})", "", *map(_line, other_errors), ""]
    if external_warnings:
        parts += [f"## Links to look at ({len(external_warnings)})", "",
                  "Redirects, hosts that refuse the checker, and links failing for now (429, 5xx, timeouts):", "",
                  *map(_line, external_warnings), ""]
    summary = [line for line in (result.stale_summary(), result.external) if line]
    if summary:
        parts += ["## Summary", "", *(f"- {line}" for line in summary), ""]
    parts.append("This issue is updated by every run of the workflow and closed when a run finds nothing.")
    return "\n".join(parts) + "\n"


def write_report(path: Path, result: CheckResult, today: dt.date | None = None) -> bool:
    """Write the report to `path` when something needs attention (True); else remove `path`."""
    path = Path(path)
    if not needs_attention(result):
        path.unlink(missing_ok=True)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result, today), encoding="utf-8")
    return True
