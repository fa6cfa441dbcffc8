"""Rendering the sections of the pages, each from the cache when its key is known.

Sections render in page order with the page's citation registry, so every source number is final
when it is written; a section found in the cache replays the sources it numbered first.

With many sections to render and no cache to speak of (a cold build of a large site), the
sections are rendered in a pool of processes (fork: the workers inherit the loaded site). Each
worker renders a run of consecutive sections; where a section cites a source, a worker cannot know
the number the page gives it (that depends on every section before), so it writes a mark in its
place (`_MarkedCitations`). The parent replays the runs in page order, numbering the sources each
section cited, and puts each source's number where its mark stands. This process renders the
first run of each page itself (it would otherwise wait), so N workers are this process and N - 1
forked ones. The result is the sequential one, byte for byte: a section whose marks do not add
up (a mark-like character in the content) is rendered again, in order, here.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from zimage_site.errors import Problem, Report, SiteError
from zimage_site.fragments import SectionHTML, SectionState
from zimage_site.inputs import digest
from zimage_site.render import Citations

if TYPE_CHECKING:
    from zimage_site.content import Section
    from zimage_site.inputs import Fingerprint
    from zimage_site.render import PageContext
    from zimage_site.cache import SectionCache

POOL_MIN_SECTIONS = 200  # fewer sections to render than this: one process (a pool costs ~50 ms)

_RENDERER = None
_JOBS: dict[str, tuple["PageContext", list["Section"]]] = {}  # lang → what the workers render


def _renderer():
    global _RENDERER
    if _RENDERER is None:
        from zimage_site.markdown import MarkdownRenderer

        _RENDERER = MarkdownRenderer()
    return _RENDERER


def section_key(base_key: str, inputs: "Fingerprint", section: "Section", citations) -> str:
    """Everything one section's HTML depends on (`base_key`: see inputs.FEEDS), its own file, and
    the sources the page numbered before it."""
    return digest(base_key, section.lang, section.file, inputs.files.get(section.file, section.source),
                  "\x1f".join(citations.order))


def render_pages(jobs: list[tuple["PageContext", list["Section"]]], base_key: str, inputs: "Fingerprint",
                 cache: "SectionCache", processes: int | None = None) -> tuple[list[list[SectionHTML]], int]:
    """The rendered sections of each page, and how many were rendered rather than reused.
    `processes`: the size of the pool (None: os.cpu_count() when there are many sections; 1: none)."""
    total = sum(len(sections) for _, sections in jobs)
    workers = processes if processes is not None else (os.cpu_count() or 1)
    cold = cache.size() < total // 2
    # fork only a single-threaded process (the live preview's server runs threads: it renders here)
    alone = threading.active_count() == 1 and hasattr(os, "fork")
    if workers > 1 and cold and alone and total >= POOL_MIN_SECTIONS:
        return _in_pool(cache, jobs, base_key, inputs, workers)
    results, rendered = [], 0
    for page, sections in jobs:
        done, n = _in_order(cache, page, sections, base_key, inputs)
        results.append(done)
        rendered += n
    return results, rendered


def _in_order(cache: "SectionCache", page: "PageContext", sections: list["Section"], base_key: str,
              inputs: "Fingerprint") -> tuple[list[SectionHTML], int]:
    result: list[SectionHTML] = []
    rendered = 0
    for section in sections:
        key = section_key(base_key, inputs, section, page.citations)
        done = cache.get(key, section)
        if done is not None:
            for source_id in done.cites:
                page.citations.number(source_id)
            for w in done.warnings:
                page.report.warn(w)
        else:
            done = _renderer().render_section(section, page)
            cache.put(key, done)
            rendered += 1
        result.append(done)
    return result, rendered


# a source's number, as a worker writes it: private-use characters that escaping leaves alone
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_MARK = re.compile(f"{_MARK_OPEN}(\\d+){_MARK_CLOSE}")


@dataclass
class _MarkedCitations(Citations):
    """A worker's citations: the sources in the order of first citation, and a mark where each
    number goes (the index of the source in that order); `marks` counts the marks written."""

    marks: int = 0

    def number(self, source_id: str) -> str:  # type: ignore[override]
        index = self.order.setdefault(source_id, len(self.order) + 1)
        self.marks += 1
        return f"{_MARK_OPEN}{index}{_MARK_CLOSE}"


def _render_run(lang: str, start: int, end: int):
    """In a worker: render sections[start:end] of one page. Returns ([(section without its front
    matter, the sources it cited in order, the marks it wrote)], the run's sources in the order of
    their marks, the problems of the first section that failed with its index, or None)."""
    page, sections = _JOBS[lang]
    citations = _MarkedCitations()
    page = replace(page, citations=citations, report=Report(), state=SectionState())
    out = []
    for i in range(start, end):
        marks = citations.marks
        try:
            done = _renderer().render_section(sections[i], page)
        except SiteError as exc:
            return out, list(citations.order), (i, exc.problems)
        out.append((replace(done, meta=None), list(page.state.cited), citations.marks - marks))
    return out, list(citations.order), None


def _numbered(done: SectionHTML, sources: list[str], order: dict[str, int], marks: int) -> SectionHTML | None:
    """`done` with the page's number of each source where its mark stands; None unless exactly the
    `marks` the worker wrote were found."""
    found = 0

    def number(m: re.Match) -> str:
        nonlocal found
        found += 1
        return str(order[sources[int(m[1]) - 1]])

    try:
        lead, rest = _MARK.sub(number, done.lead_html), _MARK.sub(number, done.rest_html)
    except (IndexError, KeyError):  # a mark the worker did not write
        return None
    if found != marks or any(_MARK_OPEN in q.question + q.answer for q in done.faq):
        return None
    return replace(done, lead_html=lead, rest_html=rest)


_FENCE = re.compile(r"^ {0,3}(?:```+|~~~+)[ \t]*([^\s`{]+)", re.M)


def _load_lexers(sections) -> None:
    """Look up, once here rather than once per worker, the Pygments lexer of every language the
    sections' code fences name (each lexer compiles its rules when first made). A name that is no
    fence's (a fence inside a fence) only loads a lexer in vain."""
    from zimage_site.markdown import _lexer

    for name in {m for section in sections for m in _FENCE.findall(section.source)}:
        _lexer(name)


