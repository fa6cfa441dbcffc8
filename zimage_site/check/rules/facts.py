"""Facts: every number marked data-fact exists in content/data/facts.yaml and shows the value the
data holds; every citation points into the page's source list, numbered by position, naming the
fact's own source; the source list links each source to the URL the data gives.

Dated facts: a printed check date ({checked}`key`) shows the date the data holds; every fact a
page prints (values, stat cards, check dates, the facts of charts) is dated when the data declares
classes; a printed fact checked longer ago than its class allows is a warning (rule "stale",
an error under --strict), measured against `site.today` (--today)."""

from __future__ import annotations

import datetime as dt
import difflib
import re

from zimage_site import markup
from zimage_site.check.context import BuiltSite
from zimage_site.check.findings import Finding
from zimage_site.check.model import Page
from zimage_site.data import DATA_DIR, Data, load_data
from zimage_site.errors import SiteError

FACTS_FILE = (DATA_DIR / "facts.yaml").as_posix()
DUE_DAYS = 14  # a fact that goes stale within this many days is listed in the weekly report
_SOURCE_NUMBER = re.compile(r"^\[?\s*(\d+)\s*\]?$")
_LINK = f'<a href="#{markup.SOURCE_ID_PREFIX}ID">'


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def _load(site: BuiltSite) -> Data | None:
    try:
        return load_data(site.root)
    except SiteError as exc:
        site.result.findings.extend(Finding("error", "fact", problem) for problem in exc.problems)
        return None


def check(site: BuiltSite) -> None:
    if not any(p.facts or p.fact_srcs or p.sources or p.checked or p.chart_facts for p in site.pages.values()):
        return
    data = _load(site)
    if data is None:
        return
    for page in site.pages.values():
        _check_values(site, page, data)
        _check_checked(site, page, data)
        _check_citations(site, page, data)
        _check_source_list(site, page, data)
    _check_dates(site, data)


def _check_checked(site: BuiltSite, page: Page, data: Data) -> None:
    facts = data.facts_file.facts
    for ref in page.checked:
        if ref.key not in facts:
            site.error("fact", f'the check date marked {markup.CHECKED_ATTR}="{ref.key}" is of no fact in '
                               f"{FACTS_FILE}", file=page.display, line=ref.line,
                       fix=f"every date on the page comes from {FACTS_FILE}")
            continue
        day = facts[ref.key].checked
        if day is None:
            continue  # reported by _check_dates
        printed = site.page_date(page, day)
        if ref.datetime != day.isoformat() or (printed is not None and _norm(ref.text) != _norm(printed)):
            site.error("fact", f'the check date of "{ref.key}" reads {ref.text!r} ({ref.datetime}), the data says '
                               f"{day.isoformat()}", file=page.display, line=ref.line,
                       fix="rebuild the site: the page prints the checked: date of the data")


def _check_dates(site: BuiltSite, data: Data) -> None:
    """Every printed fact is dated (once the data declares classes); count the printed facts by
    class and report those whose check is older than their class allows."""
    facts, classes = data.facts_file.facts, data.facts_file.classes or {}
    printed: dict[str, tuple[str, int]] = {}
    for page in site.pages.values():
        refs = [(r.key, r.line) for r in page.facts] + [(r.key, r.line) for r in page.checked] + page.chart_facts
        for key, line in refs:
            if key in facts:
                printed.setdefault(key, (page.display, line))
    if not classes:
        return
    for key, (file, line) in printed.items():
        undated = data.require_dated(key)
        if undated is not None:
            site.result.findings.append(Finding("error", "fact", undated, key))
    counts = {cls: [0, 0] for cls in classes}
    for key in printed:
        cls = facts[key].class_
        if cls in counts:
            counts[cls][0] += 1
    for stale in data.stale_facts(printed, site.today):
        counts[stale.cls][1] += 1
        problem = stale.problem(data)
        file, line = printed[stale.key]
        problem.context = f"printed on {file}, line {line}"
        site.result.findings.append(Finding("warning", "stale", problem, stale.key))
    site.result.facts_by_class = {cls: (total, n) for cls, (total, n) in counts.items()}
    stale_now = {s.key for s in data.stale_facts(printed, site.today)}
    for soon in data.stale_facts(printed, site.today + dt.timedelta(days=DUE_DAYS)):
        if soon.key not in stale_now:
            day = soon.checked + dt.timedelta(days=soon.max_age + 1)
            site.result.due_soon.append(f'fact "{soon.key}" (source "{soon.source}", {soon.cls}, checked '
                                        f"{soon.checked.isoformat()}) goes stale on {day.isoformat()}")


