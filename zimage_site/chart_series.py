"""The series of the charts, read from content/data/facts.yaml and checked before anything is drawn.

A series holds no number of its own: each value it plots or prints is the key of a fact
(`elo: arena_elo`), and the reader takes the value from `facts:` and the fact's source from
`sources:`. Only display settings (where an axis starts) are literal. What the charts code gets is
a `ChartSeries`: typed, every fact key resolved, with the file and line of each value, so that a
check across values (charts.py) names the line of facts.yaml to fix. A mistake is a
`ChartDataError` (a SiteError) naming the file, the line, the key path and the fix.

`read_series()` is the one place that turns the YAML of a series into a `ChartSeries`: a typed
model of facts.yaml (validated elsewhere) can feed it instead, keeping `ChartSeries` as it is.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zimage_site.errors import Problem, SiteError

FACTS_FILE = "content/data/facts.yaml"


class ChartDataError(SiteError):
    """A series of content/data/facts.yaml that a chart cannot draw: each problem names the file,
    the line, the key path and the fix."""


# number >= 1 (a rank) or a date; or, for display settings and labels, a literal.
FACT_NUMBER, FACT_POSITIVE, FACT_RANK, FACT_DATE = "fact-number", "fact-positive", "fact-rank", "fact-date"
NUMBER, FLAG, NAME = "number", "flag", "name"
_FACT_KINDS = (FACT_NUMBER, FACT_POSITIVE, FACT_RANK, FACT_DATE)


@dataclass(frozen=True)
class Value:
    kind: str
    required: bool = True
    default: Any = None
    example: str = ""  # a fact key to show in a fix
    doc: str = ""      # what the field is, for messages


@dataclass(frozen=True)
class SeriesSpec:
    """What a chart reads from its series: the series' own fields and the fields of each entry."""

    name: str                                  # the key under `series:`
    fields: dict[str, Value]
    entry: dict[str, Value]


