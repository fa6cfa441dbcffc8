"""Sitemap and hreflang: every sitemap entry exists, each page's alternates match the sitemap's,
point to pages that exist and back, include x-default and the page itself; the canonical URL is
the page's own sitemap <loc>; robots.txt names the sitemap."""

from __future__ import annotations

from zimage_site.files import read_bytes
from zimage_site.check.context import BuiltSite
from zimage_site.check.model import Page, SitemapEntry
from zimage_site.errors import rel


def check(site: BuiltSite) -> None:
    if "sitemap.xml" not in site.files:
        site.error("sitemap", "the output has no sitemap.xml", file=rel(site.out, site.root),
                   fix="the build writes sitemap.xml: rebuild the site")
        check_alternates(site)
        return
    loc_pages: dict[str, SitemapEntry] = {}
    for entry in site.sitemap:
        if not entry.loc:
            site.error("sitemap", "a <url> entry without <loc>", file=site.sitemap_display, line=entry.line)
            continue
        status, value = site.resolve_absolute(entry.loc)
        if status != "ok":
            site.error("sitemap", f"the sitemap lists {entry.loc}, {status}", file=site.sitemap_display,
                       line=entry.line, fix="the sitemap is written by the build: rebuild, or remove the entry")
            continue
        relpath = value[0]
        if relpath in loc_pages:
            site.error("sitemap", f"the sitemap lists {entry.loc} twice", file=site.sitemap_display,
                       line=entry.line)
            continue
        loc_pages[relpath] = entry
        for hreflang, href, line in entry.alternates:
            st, _ = site.resolve_absolute(href)
            if st != "ok":
                site.error("hreflang", f"the sitemap alternate hreflang={hreflang} {href} is {st}",
                           file=site.sitemap_display, line=line, fix="rebuild the site")
    for relpath, page in site.pages.items():
        entry = loc_pages.get(relpath)
        if entry is None:
            if not page.is_error_page and not page.noindex:
                site.warning("sitemap", "the page is not in sitemap.xml", file=page.display, line=1,
                             fix="list every indexable page in the sitemap, or mark it noindex")
            continue
        if page.canonical is not None and page.canonical[0] != entry.loc:
            site.error("canonical", f"the canonical URL {page.canonical[0]} differs from the sitemap's "
                                    f"<loc> {entry.loc} ({site.sitemap_display}, line {entry.line})",
                       file=page.display, line=page.canonical[1],
                       fix="the canonical URL and the sitemap <loc> must both be the page's own URL")
        _compare_alternates(site, page, entry)
    check_alternates(site)
    _check_robots(site)


def _check_robots(site: BuiltSite) -> None:
    robots = site.out / "robots.txt"
    if "robots.txt" not in site.files:
        return
    text = read_bytes(None, robots, "robots.txt").decode("utf-8", errors="replace")
    for number, text in enumerate(text.splitlines(), 1):
        name, _, value = text.partition(":")
        if name.strip().lower() == "sitemap" and value.strip():
            url = value.strip()
            site.result.links += 1
            status, _ = site.resolve_absolute(url)
            if status != "ok":
                site.error("sitemap", f"robots.txt names the sitemap {url}, which is {status}",
                           file=rel(robots, site.root), line=number,
                           fix="robots.txt must name the sitemap by its absolute URL under the base URL")


def _compare_alternates(site: BuiltSite, page: Page, entry: SitemapEntry) -> None:
    in_page = {h.lower(): href for h, href, _ in page.alternates}
    in_map = {h.lower(): href for h, href, _ in entry.alternates}
    line = page.alternates[0][2] if page.alternates else (page.canonical[1] if page.canonical else 1)
    for hreflang, href in sorted(in_map.items()):
        if hreflang not in in_page:
            site.error("hreflang", f"the sitemap gives the alternate hreflang={hreflang} {href}, "
                                   "the page does not", file=page.display, line=line,
                       fix='the page and the sitemap must list the same <link rel="alternate" hreflang> set')
        elif in_page[hreflang] != href:
            site.error("hreflang", f"the alternate hreflang={hreflang} is {in_page[hreflang]} here but "
                                   f"{href} in the sitemap ({site.sitemap_display}, line {entry.line})",
                       file=page.display, line=line, fix="rebuild the site")
    for hreflang, href in sorted(in_page.items()):
        if hreflang not in in_map:
            site.error("hreflang", f"the page gives the alternate hreflang={hreflang} {href}, "
                                   f"the sitemap does not ({site.sitemap_display}, line {entry.line})",
                       file=page.display, line=line, fix="rebuild the site")


def check_alternates(site: BuiltSite) -> None:
    """The hreflang set of each page: x-default present, self-reference, pages that exist, reciprocity."""
    for page in site.pages.values():
        if not page.alternates:
            if not page.is_error_page and not page.noindex and len(site.pages) > 1:
                site.warning("hreflang", 'the page has no <link rel="alternate" hreflang> links',
                             file=page.display, line=1, fix="the base template lists every language version")
            continue
        langs = {h.lower(): (href, line) for h, href, line in page.alternates}
        first_line = page.alternates[0][2]
        if "x-default" not in langs:
            site.error("hreflang", "the hreflang alternates have no x-default", file=page.display,
                       line=first_line, fix="add hreflang=x-default pointing to the default (Chinese) page")
        if page.lang and page.lang.lower() in langs:
            href, line = langs[page.lang.lower()]
            status, value = site.resolve(href, page)
            if status == "ok" and value[0] != page.relpath:
                site.error("hreflang", f"the alternate for this page's own language ({page.lang}) points to "
                                       f"{href}, not to this page", file=page.display, line=line,
                           fix="each page lists itself among its alternates")
        elif page.lang:
            site.error("hreflang", f"the alternates do not include this page's own language ({page.lang})",
                       file=page.display, line=first_line, fix="each page lists itself among its alternates")
        for hreflang, href, line in page.alternates:
            status, value = site.resolve(href, page)
            if status != "ok":
                continue  # reported as a broken link already
            other = site.pages.get(value[0])
            if other is None or other is page or hreflang.lower() == "x-default":
                continue
            back = {site.resolve(h, other)[1][0] for _, h, _ in other.alternates
                    if site.resolve(h, other)[0] == "ok"}
            if page.relpath not in back:
                site.error("hreflang", f"{other.display} does not link back to this page with hreflang",
                           file=page.display, line=line, fix="hreflang alternates must be reciprocal")
            if other.lang and other.lang.lower() != hreflang.lower():
                site.error("hreflang", f"hreflang={hreflang} points to {other.display}, "
                                       f'whose language is "{other.lang}"', file=page.display, line=line,
                           fix="the hreflang value must be the target page's lang")
