"""Data files (`content/data/*.yaml`): one home for every structured value, facts above all.

`facts.yaml` is a `FactsFile` model (zimage_site/model.py): every fact names a source that exists
and an allowed verdict, so that the page can link every number it prints to where it comes from.
`layout.yaml` is a `Layout` (zimage_site/layout.py): the breakpoints and widths that the
stylesheet and the images' `sizes` share. The code reads both through their models
(`Data.facts_file`, `Data.layout`); the other files are kept as read. All of them are readable
from content (`{data}` role) and templates (`data.<file>.<key>`) through `Data.files`, the one
generic view: it maps each file's name to its model or its value (a path into a model reads its
fields, by the key the file writes).

Facts are dated. `classes:` declares, once, how long a fact of each volatility class stays
trustworthy (`max_age_days`); each fact names its `class:` and the day it was last verified
against its source (`checked:`), each source the day it was last read (`read:`). The dates must
be real dates, none in the future, and a fact is never checked after its source was last read.
Once the file declares classes, every fact the page prints must be dated (`require_dated`, called
when a fact is rendered); `stale_facts` says which printed facts are older than their class
allows, for the build's warnings and `zimage-site check`.
"""

from __future__ import annotations

import datetime as dt
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel

from zimage_site.errors import ContentError, Problem, Report, SiteError, rel
from zimage_site.layout import Layout, layout_of
from zimage_site.model import (Localized, Strict, check, field, line_of, localized_problems, one_of,
                               valid_parts, validate_all)
from zimage_site.yamlfile import load_yaml

DATA_DIR = Path("content/data")
VERDICTS = ("verified", "secondary")


def _https(url: str) -> str | None:
    """An https URL, by the one URL policy (zimage_site/urls.py)."""
    from zimage_site.urls import URLError, absolute_url

    try:
        absolute_url(url, schemes=("https",))
    except URLError as exc:
        return str(exc)
    return None


def _past(value: dt.date) -> str | None:
    """A date (not a date and time) that is not in the future. One day of grace: a date written
    where it is already tomorrow (Beijing) is still today on a build machine running on UTC."""
    if isinstance(value, dt.datetime):
        return f"{value.isoformat(sep=' ')} is a date and time"
    today = dt.date.today()
    if value > today + dt.timedelta(days=1):
        return f"{value.isoformat()} is in the future (today is {today.isoformat()})"
    return None


def _positive(value: int) -> str | None:
    return None if value > 0 else f"{value} is not a number of days above 0"


_DATE_FIX = "write the day as YYYY-MM-DD, unquoted (e.g. 2026-12-06), no later than today"
Day = Annotated[dt.date, check(_past)]
Https = Annotated[str, check(_https)]
Text = str | Localized  # a string (the same in every language: "6B", a name), or {zh: …, en: …}


class FactClass(Strict):
    """A volatility class (`classes: {NAME: …}`): how long a fact of it stays trustworthy."""

    max_age_days: Annotated[int, check(_positive)] = field(
        fix="how many days a fact of this class stays trustworthy, e.g. 90")
    label: Localized = field(fix='{zh: …, en: …}; put a text in quotes: inside { } a comma ends a value (en: "A, B")')


class Source(Strict):
    title: Text
    url: Https
    read: Day | None = field(None, fix=_DATE_FIX + ": the day the source was last read")
    note: str | None = None


class Fact(Strict):
    value: int | float | str
    display: Text | None = None
    unit: Text | None = None
    label: Text | None = None
    as_of: dt.date | str | None = None
    source: str
    url: Https | None = field(None, fix="a deep link into the source (a figure, a line)")
    verdict: Annotated[str, one_of(*VERDICTS)] = field(
        fix="verified (an official source says it) or secondary (the technical report, via transcriptions)")
    class_: str | None = field(None, alias="class")  # (not `cls`: model_construct takes cls)
    checked: Day | None = field(None, fix=_DATE_FIX + ": the day the fact was last verified against its source")
    note: str | None = None


_CLASSES_FIX = "classes: {stable: {max_age_days: 1095, label: {zh: …, en: …}}, …}; see docs/content.md"


class FactsFile(Strict):
    """content/data/facts.yaml: the sources, the facts that cite them, the volatility classes that
    date them, and the series the charts read (zimage_site/charts.py checks those)."""

    classes: Annotated[dict[str, FactClass], check(lambda v: None if v else "expected a mapping of volatility "
                                                                          "classes, got an empty one")] | None = \
        field(None, fix=_CLASSES_FIX)
    sources: dict[str, Source] = field(fix="see docs/content.md")
    facts: dict[str, Fact] = field(fix="see docs/content.md")
    series: dict[str, Any] = {}


