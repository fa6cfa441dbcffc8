"""Sections: one Markdown file per section per language, with YAML front matter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Callable

from zimage_site.errors import Problem, Report, SiteError, rel
from zimage_site.model import Strict, check, field, one_of, validate
from zimage_site.yamlfile import parse_yaml

CONTENT_DIR = Path("content")
LAYOUTS = ("section", "hero")
_ID = re.compile(r"[a-z][a-z0-9-]*\Z")



class FrontMatter(Strict):
    """The YAML block at the top of a section file."""

    id: Annotated[str, check(lambda v: None if _ID.match(v) else f"{v!r} is not a valid id")] = field(
        fix="use lowercase letters, digits and dashes, starting with a letter, e.g. quick-start")
    order: int = field(fix="a whole number: the section's position on the page")
    title: str
    nav: str | None = None  # the label of the header navigation (default: the title)
    description: str | None = None
    layout: Annotated[str, one_of(*LAYOUTS)] = "section"


@dataclass
class Section:
    id: str
    order: int
    title: str
    nav: str
    description: str | None
    layout: str
    lang: str
    path: Path       # absolute
    file: str        # as shown to the user (relative to the site root)
    source: str      # the whole file text
    body_line: int   # 1-based line where the Markdown body starts


_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.S | re.M)


def parse_section(path: Path, lang: str, root: Path, report: Report | None = None, *, shown: str | None = None,
                  source: str | bytes | None = None) -> Section:
    """One section file; `shown` (its path as the user reads it) and `source` (its text or bytes)
    may be given when the caller already has them."""
    shown = shown or rel(path, root)
    try:
        if source is None:
            source = path.read_bytes()
        if isinstance(source, bytes):
            source = source.decode("utf-8-sig")  # a byte-order mark is not content
            if "\r" in source:  # as read_text() reads it
                source = source.replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise SiteError(Problem(f"the file is not UTF-8 text ({exc.reason})", file=shown, line=line,
                                fix="save it as UTF-8")) from exc
    match = _FRONT.match(source)
    if not match:
        raise SiteError(Problem(
            "the file has no front matter", file=shown, line=1,
            fix="start the file with a YAML block between two --- lines: id, order, title (see docs/content.md)"))
    meta, lines = parse_yaml(match.group(1), shown, line_offset=1, report=report)
    meta = validate(meta, FrontMatter, shown, lines)
    return Section(
        id=meta.id, order=meta.order, title=meta.title, nav=meta.nav or meta.title,
        description=meta.description, layout=meta.layout, lang=lang, path=path, file=shown,
        source=source, body_line=source[: match.end()].count("\n") + 1,
    )


def section_files(root: Path, lang: str) -> list[Path]:
    """The section files of one language, in name order."""
    folder = root / CONTENT_DIR / lang
    return sorted(folder.glob("*.md")) if folder.is_dir() else []


def load_sections(root: Path, languages: list[str], default: str, report: Report,
                  parse: Callable[[Path, str], Section] | None = None) -> dict[str, list[Section]]:
    """All sections of every language, sorted by order; problems collected across files.
    `parse(path, lang)` reads one file (default: parse_section; the build passes a cached one)."""
    parse = parse or (lambda path, lang: parse_section(path, lang, root, report))
    problems: list[Problem] = []
    result: dict[str, list[Section]] = {}
    for lang in languages:
        sections: list[Section] = []
        for path in section_files(root, lang):
            try:
                sections.append(parse(path, lang))
            except SiteError as exc:
                problems.extend(exc.problems)
        seen: dict[str, Section] = {}
        for s in sections:
            if s.id in seen:
                problems.append(Problem(
                    f"duplicate section id {s.id!r}, also used by {seen[s.id].file}", file=s.file,
                    line=2, key="id", fix="give every section of a language its own id"))
            seen[s.id] = s
        result[lang] = sorted(sections, key=lambda s: (s.order, s.file))
    if problems:
        raise SiteError(problems)
    if not result.get(default):
        raise SiteError(Problem(f"no sections in {CONTENT_DIR / default}/", file=str(CONTENT_DIR / default),
                                fix="add one Markdown file per section, e.g. content/zh/01-intro.md (see docs/content.md)"))
    ref = {s.id: s for s in result[default]}
    for lang, sections in result.items():
        if lang == default:
            continue
        ids = {s.id for s in sections}
        for sid, s in ref.items():
            if sid not in ids:
                report.warn(f"section {sid!r} has no {lang} translation; the {lang} page leaves it out",
                            file=s.file, fix=f"add content/{lang}/{s.path.name} with id: {sid}")
        for s in sections:
            if s.id not in ref:
                report.warn(f"section {s.id!r} exists only in {lang}", file=s.file,
                            fix=f"add it to content/{default}/ or remove it")
            elif s.order != ref[s.id].order:
                report.warn(f"section {s.id!r} has order {s.order} here but {ref[s.id].order} in {default}",
                            file=s.file, fix="use the same order in every language")
    return result
