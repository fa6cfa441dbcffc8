"""The 404 page: GitHub Pages serves 404.html at the top of the site for any missing address;
without it, visitors get GitHub's own page, in English, without the site's navigation."""

from __future__ import annotations

from zimage_site.check.context import BuiltSite


def check(site: BuiltSite) -> None:
    if "404.html" not in site.files:
        site.error("404", "the output has no 404.html: a missing address would show GitHub's own error page",
                   file=site.display("404.html"),
                   fix="the build writes it from templates/404.html: keep that template and rebuild the site")