FACTS_FILE = (DATA_DIR / "facts.yaml").as_posix()
@dataclass(frozen=True)
class Stale:
    """A printed fact whose last check is older than its class allows."""

    key: str
    source: str
    cls: str
    checked: dt.date
    age: int         # days since `checked`
    max_age: int     # what the class allows

    def problem(self, data: "Data") -> Problem:
        source = data.facts_file.sources.get(self.source)
        url = source.url if source is not None else None
        return Problem(
            f'fact "{self.key}" (source "{self.source}") was last checked {self.age} days ago '
            f"({self.checked.isoformat()}); {self.cls} facts are trusted for {self.max_age} days",
            file=FACTS_FILE, line=data.lines.get("facts", {}).get(f"facts.{self.key}.checked"),
            key=f"facts.{self.key}.checked",
            fix=f"read the source again{f' ({url})' if url else ''}, correct the value if it changed, then set "
                f"checked: to that day (and read: on source {self.source}); see docs/content.md",
            kind="stale")


def text(value: Any, lang: str) -> str:
    """A localized value ({zh: …, en: …}) in one language; plain strings (the same in every
    language: "6B", a name) pass through. A language it lacks reads as empty: `missing_texts`
    warns about each one when the data is loaded, naming its line."""
    if isinstance(value, dict):
        return str(value.get(lang, ""))
    return "" if value is None else str(value)


def missing_texts(data: "Data", languages: list[str]) -> list[Problem]:
    """A warning for each localized text of facts.yaml that lacks one of `languages` (those of
    site.yaml written by hand), or names a language site.yaml does not declare."""
    def missing(path: str, lang: str) -> tuple[str, str]:
        _, key, name = path.rsplit(".", 2)
        return (f"the {name} of {key!r} has no {lang} text; the {lang} page prints it empty",
                f"add {lang}: … to {name}: (every language of site.yaml)")

    model = data.facts_file
    problems = localized_problems({"classes": model.classes or {}, "sources": model.sources, "facts": model.facts},
                                  languages, FACTS_FILE, data.lines.get("facts", {}), missing=missing, key_at_text=True)
    return problems


def _no_facts() -> FactsFile:
    return FactsFile.model_construct(classes=None, sources={}, facts={}, series={})


@dataclass
class Data:
    facts_file: FactsFile = dataclasses.field(default_factory=_no_facts)  # facts.yaml (empty without one)
    layout: Layout | None = None  # layout.yaml
    other: dict[str, Any] = dataclasses.field(default_factory=dict)  # every other file's data, by name
    lines: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)  # each file's key paths' lines

    @property
    def files(self) -> dict[str, Any]:
        """Each file by name, as its model (facts, layout) or as read: `data.<file>` of templates
        and the `{data}` role, which name any file of content/data/ and any key in it."""
        files: dict[str, Any] = dict(self.other)
        if "facts" in self.lines:
            files["facts"] = self.facts_file
        if self.layout is not None:
            files["layout"] = self.layout
        return dict(sorted(files.items()))

    def require_dated(self, key: str) -> Problem | None:
        """What is missing for the fact to be printed: once the data declares classes, a printed
        fact has a class and a check date."""
        classes = self.facts_file.classes
        if not classes:
            return None
        fact = self.facts_file.facts[key]
        missing = [name for name, value in (("class", fact.class_), ("checked", fact.checked)) if value is None]
        if not missing:
            return None
        lines = self.lines.get("facts", {})
        return Problem(f'fact "{key}" is printed on the page but has no {" and no ".join(m + ":" for m in missing)}',
                       file=FACTS_FILE, line=lines.get(f"facts.{key}"), key=f"facts.{key}",
                       fix=f"verify it against its source, then add class: ({', '.join(classes)}) and "
                           "checked: YYYY-MM-DD (the day you verified it); see docs/content.md")

    def stale_facts(self, keys: Any, today: dt.date) -> list[Stale]:
        """The facts among `keys` (the printed ones) whose check is older than their class allows,
        in the order given."""
        found: list[Stale] = []
        classes = self.facts_file.classes or {}
        for key in dict.fromkeys(keys):
            fact = self.facts_file.facts.get(key)
            cls = classes.get(fact.class_ or "") if fact is not None else None
            if cls is None or fact.checked is None:
                continue
            age = (today - fact.checked).days
            if age > cls.max_age_days:
                found.append(Stale(key, fact.source, fact.class_, fact.checked, age, cls.max_age_days))
        return found

    def lookup(self, dotted: str) -> Any:
        """`facts.facts.turbo_params.value` → the value; KeyError when absent. A model's fields
        are named by the key the file writes (`class`)."""
        node: Any = self.files
        for part in dotted.split("."):
            if isinstance(node, BaseModel):
                names = {info.alias or name: name for name, info in type(node).model_fields.items()}
                if part not in names:
                    raise KeyError(dotted)
                node = getattr(node, names[part])
            elif isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise KeyError(dotted)
        return node

    def fact_display(self, key: str, lang: str) -> str:
        """The fact as the page prints it: its number (`display`, the number as written in that
        language, or else `value`) followed by its `unit`: "512 个 token", "512 tokens"."""
        fact = self.facts_file.facts[key]
        if fact.display is not None:
            number = text(fact.display, lang)
        else:
            value = fact.value
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            number = str(value)
        return f"{number}{text(fact.unit, lang)}"