def _in_pool(cache: "SectionCache", jobs, base_key: str, inputs: "Fingerprint", workers: int):
    """`workers` processes in all: this one renders the first run of each page (in order, as
    `_in_order` would) while workers - 1 forked ones render the other runs."""
    import multiprocessing

    _renderer()  # imported and configured once here, not once per worker
    for page, _ in jobs:  # compiled once here, not once per worker
        for name in page.jinja.list_templates(extensions=["html"]):
            page.jinja.get_template(name)
    _load_lexers(section for _, sections in jobs for section in sections)
    _JOBS.clear()
    _JOBS.update({page.lang: (page, sections) for page, sections in jobs})
    try:
        with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
            runs = []
            for page, sections in jobs:
                step = max(1, -(-len(sections) // workers))
                runs.append([(start, min(start + step, len(sections)),
                              pool.apply_async(_render_run, (page.lang, start, min(start + step, len(sections)))))
                             for start in range(step, len(sections), step)])
            results, rendered = [], 0
            for (page, sections), page_runs in zip(jobs, runs):
                step = page_runs[0][0] if page_runs else len(sections)
                done, rendered_here = _in_order(cache, page, sections[:step], base_key, inputs)
                rendered += rendered_here
                for start, end, pending in page_runs:
                    out, sources, failed = pending.get()
                    for i, ((section_html, cited, marks), section) in enumerate(zip(out, sections[start:])):
                        key = section_key(base_key, inputs, section, page.citations)
                        before = len(page.citations.order)
                        for source_id in cited:
                            page.citations.number(source_id)
                        numbered = _numbered(section_html, sources, page.citations.order, marks)
                        if numbered is None:  # render the rest of the run here, in order
                            for source_id in list(page.citations.order)[before:]:
                                del page.citations.order[source_id]
                            more, n = _in_order(cache, page, sections[start + i:end], base_key, inputs)
                            done += more
                            rendered += n
                            failed = None
                            break
                        section_html = replace(numbered, meta=section,
                                               cites=tuple(list(page.citations.order)[before:]))
                        for w in section_html.warnings:
                            page.report.warn(w)
                        cache.put(key, section_html)
                        done.append(section_html)
                        rendered += 1
                    if failed is not None:
                        raise SiteError(failed[1])
                results.append(done)
            return results, rendered
    finally:
        _JOBS.clear()
