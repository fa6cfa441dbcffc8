"""Running the checks: load the built site, apply every rule, the Nu checker, then --strict."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

from zimage_site.check.context import BuiltSite
from zimage_site.check.findings import CheckResult, Finding
from zimage_site.check.nu import validate_html
from zimage_site.check.rules import PAGE_RULES, SITE_RULES
from zimage_site.errors import Problem, SiteError, rel

if TYPE_CHECKING:
    from zimage_site.check.external import ExternalOptions


def check_built_site(out_dir: Path, root: Path, allow_placeholders: bool = False,
                     today: dt.date | None = None) -> BuiltSite:
    """Load the built site and apply every rule; the findings are in `.result`."""
    site = BuiltSite(out_dir, root, allow_placeholders)
    if today is not None:
        site.today = today
    if site.load():
        for page in site.pages.values():
            for page_rule in PAGE_RULES:
                page_rule(site, page)
        for site_rule in SITE_RULES:
            site_rule(site)
    return site


def run_checks(out_dir: Path, root: Path, *, strict: bool = False, allow_placeholders: bool = False,
               html_validator: bool = True, today: dt.date | None = None, external: bool = False,
               external_options: "ExternalOptions | None" = None) -> CheckResult:
    """Check the site built into `out_dir`, with the data of the site root `root`.

    Pending images (`data-pending`) are warnings; with `strict` they are errors unless
    `allow_placeholders`. With `strict`, every other warning is an error too (stale facts
    included: `today` is the day their age is measured on, the real today by default).
    With `external`, every external link of the pages is checked with lychee (`external.py`).
    """
    started = time.perf_counter()
    out_dir, root = Path(out_dir), Path(root)
    if not out_dir.is_dir():
        raise SiteError(Problem("the output folder does not exist", file=rel(out_dir, root),
                                fix="build the site first: zimage-site build"))
    site = check_built_site(out_dir, root, allow_placeholders, today)
    result = site.result
    if external:
        from zimage_site.check.external import check_external

        found, summary = check_external(site, external_options)
        result.findings.extend(found)
        result.external = summary
    if html_validator:
        found, note = validate_html(out_dir, root, [p.path for p in site.pages.values()])
        result.findings.extend(found)
        if note:
            result.notes.append(note)
    else:
        result.notes.append("HTML validation skipped (--no-html-validator)")
    if strict:
        for finding in result.findings:
            if finding.level == "warning" and not (finding.rule == "placeholder" and allow_placeholders):
                finding.level = "error"
    result.findings.sort(key=lambda f: (f.level != "error", f.problem.file or "", f.problem.line or 0))
    result.seconds = time.perf_counter() - started
    return result


def check_site(out_dir: Path, root: Path, *, strict: bool = False, allow_placeholders: bool = False,
               html_validator: bool = False) -> list[Finding]:
    """The findings (errors and warnings) of the site built into `out_dir`.

    The HTML validator is off by default here (it starts Java); the command runs it.
    """
    return run_checks(out_dir, root, strict=strict, allow_placeholders=allow_placeholders,
                      html_validator=html_validator).findings
