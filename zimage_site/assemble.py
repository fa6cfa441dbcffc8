"""Page assembly: the rendered sections of each language put into its page, then the 404 page,
the sitemap and robots.txt. A derived language's page is its source's page, converted whole
(derive.py). Every #link of the content is checked against the ids the sections define."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from zimage_site.anchors import Anchor, broken_anchors
from zimage_site.config import Config
from zimage_site.content import Section
from zimage_site.errors import Problem, Report, SiteError
from zimage_site.fragments import Page, SectionHTML
from zimage_site.render import PageContext, alternates, robots, sitemap, structured_data


@dataclass
class Content:
    """The content phase's result."""

    sections: dict[str, list[Section]]
    data: Any
    strings: dict[str, dict[str, str]]
    jinja: Any


@dataclass(frozen=True)
class Inputs:
    """What every page of a build is made from: the results of the phases before rendering."""

    root: Path
    config: Config
    content: Content
    images: Any  # images.catalog.Images
    assets: dict[str, str]  # asset URLs by logical name
    report: Report
    inject_html: str = ""  # the live preview's reload script
    # (language, page name, HTML) → the page converted for a derived language (Site.convert keeps
    # each in the parts; None: derive.converter, each time)
    convert: Callable[[str, str, str], str] | None = None

    def page_context(self, lang: str) -> PageContext:
        return PageContext(lang=lang, config=self.config, data=self.content.data, images=self.images,
                           report=self.report, strings=self.content.strings[lang], jinja=self.content.jinja,
                           assets=self.assets, root=self.root)


def assemble(made: Inputs, pages: list[PageContext], sections: list[list[SectionHTML]]) -> list[Page]:
    """The files of the site: each language's page (its rendered sections), 404.html, the
    sitemap and robots.txt."""
    config = made.config
    out: list[Page] = []
    for page, rendered in zip(pages, sections):
        page.sections = rendered
        check_anchors(rendered)
        faq = [q for s in rendered for q in s.faq]
        html = page.partial("page.html", sections=rendered,
                            nav=[s for s in rendered if s.id in config.nav],
                            alternates=alternates(config), canonical=config.page_url(page.lang),
                            json_ld=structured_data(page, faq), live_reload=made.inject_html)
        language = config.languages[page.lang]
        if language.source:
            html = _convert(made, page.lang, "index.html", html)
        out.append(Page(language.path + "index.html", html))
    default = made.page_context(config.default_language)
    others = [made.page_context(code) for code in config.languages if code != config.default_language]
    not_found = default.partial("404.html", alternates=alternates(config), live_reload=made.inject_html, other=others)
    for other in others:  # the derived languages' parts of the page (marked with their lang)
        if config.languages[other.lang].source:
            not_found = _convert(made, other.lang, "404.html", not_found)
    out.append(Page("404.html", not_found))
    out.append(Page("sitemap.xml", sitemap(config, _lastmod())))
    out.append(Page("robots.txt", robots(config)))
    return out


def _convert(made: Inputs, code: str, name: str, html: str) -> str:
    """The page `name` of `code`, a derived language, converted from its source's `html`."""
    if made.convert is not None:
        return made.convert(code, name, html)
    from zimage_site.derive import converter

    language = made.config.languages[code]
    return converter(made.root, language).html(html, language.locale)


def check_anchors(sections: list[SectionHTML]) -> None:
    """Every #link of the content names a section or an id the content defines (heading
    anchors, {#id} attributes): both come from the token stream; the rule is check's."""
    ids = {s.id for s in sections}
    for s in sections:
        ids.update(s.ids)
    known = ", ".join(s.id for s in sections)
    anchors = (Anchor(link.target, link.line, s) for s in sections for link in s.links)
    problems = [Problem(f"link to #{b.anchor.target}: no section or heading on the page has that id",
                        file=b.anchor.origin.file, line=b.anchor.line,
                        fix=f"link to an existing id, e.g. a section: {known}")
                for b in broken_anchors(anchors, ids)]
    if problems:
        raise SiteError(problems)


def _lastmod() -> str | None:
    """The sitemap's <lastmod>: from SOURCE_DATE_EPOCH when set (CI sets it from the last commit),
    else none, so that a rebuild of unchanged sources is byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()
    return None
