"""Translations: both languages have the same <section id>s in <main>, in the same order."""

from __future__ import annotations

from zimage_site.check.context import BuiltSite
from zimage_site.check.model import Page


def language_pairs(site: BuiltSite) -> list[tuple[Page, Page]]:
    """The pages that translate each other: by their hreflang alternates, else (no alternates) the
    only content page of each of two languages."""
    pairs: dict[tuple[str, str], tuple[Page, Page]] = {}
    for page in site.pages.values():
        for hreflang, href, _ in page.alternates:
            if hreflang.lower() == "x-default":
                continue
            status, value = site.resolve(href, page)
            if status != "ok" or value[0] == page.relpath or value[0] not in site.pages:
                continue
            other = site.pages[value[0]]
            key = tuple(sorted((page.relpath, other.relpath)))
            if key not in pairs:
                first, second = (page, other) if key[0] == page.relpath else (other, page)
                pairs[key] = (first, second)  # type: ignore[index]
    if not pairs:
        by_lang: dict[str, list[Page]] = {}
        for p in site.pages.values():
            if not p.is_error_page and p.lang:
                by_lang.setdefault(p.lang.lower(), []).append(p)
        if len(by_lang) == 2 and all(len(v) == 1 for v in by_lang.values()):
            a, b = sorted((v[0] for v in by_lang.values()), key=lambda p: p.relpath)
            pairs[(a.relpath, b.relpath)] = (a, b)
    return list(pairs.values())


def check(site: BuiltSite) -> None:
    for a, b in language_pairs(site):
        _compare_sections(site, a, b)
        _compare_sections(site, b, a)
        ids_a = [s for s, _ in a.sections]
        ids_b = [s for s, _ in b.sections]
        common_a = [s for s in ids_a if s in set(ids_b)]
        common_b = [s for s in ids_b if s in set(ids_a)]
        if common_a != common_b:
            first = next(i for i, (x, y) in enumerate(zip(common_a, common_b, strict=False)) if x != y)
            line = dict(b.sections)[common_b[first]]
            site.error("translation",
                       f"the sections are in a different order than in {a.display}: "
                       f"{', '.join(common_b)} here, {', '.join(common_a)} there",
                       file=b.display, line=line,
                       fix="give the section the same order: in both languages' front matter")


def _compare_sections(site: BuiltSite, have: Page, lack: Page) -> None:
    lacking = {s for s, _ in lack.sections}
    for index, (ident, line) in enumerate(have.sections):
        if ident in lacking:
            continue
        # point at where it belongs: before the next section both pages share
        where = lack.main_line or 1
        for later, _ in have.sections[index + 1:]:
            if later in lacking:
                where = dict(lack.sections)[later]
                break
        else:
            if lack.sections:
                where = lack.sections[-1][1]
        lang = have.lang or "the other language"
        site.error("translation",
                   f'missing translation: section "{ident}" ({have.display}, line {line}, {lang}) '
                   f"is not in this page ({lack.lang or 'no lang'})",
                   file=lack.display, line=where,
                   fix=f"write the section in every language (content/<lang>/NN-{ident}.md with id: {ident})")
