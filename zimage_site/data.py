"""Data files (`content/data/*.yaml`): one home for every structured value, facts above all.

All files are readable from content (`{data}` role) and templates (`data.<file>.<key>`).
`facts.yaml` is validated: every fact names a source that exists and an allowed verdict, so that
the page can link every number it prints to where it comes from.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zimage_site.errors import ContentError, Problem, Report, SiteError, rel
from zimage_site.yamlfile import Field, Validation, load_yaml, validate_mapping

DATA_DIR = Path("content/data")
VERDICTS = ("verified", "secondary")

_TEXT = (str, dict)  # a string, or {zh: …, en: …}


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
_CLASS = Field(dict, schema={
    "max_age_days": Field(int, check=_positive, fix="how many days a fact of this class stays trustworthy, e.g. 90"),
    "label": Field(dict, values=Field(str, fix='put the text in quotes: inside { } a comma ends a value (en: "A, B")'),
                   fix="{zh: …, en: …}"),
})


_SOURCE = Field(dict, schema={
    "title": Field(_TEXT),
    "url": Field(str, check=_https),
    "read": Field(dt.date, required=False, check=_past, fix=_DATE_FIX + ": the day the source was last read"),
    "note": Field(str, required=False),
})
_FACT = Field(dict, schema={
    "value": Field((int, float, str)),
    "display": Field(_TEXT, required=False),
    "unit": Field(_TEXT, required=False),
    "label": Field(_TEXT, required=False),
    "as_of": Field((dt.date, str), required=False),
    "source": Field(str),
    "url": Field(str, required=False, check=_https, fix="a deep link into the source (a figure, a line)"),
    "verdict": Field(str, choices=VERDICTS,
                     fix="verified (an official source says it) or secondary (the technical report, via transcriptions)"),
    "class": Field(str, required=False),
    "checked": Field(dt.date, required=False, check=_past,
                     fix=_DATE_FIX + ": the day the fact was last verified against its source"),
    "note": Field(str, required=False),
})


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
        source = data.sources.get(self.source, {})
        url = source.get("url") if isinstance(source, dict) else None
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


# The localized texts of facts.yaml: (section, field) of each entry.
_LOCALIZED = (("sources", "title"), ("facts", "display"), ("facts", "unit"), ("facts", "label"),
              ("facts", "note"), ("classes", "label"))


def missing_texts(data: "Data", languages: list[str]) -> list[Problem]:
    """A warning for each localized text of facts.yaml that lacks one of `languages` (those of
    site.yaml written by hand), or names a language site.yaml does not declare."""
    raw, lines = data.files.get("facts"), data.lines.get("facts", {})
    if not isinstance(raw, dict):
        return []
    problems = []
    for section, field_name in _LOCALIZED:
        for key, entry in (raw.get(section) or {}).items():
            value = entry.get(field_name) if isinstance(entry, dict) else None
            if not isinstance(value, dict):
                continue
            where = f"{section}.{key}.{field_name}"
            for lang in languages:
                if lang not in value:
                    problems.append(Problem(f"the {field_name} of {key!r} has no {lang} text; the {lang} page prints "
                                            "it empty", file=FACTS_FILE, line=lines.get(where), key=where,
                                            fix=f"add {lang}: … to {field_name}: (every language of site.yaml)"))
            for lang in value:
                if lang not in languages:
                    problems.append(Problem(f"{lang!r} is not a language of site.yaml written by hand",
                                            file=FACTS_FILE, line=lines.get(f"{where}.{lang}", lines.get(where)),
                                            key=f"{where}.{lang}",
                                            fix=f"use the languages of site.yaml: {', '.join(languages)}"))
    return problems


@dataclass
class Data:
    files: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def sources(self) -> dict[str, dict]:
        return self.files.get("facts", {}).get("sources", {})

    @property
    def facts(self) -> dict[str, dict]:
        return self.files.get("facts", {}).get("facts", {})

    @property
    def classes(self) -> dict[str, dict]:
        """The volatility classes (`classes:`); empty when facts are not dated."""
        classes = self.files.get("facts", {}).get("classes")
        return classes if isinstance(classes, dict) else {}

    def checked(self, key: str) -> dt.date | None:
        """When the fact was last verified against its source, if the data says."""
        value = self.facts[key].get("checked")
        return value if _day(value) else None

    def require_dated(self, key: str) -> Problem | None:
        """What is missing for the fact to be printed: once the data declares classes, a printed
        fact has a class and a check date."""
        if not self.classes:
            return None
        fact = self.facts[key]
        missing = [name for name in ("class", "checked") if fact.get(name) is None]
        if not missing:
            return None
        lines = self.lines.get("facts", {})
        return Problem(f'fact "{key}" is printed on the page but has no {" and no ".join(m + ":" for m in missing)}',
                       file=FACTS_FILE, line=lines.get(f"facts.{key}"), key=f"facts.{key}",
                       fix=f"verify it against its source, then add class: ({', '.join(self.classes)}) and "
                           "checked: YYYY-MM-DD (the day you verified it); see docs/content.md")

    def stale_facts(self, keys: Any, today: dt.date) -> list[Stale]:
        """The facts among `keys` (the printed ones) whose check is older than their class allows,
        in the order given."""
        found = []
        for key in dict.fromkeys(keys):
            fact = self.facts.get(key)
            if not isinstance(fact, dict):
                continue
            cls = self.classes.get(fact.get("class") or "")
            checked = fact.get("checked")
            if not isinstance(cls, dict) or not _day(checked):
                continue
            age = (today - checked).days
            if age > cls["max_age_days"]:
                found.append(Stale(key, str(fact.get("source")), fact["class"], checked, age, cls["max_age_days"]))
        return found

    def lookup(self, dotted: str) -> Any:
        """`facts.facts.turbo_params.value` → the value; KeyError when absent."""
        node: Any = self.files
        for part in dotted.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise KeyError(dotted)
        return node

    def fact_display(self, key: str, lang: str) -> str:
        """The fact as the page prints it: its number (`display`, the number as written in that
        language, or else `value`) followed by its `unit`: "512 个 token", "512 tokens"."""
        fact = self.facts[key]
        if fact.get("display") is not None:
            number = text(fact["display"], lang)
        else:
            value = fact["value"]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            number = str(value)
        return f"{number}{text(fact.get('unit'), lang)}"


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
        data.files[path.stem] = value
        data.lines[path.stem] = lines
    if "facts" in data.files:
        problems.extend(_validate_facts(data, rel(folder / "facts.yaml", root)))
    if problems:
        raise ContentError(problems)
    return data


def _validate_facts(data: Data, shown: str) -> list[Problem]:
    raw, lines = data.files["facts"], data.lines["facts"]
    v = Validation(shown, lines)
    if not isinstance(raw, dict):
        v.add("", "expected a mapping with sources: and facts:", "see docs/content.md")
        return v.problems
    classes = raw.get("classes")
    if classes is not None:
        if not isinstance(classes, dict) or not classes:
            v.add("classes", "expected a mapping of volatility classes",
                  "classes: {stable: {max_age_days: 1095, label: {zh: …, en: …}}, …}; see docs/content.md")
            raw["classes"] = classes = {}
        for key, entry in classes.items():
            if not isinstance(entry, dict):
                v.add(f"classes.{key}", "expected a mapping with max_age_days: and label:", "see docs/content.md")
                continue
            classes[key] = validate_mapping(entry, _CLASS.schema, f"classes.{key}", v)
    for section, spec in (("sources", _SOURCE), ("facts", _FACT)):
        entries = raw.get(section)
        if not isinstance(entries, dict):
            v.add(section, f"expected a mapping of {section}", "see docs/content.md")
            continue
        for key, entry in entries.items():
            path = f"{section}.{key}"
            if not isinstance(key, str):
                v.add(path, f"the key {key!r} is not text", f'put it in quotes ("{key}":) or use a name')
                continue
            if not isinstance(entry, dict):
                v.add(path, "expected a mapping", "see docs/content.md")
                continue
            entries[key] = validate_mapping(entry, spec.schema, path, v)
    facts = raw.get("facts") if isinstance(raw.get("facts"), dict) else {}
    sources = raw.get("sources") if isinstance(raw.get("sources"), dict) else {}
    for key, fact in facts.items():
        if isinstance(fact, dict) and isinstance(fact.get("source"), str) and fact["source"] not in sources:
            v.add(f"facts.{key}.source", f"unknown source {fact['source']!r}",
                  f"add it under sources: or use one of: {', '.join(map(str, sources))}")
    _validate_dates(v, classes if isinstance(classes, dict) else {}, sources, facts)
    return v.problems


def _day(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _validate_dates(v: Validation, classes: dict, sources: dict, facts: dict) -> None:
    """Classes are known; with classes declared, every source says when it was last read; a fact
    is not checked after its source was last read."""
    for key, fact in facts.items():
        if not isinstance(fact, dict):
            continue
        cls = fact.get("class")
        if isinstance(cls, str) and cls not in classes:
            v.add(f"facts.{key}.class", f"unknown class {cls!r}",
                  f"use one of: {', '.join(map(str, classes))}" if classes else
                  "declare the classes once at the top of the file: classes: {volatile: {max_age_days: 90, "
                  "label: {zh: …, en: …}}}; see docs/content.md")
        if fact.get("checked") is not None and fact.get("class") is None:
            v.add(f"facts.{key}.class", "a dated fact needs a class (how long its check stays trustworthy)",
                  f"add class: one of {', '.join(map(str, classes)) or '(declare classes: first)'}")
        source = sources.get(fact.get("source")) if isinstance(fact.get("source"), str) else None
        checked, read = fact.get("checked"), source.get("read") if isinstance(source, dict) else None
        if _day(checked) and _day(read) and checked > read:
            v.add(f"facts.{key}.checked", f"checked {checked.isoformat()}, after its source \"{fact['source']}\" "
                                          f"was last read ({read.isoformat()})",
                  f"a fact is checked by reading its source: set read: {checked.isoformat()} on sources."
                  f"{fact['source']}")
    if classes:
        for key, source in sources.items():
            if isinstance(source, dict) and source.get("read") is None:
                v.add(f"sources.{key}.read", "missing value: when was this source last read?",
                      "add read: YYYY-MM-DD, the day you last read it (dated facts need dated sources)")
