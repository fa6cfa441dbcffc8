"""Page basics: the lang attribute, unique ids, valid JSON-LD, the canonical URL."""

from __future__ import annotations


from zimage_site.check.context import BuiltSite, urlsplit
from zimage_site.check.model import Page


def check_page(site: BuiltSite, page: Page) -> None:
    if not page.lang:
        site.error("lang", "the page has no lang attribute on <html>", file=page.display,
                   line=page.lang_line or 1, fix="the engine writes <html lang> from the language's locale in site.yaml")
    for ident, line in page.duplicate_ids:
        site.error("id", f'the id "{ident}" is used more than once (first on line {page.ids[ident]})',
                   file=page.display, line=line, fix="ids must be unique in a page; rename one of them")
    for message, line in page.jsonld_errors:
        site.error("jsonld", message, file=page.display, line=line, fix="fix the template that writes it")
    if page.canonical is not None:
        href, line = page.canonical
        if not urlsplit(href).scheme:
            site.warning("canonical", f"the canonical URL {href!r} is not absolute", file=page.display,
                         line=line, fix="build with --base-url https://…/ so canonical URLs are absolute")
        else:
            expected = site.site_url(page.relpath)
            if expected and href != expected:
                site.error("canonical", f"the canonical URL {href} is not this page's URL ({expected})",
                           file=page.display, line=line,
                           fix="the canonical URL must be the page's own address under the base URL")
    elif not page.is_error_page:
        site.warning("canonical", 'the page has no <link rel="canonical">', file=page.display, line=1,
                     fix="the base template writes one for every page")
