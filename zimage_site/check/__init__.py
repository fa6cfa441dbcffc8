"""`zimage-site check`: verify a built site without a server.

The checks read the output folder (default `build/`) the way a browser and a crawler would. The
package, by job:

- `model`: the page model (links, ids, sections, images, facts, citations, the source list…), read
  with lxml's HTML parser, and the sitemap's entries; every item keeps its line;
- `context`: the built site as a whole (its files, pages, base path) and how a URL resolves;
- `anchors`: the anchor rule, a pure function the build applies too;
- `rules/`: one module per family: `pages` (lang, unique ids, JSON-LD, canonical), `links` (links,
  stylesheet URLs, anchors), `images` (alt text and its language), `placeholders`, `translations`
  (the same sections in both languages), `error_page` (404.html), `sitemap` (sitemap, hreflang,
  robots.txt), `facts` (numbers, citations and sources against content/data/facts.yaml, check
  dates, stale facts);
- `nu`: the Nu HTML Checker, when Java is there; `annotations`: GitHub Actions annotations;
- `external`: `--external`, every external link checked with lychee (linkcheck.yaml);
  `report`: `--report`, what broke or went stale as Markdown for the weekly issue;
- `runner`: runs it all (`run_checks`); `cli`: the subcommand.

The markup the rules look for is named in `zimage_site.markup`, which the templates use too.
"""

from __future__ import annotations

from zimage_site.check.cli import add_parser
from zimage_site.check.findings import CheckResult, Finding
from zimage_site.check.runner import check_site, run_checks

__all__ = ["CheckResult", "Finding", "add_parser", "check_site", "run_checks"]
