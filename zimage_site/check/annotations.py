"""GitHub Actions annotations for the findings (printed when GITHUB_ACTIONS=true)."""

from __future__ import annotations

from zimage_site.check.findings import Finding, plural
from zimage_site.errors import Problem


def annotations(findings: list[Finding]) -> list[str]:
    """One workflow command per finding, except pending images, which are one per level (GitHub
    shows only the first ten annotations of each kind per step)."""
    lines = []
    pending: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.rule == "placeholder":
            pending.setdefault(finding.level, []).append(finding)
        else:
            lines.append(finding.annotation())
    for level, group in pending.items():
        ids = sorted({f.subject for f in group if f.subject})
        count = len(ids) or len(group)
        text = (f"{plural(count, 'image')} {'has' if count == 1 else 'have'} not been generated yet; the page "
                f"shows placeholders for them: {', '.join(ids)} (fix: zimage-site generate on a GPU machine, then "
                "commit images/)")
        first = group[0].problem
        lines.append(Problem(text, file=first.file).annotation(level, title="zimage-site check: placeholder"))
    return lines


def print_annotations(findings: list[Finding]) -> None:
    for line in annotations(findings):
        print(line)