@dataclass
class ChartSeries:
    """A series with every fact key replaced by the fact's value, the sources it drew on, and
    where each value was written (`line(path)`: "series.arena_elo.entries[0].elo" → its line)."""

    name: str
    fields: dict[str, Any]
    entries: list[dict[str, Any]]
    raw: Mapping[str, Any]                     # the series as written (fact keys, not values)
    sources: list[Mapping[str, Any]] = field(default_factory=list)  # ordered, without duplicates
    facts: list[str] = field(default_factory=list)  # the keys of the facts it shows, without duplicates
    lines: Mapping[str, int] = field(default_factory=dict)
    file: str = FACTS_FILE

    @property
    def path(self) -> str:
        return f"series.{self.name}"

    def line(self, key: str) -> int | None:
        """The line of a key path; for a key not written, the line of its nearest parent."""
        while key and key not in self.lines:
            key = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", key) if re.search(r"[.\[]", key) else ""
        return self.lines.get(key)


class SeriesReader:
    def __init__(self, chart_id: str, spec: SeriesSpec, facts_file: Any, lines: Mapping[str, int]):
        self.chart_id = chart_id
        self.lines = lines
        self.problems: list[tuple[str, str, str]] = []
        self.keys: dict[str, None] = {}  # the facts read, in order
        facts_file = facts_file if isinstance(facts_file, Mapping) else {}
        self.facts = facts_file.get("facts") if isinstance(facts_file.get("facts"), Mapping) else {}
        self.sources = facts_file.get("sources") if isinstance(facts_file.get("sources"), Mapping) else {}
        all_series = facts_file.get("series")
        self.raw = all_series.get(spec.name) if isinstance(all_series, Mapping) else None

    def fail(self, path: str, what: str, fix: str) -> None:
        self.problems.append((path, what, fix))

    def raise_if_failed(self) -> None:
        if self.problems:
            where = ChartSeries("", {}, [], {}, lines=self.lines)
            raise ChartDataError([Problem(f"chart {self.chart_id!r}: {what}", file=FACTS_FILE, line=where.line(key),
                                          key=key, fix=fix) for key, what, fix in self.problems])

    def mapping(self, node: Any, path: str, fields: list[str], what: str) -> Mapping[str, Any] | None:
        if not isinstance(node, Mapping):
            self.fail(path, f"expected a {what} (a mapping), found {_kind_of(node)}",
                      f"write it as a mapping with: {', '.join(fields)} (see docs/content.md)")
            return None
        for key in node:
            if key not in fields:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                self.fail(f"{path}.{key}", "unknown key",
                          f"{hint}a {what} takes: {', '.join(fields)}; numbers are facts, referenced by key")
        return node

    def value(self, node: Mapping[str, Any], name: str, spec: Value, path: str, used: list[str]) -> Any:
        where = f"{path}.{name}"
        if name not in node or node[name] is None:
            if not spec.required:
                return spec.default
            state = "is empty (null)" if name in node else "is missing"
            if spec.kind in _FACT_KINDS:
                self.fail(where, f"{spec.doc or name} {state}",
                          f"write {name}: FACT-KEY, the key of a fact under facts: (e.g. {name}: {spec.example})")
            else:
                self.fail(where, f"{spec.doc or name} {state}", f"write {name}: followed by {_literal_doc(spec.kind)}")
            return None
        raw = node[name]
        if spec.kind == FLAG:
            if not isinstance(raw, bool):
                self.fail(where, f"expected true or false, found {_kind_of(raw)}", f"write {name}: true or {name}: false")
            return raw if isinstance(raw, bool) else None
        if spec.kind == NAME:
            if not isinstance(raw, str) or not raw.strip():
                self.fail(where, f"expected a text, found {_kind_of(raw)}", f"write {name}: followed by the text")
                return None
            return raw
        if spec.kind == NUMBER:
            if not _is_number(raw) or not math.isfinite(raw):
                self.fail(where, f"expected a number, found {_kind_of(raw)}", f"write {name}: followed by a number")
                return None
            return raw
        return self.fact(raw, spec, where, used)

    def fact(self, key: Any, spec: Value, where: str, used: list[str]) -> Any:
        if not isinstance(key, str):
            if _is_number(key) or isinstance(key, dt.date):
                self.fail(where, f"{_kind_of(key)} is written here, but a chart takes its numbers and dates from facts",
                          f"add it under facts: (value, source, verdict, as_of) or reuse the fact that holds it, "
                          f"then write its key here (e.g. {spec.example})")
            else:
                self.fail(where, f"expected the key of a fact, found {_kind_of(key)}",
                          f"write the key of a fact under facts: (e.g. {spec.example})")
            return None
        fact = self.facts.get(key)
        if fact is None:
            close = difflib.get_close_matches(key, list(self.facts), n=3)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            self.fail(where, f"unknown fact {key!r}", f"{hint}add {key} under facts: with value, source and verdict, "
                                                       "or use the key of an existing fact")
            return None
        if not isinstance(fact, Mapping):
            self.fail(f"facts.{key}", "expected a mapping with value:, source:, verdict:", "see docs/content.md")
            return None
        self.keys[key] = None
        value, fact_path = fact.get("value"), f"facts.{key}.value"
        if spec.kind == FACT_DATE:
            if not isinstance(value, (str, dt.date)) or not str(value).strip():
                self.fail(fact_path, f"{where} needs a date, found {_kind_of(value)}", 'write the date, e.g. value: "2025-11-26"')
                return None
        elif spec.kind == FACT_RANK:
            if not _is_number(value) or not float(value).is_integer() or value < 1:
                self.fail(fact_path, f"{where} needs a rank (a whole number from 1), found {_kind_of(value)}",
                          "write the rank, e.g. value: 4")
                return None
        elif not _is_number(value) or not math.isfinite(value):
            self.fail(fact_path, f"{where} plots it, but it is {_kind_of(value)}, not a number",
                      "write the number alone as the value (units and wording belong in display:)")
            return None
        elif spec.kind == FACT_POSITIVE and value <= 0:
            self.fail(fact_path, f"{where} plots it as a size, but it is {value}", "write a number above 0")
            return None
        source_key = fact.get("source")
        source = self.sources.get(source_key) if isinstance(source_key, str) else None
        if not isinstance(source, Mapping) or not source.get("url") or not source.get("title"):
            known = ", ".join(self.sources) or "(none yet)"
            self.fail(f"facts.{key}.source", f"the chart links the source of every value it shows, "
                      f"and {source_key!r} is not a source with a title and a url",
                      f"name one of the sources: {known}")
            return None
        used.append(source_key)
        return value


def read_series(chart_id: str, spec: SeriesSpec, facts_file: Any, lines: Mapping[str, int] | None = None,
                check: Callable[[ChartSeries, SeriesReader], None] | None = None) -> ChartSeries:
    """The series of `spec` in facts.yaml (`lines`: its key paths' lines), every fact key
    resolved, checked across values by `check`; ChartDataError lists what is wrong."""
    r = SeriesReader(chart_id, spec, facts_file, lines or {})
    path = f"series.{spec.name}"
    if r.raw is None:
        r.fail(path, "the series is missing",
               f"add series: {spec.name}: with {', '.join(spec.fields)} (see the other series)")
        r.raise_if_failed()
    node = r.mapping(r.raw, path, [*spec.fields, *(["entries"] if spec.entry else [])], "series")
    r.raise_if_failed()
    assert node is not None
    series_sources: list[str] = []
    entry_sources: list[str] = []
    fields = {name: r.value(node, name, f, path, series_sources) for name, f in spec.fields.items()}
    raw_entries = node.get("entries")
    entries: list[dict[str, Any]] = []
    if not spec.entry:
        pass  # a drawing of named numbers (the architecture diagram), no list of bars
    elif not isinstance(raw_entries, list) or not raw_entries:
        r.fail(f"{path}.entries", f"expected a list of entries, found {_kind_of(raw_entries)}",
               f"write one entry per bar: - {{{', '.join(f'{k}: …' for k, f in spec.entry.items() if f.required)}}}")
    else:
        for i, raw in enumerate(raw_entries):
            entry_path = f"{path}.entries[{i}]"
            entry = r.mapping(raw, entry_path, list(spec.entry), "chart entry")
            if entry is not None:
                entries.append({name: r.value(entry, name, f, entry_path, entry_sources)
                                for name, f in spec.entry.items()})
    r.raise_if_failed()
    series = ChartSeries(spec.name, fields, entries, node, lines=r.lines)
    if check:
        check(series, r)
        r.raise_if_failed()
    series.sources = [r.sources[key] for key in dict.fromkeys(entry_sources + series_sources)]
    series.facts = list(r.keys)
    return series


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the flag {str(value).lower()}"
    if _is_number(value):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dt.date):
        return f"the date {value}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return type(value).__name__


def _literal_doc(kind: str) -> str:
    return {NUMBER: "a number", FLAG: "true or false", NAME: "a text"}[kind]


