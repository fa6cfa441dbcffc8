"""Rendering the sections of the pages, each from the cache when its key is known.

Sections render in page order with the page's citation registry, so every source number is final
when it is written; a section found in the cache replays the sources it numbered first.

With many sections to render and no cache to speak of (a cold build of a large site), the
sections are rendered in a pool of processes (fork: the workers inherit the loaded site). Each
worker renders a run of consecutive sections with the sources numbered so far; the parent then
replays the runs in page order and keeps a run only if every number it wrote is the number the
page gives that source (always true for the first run, usually for the others); a run that is
not is rendered again, in order, here. This process renders the first run of each page itself
(it would otherwise wait), so N workers are this process and N - 1 forked ones. The result is the
sequential one, byte for byte.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from zimage_site.errors import Problem, Report, SiteError
from zimage_site.fragments import SectionHTML, SectionState

if TYPE_CHECKING:
    from zimage_site.content import Section
    from zimage_site.inputs import Fingerprint
    from zimage_site.render import PageContext
    from zimage_site.site import Site

POOL_MIN_SECTIONS = 200  # fewer sections to render than this: one process (a pool costs ~50 ms)

_RENDERER = None
_JOBS: dict[str, tuple["PageContext", list["Section"]]] = {}  # lang → what the workers render


def _renderer():
    global _RENDERER
    if _RENDERER is None:
        from zimage_site.markdown import MarkdownRenderer

        _RENDERER = MarkdownRenderer()
    return _RENDERER


def render_pages(site: "Site", jobs: list[tuple["PageContext", list["Section"]]], base_key: str,
                 inputs: "Fingerprint") -> tuple[list[list[SectionHTML]], int]:
    """The rendered sections of each page, and how many were rendered rather than reused."""
    total = sum(len(sections) for _, sections in jobs)
    workers = site.processes if site.processes is not None else (os.cpu_count() or 1)
    cold = site._cache.size() < total // 2
    # fork only a single-threaded process (the live preview's server runs threads: it renders here)
    alone = threading.active_count() == 1 and hasattr(os, "fork")
    if workers > 1 and cold and alone and total >= POOL_MIN_SECTIONS:
        return _in_pool(site, jobs, base_key, inputs, workers)
    results, rendered = [], 0
    for page, sections in jobs:
        done, n = _in_order(site, page, sections, base_key, inputs)
        results.append(done)
        rendered += n
    return results, rendered


def _in_order(site: "Site", page: "PageContext", sections: list["Section"], base_key: str,
              inputs: "Fingerprint") -> tuple[list[SectionHTML], int]:
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
            done = _renderer().render_section(section, page)
            site._cache.put(key, done)
            rendered += 1
        result.append(done)
    return result, rendered


def _render_run(lang: str, start: int, end: int, seed: list[str]):
    """In a worker: render sections[start:end] of one page, the sources in `seed` numbered already.
    Returns [(section without its front matter, every source it cited)], or the problems of the
    first section that failed, with its index."""
    from zimage_site.render import Citations

    page, sections = _JOBS[lang]
    page = replace(page, citations=Citations({sid: n for n, sid in enumerate(seed, 1)}), report=Report(),
                   state=SectionState())
    out = []
    for i in range(start, end):
        try:
            done = _renderer().render_section(sections[i], page)
        except SiteError as exc:
            return out, (i, exc.problems)
        out.append((replace(done, meta=None), list(page.state.cited)))
    return out, None


def _in_pool(site: "Site", jobs, base_key: str, inputs: "Fingerprint", workers: int):
    """`workers` processes in all: this one renders the first run of each page (in order, as
    `_in_order` would) while workers - 1 forked ones render the other runs."""
    import multiprocessing

    _renderer()  # imported and configured once here, not once per worker
    for page, _ in jobs:  # compiled once here, not once per worker
        for name in page.jinja.list_templates(extensions=["html"]):
            page.jinja.get_template(name)
    _JOBS.clear()
    _JOBS.update({page.lang: (page, sections) for page, sections in jobs})
    try:
        with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
            runs, seed_of = [], {}
            for page, sections in jobs:
                seed = seed_of[page.lang] = list(page.citations.order)
                step = max(1, -(-len(sections) // workers))
                runs.append([(start, min(start + step, len(sections)),
                              pool.apply_async(_render_run, (page.lang, start, min(start + step, len(sections)), seed)))
                             for start in range(step, len(sections), step)])
            results, rendered = [], 0
            for (page, sections), page_runs in zip(jobs, runs):
                step = page_runs[0][0] if page_runs else len(sections)
                done, rendered_here = _in_order(site, page, sections[:step], base_key, inputs)
                rendered += rendered_here
                for start, end, pending in page_runs:
                    out, failed = pending.get()
                    if not _agrees(page.citations.order, seed_of[page.lang], out):
                        more, n = _in_order(site, page, sections[start:end], base_key, inputs)
                        done += more
                        rendered += n
                        continue
                    for (section_html, cited), section in zip(out, sections[start:]):
                        key = site.section_key(base_key, inputs, section, page.citations)
                        before = len(page.citations.order)
                        for source_id in cited:
                            page.citations.number(source_id)
                        section_html = replace(section_html, meta=section,
                                               cites=tuple(list(page.citations.order)[before:]))
                        for w in section_html.warnings:
                            page.report.warn(w)
                        site._cache.put(key, section_html)
                        done.append(section_html)
                        rendered += 1
                    if failed is not None:
                        raise SiteError(failed[1])
                results.append(done)
            return results, rendered
    finally:
        _JOBS.clear()


def _agrees(order: dict[str, int], seed: list[str], out) -> bool:
    """Whether a run, rendered with the sources of `seed` numbered, wrote the numbers that the
    page, whose sources are numbered as in `order` where the run starts, gives them."""
    worker = {sid: n for n, sid in enumerate(seed, 1)}
    page = dict(order)
    for _, cited in out:
        for source_id in cited:
            worker.setdefault(source_id, len(worker) + 1)
            page.setdefault(source_id, len(page) + 1)
            if worker[source_id] != page[source_id]:
                return False
    return True