def load_data(root: Path, report: Report | None = None) -> Data:
    data = Data()
    folder = root / DATA_DIR
    if not folder.is_dir():
        return data
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yaml")):
        shown = rel(path, root)
        try:
            value, lines = load_yaml(path, shown, report=report, error=ContentError)
        except SiteError as exc:
            problems.extend(exc.problems)
            continue
        data.lines[path.stem] = lines
        if path.stem == "facts":
            model, found = _validate_facts(value, lines, shown)
            problems.extend(found)
            if model is not None:
                data.facts_file = model
        elif path.stem == "layout":
            try:
                data.layout = layout_of(value, lines)
            except SiteError as exc:
                problems.extend(exc.problems)
        else:
            data.other[path.stem] = value
    if problems:
        raise ContentError(problems)
    return data


def _validate_facts(raw: Any, lines: dict[str, int], shown: str) -> tuple[FactsFile | None, list[Problem]]:
    """facts.yaml as a FactsFile, and every problem: its values', then what they say of each other
    (known sources and classes, dates in order), read from the values that passed."""
    if not isinstance(raw, dict):
        return None, [Problem("expected a mapping with sources: and facts:", file=shown, line=1,
                              fix="see docs/content.md")]
    model, problems, bad = validate_all(raw, FactsFile, shown, lines)

    def add(path: str, message: str, fix: str) -> None:
        problems.append(Problem(message, file=shown, line=line_of(lines, path, 1), key=path, fix=fix))

    def entries(section: str, entry_model: type[Strict]) -> dict:
        found = raw.get(section)
        if not isinstance(found, dict) or (section,) in bad:
            return {}
        return {k: valid_parts(v, (section, k), bad, entry_model) for k, v in found.items() if isinstance(k, str)}

    classes, sources, facts = entries("classes", FactClass), entries("sources", Source), entries("facts", Fact)
    for key, fact in facts.items():
        if isinstance(fact.get("source"), str) and fact["source"] not in (raw.get("sources") if isinstance(
                raw.get("sources"), dict) else {}):
            add(f"facts.{key}.source", f"unknown source {fact['source']!r}",
                f"add it under sources: or use one of: {', '.join(map(str, sources))}")
    _validate_dates(add, classes if isinstance(raw.get("classes"), dict) else {}, sources, facts)
    seen: set = set()  # one problem per key: a value of the wrong type is not also reported as missing
    problems = [p for p in problems if p.key is None or not (p.key in seen or seen.add(p.key))]
    return (model if not problems else None), problems


def _day(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _validate_dates(add, classes: dict, sources: dict, facts: dict) -> None:
    """Classes are known; with classes declared, every source says when it was last read; a fact
    is not checked after its source was last read."""
    for key, fact in facts.items():
        if not isinstance(fact, dict):
            continue
        cls = fact.get("class")
        if isinstance(cls, str) and cls not in classes:
            add(f"facts.{key}.class", f"unknown class {cls!r}",
                  f"use one of: {', '.join(map(str, classes))}" if classes else
                  "declare the classes once at the top of the file: classes: {volatile: {max_age_days: 90, "
                  "label: {zh: …, en: …}}}; see docs/content.md")
        if fact.get("checked") is not None and fact.get("class") is None:
            add(f"facts.{key}.class", "a dated fact needs a class (how long its check stays trustworthy)",
                  f"add class: one of {', '.join(map(str, classes)) or '(declare classes: first)'}")
        source = sources.get(fact.get("source")) if isinstance(fact.get("source"), str) else None
        checked, read = fact.get("checked"), source.get("read") if isinstance(source, dict) else None
        if _day(checked) and _day(read) and checked > read:
            add(f"facts.{key}.checked", f"checked {checked.isoformat()}, after its source \"{fact['source']}\" "
                                          f"was last read ({read.isoformat()})",
                  f"a fact is checked by reading its source: set read: {checked.isoformat()} on sources."
                  f"{fact['source']}")
    if classes:
        for key, source in sources.items():
            if isinstance(source, dict) and source.get("read") is None:
                add(f"sources.{key}.read", "missing value: when was this source last read?",
                      "add read: YYYY-MM-DD, the day you last read it (dated facts need dated sources)")
