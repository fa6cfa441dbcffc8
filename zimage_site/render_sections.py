"""Rendering the sections of one page, each from the cache when its key is known.

Sections render in page order with the page's citation registry, so every source number is final
when it is written; a section found in the cache replays the sources it numbered first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zimage_site.fragments import SectionHTML

if TYPE_CHECKING:
    from zimage_site.content import Section
    from zimage_site.inputs import Fingerprint
    from zimage_site.render import PageContext
    from zimage_site.site import Site


def render_sections(site: "Site", page: "PageContext", sections: list["Section"], base_key: str,
                    inputs: "Fingerprint") -> tuple[list[SectionHTML], int]:
    """The rendered sections of one page, and how many were rendered rather than reused."""
    from zimage_site.markdown import MarkdownRenderer

    renderer = None
    result: list[SectionHTML] = []
    rendered = 0
    for section in sections:
        key = site.section_key(base_key, inputs, section, page.citations)
        done = site._cache.get(key, section)
        if done is not None:
            for source_id in done.cites:
                page.citations.number(source_id)
            for w in done.warnings:
                page.report.warn(w)
        else:
            renderer = renderer or MarkdownRenderer()
            done = renderer.render_section(section, page)
            site._cache.put(key, done)
            rendered += 1
        result.append(done)
    return result, rendered