def _check_values(site: BuiltSite, page: Page, data: Data) -> None:
    language = site.language_of(page)
    lang = language.text_lang if language is not None else (page.lang or "").split("-")[0].lower()
    for ref in page.facts:
        if ref.key not in data.facts_file.facts:
            close = difflib.get_close_matches(ref.key, list(data.facts_file.facts), n=1)
            site.error("fact", f'the number marked {markup.FACT_ATTR}="{ref.key}" is not in {FACTS_FILE}',
                       file=page.display, line=ref.line,
                       fix=(f"did you mean {close[0]}? " if close else "") +
                           f"every number on the page comes from {FACTS_FILE}")
            continue
        if ref.text is not None:
            expected = _norm(site.page_text(page, data.fact_display(ref.key, lang)))
            if _norm(ref.text) != expected:
                site.error("fact", f'fact "{ref.key}" shows {ref.text!r}, the data says {expected!r}',
                           file=page.display, line=ref.line,
                           fix=f"the page must print the value from {FACTS_FILE}: rebuild the site")


def _check_citations(site: BuiltSite, page: Page, data: Data) -> None:
    listed = {item.source: item for item in page.sources}
    prefix = markup.SOURCE_ID_PREFIX
    for src in page.fact_srcs:
        if src.source is None:
            site.error("fact", f"the source link {src.href!r} does not point into the page's source "
                               f"list (#{prefix}ID)", file=page.display, line=src.line,
                       fix=f"fact links read {_LINK}[n]</a>")
            continue
        if src.source not in data.facts_file.sources:
            site.error("fact", f'the source "{src.source}" is not in {FACTS_FILE}', file=page.display,
                       line=src.line, fix=f"add it under sources: in {FACTS_FILE}")
        item = listed.get(src.source)
        if item is None:
            site.error("fact", f"the source link #{prefix}{src.source} points to no entry of the page's "
                               f'source list (<ol class="{markup.SOURCES_CLASS}">)', file=page.display,
                       line=src.line, fix="every cited source is listed once at the end of the page")
        else:
            match = _SOURCE_NUMBER.match(src.label)
            if match and int(match.group(1)) != item.index:
                site.error("fact", f"the source link reads {src.label} but #{prefix}{src.source} is "
                                   f"entry {item.index} of the list (line {item.line})",
                           file=page.display, line=src.line, fix="number source links by list position")
        fact = data.facts_file.facts.get(src.fact or "")
        if fact is not None and fact.source != src.source:
            site.error("fact", f'fact "{src.fact}" cites #{prefix}{src.source}, the data says its '
                               f'source is "{fact.source}"', file=page.display, line=src.line,
                       fix="rebuild the site; the link must name the fact's own source")


def _check_source_list(site: BuiltSite, page: Page, data: Data) -> None:
    seen: set[str] = set()
    for item in page.sources:
        if not item.source:
            site.error("fact", f'an entry of the source list has no id="{markup.SOURCE_ID_PREFIX}ID"',
                       file=page.display, line=item.line)
            continue
        if item.source in seen:
            site.error("fact", f'the source "{item.source}" is listed twice', file=page.display, line=item.line)
        seen.add(item.source)
        source = data.facts_file.sources.get(item.source)
        if source is None:
            site.error("fact", f'the source list names "{item.source}", which is not in {FACTS_FILE}',
                       file=page.display, line=item.line, fix=f"add it under sources: in {FACTS_FILE}")
            continue
        if not item.url:
            site.error("fact", f'the source "{item.source}" in the list has no link', file=page.display,
                       line=item.line, fix=f"link it to {source.url}")
        elif item.url != source.url:
            site.error("fact", f'the source "{item.source}" links to {item.url}, the data says '
                               f"{source.url}", file=page.display, line=item.line,
                       fix=f"rebuild the site; sources are linked from {FACTS_FILE} only")
