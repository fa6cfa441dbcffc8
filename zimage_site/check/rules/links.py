"""Links: every internal URL of a page or a stylesheet resolves to a file of the output, under the
base path; every #fragment to an id of the target page (the anchor rule of zimage_site/anchors.py, which the build applies too)."""

from __future__ import annotations

import posixpath
import re

from zimage_site.files import read_bytes
from zimage_site.anchors import Anchor, broken_anchors
from zimage_site.check.context import BuiltSite, malformed, urlsplit
from zimage_site.check.model import Link, Page

_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)""")
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""")


def check_page(site: BuiltSite, page: Page) -> None:
    for link in page.links:
        site.result.links += 1
        if link.kind == "fact-src":
            continue  # checked with the facts
        raw = link.url.strip()
        if page.is_error_page and raw and not raw.startswith(("#", "/")) \
                and not urlsplit(raw).scheme and not raw.startswith("//"):
            site.error("link", f"relative link {raw!r} ({link.what}) on the 404 page", file=page.display,
                       line=link.line,
                       fix="GitHub Pages serves 404.html at any missing address, where relative links break; "
                           "make it root-relative (start with the base path)")
        if link.kind == "meta" and raw and not urlsplit(raw).scheme:
            site.warning("link", f"{link.what} {raw!r} is not an absolute URL", file=page.display,
                         line=link.line, fix="Open Graph needs absolute URLs: build with --base-url https://…/")
        status, value = site.resolve(raw, page)
        if status in ("skip", "external"):
            continue
        if status == "malformed":
            site.error("link", f"the URL {raw!r} ({link.what}) cannot be parsed ({malformed(raw)})",
                       file=page.display, line=link.line,
                       fix="correct the URL in the source (an IPv6 address is written in brackets: https://[::1]/)")
            continue
        if status == "outside":
            site.error("link", f"link to {raw} ({link.what}) is outside the base path {site.base}",
                       file=page.display, line=link.line,
                       fix=f"the site is served under {site.base}; build URLs with the base path "
                           "(templates use the url() helper) or use relative links")
            continue
        if status == "missing":
            site.error("link", f"link to {raw} ({link.what}): no such file in the output",
                       file=page.display, line=link.line, fix=missing_fix(site, value))
            continue
        target, fragment = value
        if link.kind != "jsonld":  # a fragment in JSON-LD names a node, not an element
            _check_fragment(site, page, link, target, fragment)


def missing_fix(site: BuiltSite, path: str) -> str:
    name = posixpath.basename(path.rstrip("/"))
    near = sorted(f for f in site.files if posixpath.basename(f) == name)
    if near:
        return f"a file of that name is at {site.base}{near[0]}; correct the path"
    return "correct the link, or add the file it points to (static/ or the image store)"


def _check_fragment(site: BuiltSite, page: Page, link: Link, target: str, fragment: str) -> None:
    target_page = site.pages.get(target)
    if target_page is None:
        return  # a fragment into a non-HTML file (an SVG sprite, a PDF page): not checked
    for broken in broken_anchors([Anchor(fragment, link.line, link)], target_page.ids):
        where = "" if target == page.relpath else f" in {target_page.display}"
        if broken.closest:
            fix = f"did you mean #{broken.closest}? (line {target_page.ids[broken.closest]})"
        else:
            sections = ", ".join(s for s, _ in target_page.sections) or "none"
            fix = f"link to a section id ({sections}) or a heading anchor of the target page"
        site.error("anchor", f"link to {link.url.strip()} ({link.what}): no element with that id{where}",
                   file=page.display, line=link.line, fix=fix)


def check_css(site: BuiltSite) -> None:
    for relpath in sorted(f for f in site.files if f.endswith(".css")):
        path = site.out / relpath
        display = site.display(relpath)
        text = read_bytes(None, path, display).decode("utf-8", errors="replace")
        css_page = Page(path, relpath, display)
        for regex in (_CSS_URL, _CSS_IMPORT):
            for match in regex.finditer(text):
                url = next((g for g in match.groups() if g is not None), "").strip()
                if not url or url.startswith("#"):
                    continue
                line = text.count("\n", 0, match.start()) + 1
                site.result.links += 1
                status, value = site.resolve(url, css_page)
                if status == "malformed":
                    site.error("link", f"url({url}) cannot be parsed ({malformed(url)})", file=display,
                               line=line, fix="correct the URL in the stylesheet")
                if status == "outside":
                    site.error("link", f"url({url}) is outside the base path {site.base}", file=display,
                               line=line, fix="use a URL relative to the stylesheet")
                elif status == "missing":
                    site.error("link", f"url({url}): no such file in the output", file=display, line=line,
                               fix=missing_fix(site, value))
