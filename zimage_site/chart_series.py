"""The series of the charts, read from content/data/facts.yaml and checked before anything is drawn.

A series holds no number of its own: each value it plots or prints is the key of a fact
(`elo: arena_elo`), and the reader takes the value from `facts:` and the fact's source from
`sources:`. Only display settings (where an axis starts) are literal. Each series is a pydantic
model (`ArenaSeries`, `SizeSeries`, `ArchitectureSeries`, validated by zimage_site/model.py's
`validate`), whose fact fields name the kind of value the fact must hold (`FACT_NUMBER`,
`FACT_POSITIVE`, `FACT_RANK`, `FACT_DATE`: each a pydantic type the fact's value is validated
against). What the charts code gets is a `ChartSeries`: every fact key resolved, with the file
and line of each value, so that a check across values (charts.py) names the line of facts.yaml to
fix. A mistake is a `ChartDataError` (a SiteError) naming the file, the line, the key path and
the fix.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field as dataclass_field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, ValidationError

from zimage_site.errors import Problem, SiteError
from zimage_site.model import NonEmpty, Strict, adapter, check, extra_of, field, line_of, refused, validate

if TYPE_CHECKING:
    from zimage_site.data import FactsFile, Source

FACTS_FILE = "content/data/facts.yaml"


class ChartDataError(SiteError):
    """A series of content/data/facts.yaml that a chart cannot draw: each problem names the file,
    the line, the key path and the fix."""


# --------------------------------------------------------------------------- the models

# What a fact named by a series must hold: a number, a positive number, a whole number >= 1 (a
# rank) or a date; each kind is the type its value is validated against, with the words of its error.
FACT_NUMBER, FACT_POSITIVE, FACT_RANK, FACT_DATE = "fact-number", "fact-positive", "fact-rank", "fact-date"


def _finite(v: float) -> str | None:
    return None if math.isfinite(v) else f"the number {v} is not finite"


Number = Annotated[float, check(_finite)]


@dataclass(frozen=True)
class FactKind:
    type: Any                          # what the fact's value must be
    what: str                          # the error, "{where}" (the series key) and "{found}" in it
    fix: str


_NUMBER = FactKind(Number, "{where} plots it, but it is {found}, not a number",
                   "write the number alone as the value (units and wording belong in display:)")
# the kinds, each the types its value is validated against in turn (a size is first a number)
FACT_KINDS: dict[str, tuple[FactKind, ...]] = {
    FACT_NUMBER: (_NUMBER,),
    FACT_POSITIVE: (_NUMBER, FactKind(Annotated[float, check(lambda v: None if v > 0 else "not above 0")],
                                      "{where} plots it as a size, but it is {found}", "write a number above 0")),
    FACT_RANK: (FactKind(Annotated[float, check(lambda v: None if v.is_integer() and v >= 1 else "not a rank")],
                         "{where} needs a rank (a whole number from 1), found {found}", "write the rank, e.g. value: 4"),),
    FACT_DATE: (FactKind(dt.date | NonEmpty, "{where} needs a date, found {found}",
                         'write the date, e.g. value: "2025-11-26"'),),
}


def _fact_key(value: Any) -> Any:
    """A fact's key; a number or a date written in its place is refused with the reason."""
    if isinstance(value, str):
        return value
    if _is_number(value) or isinstance(value, dt.date):
        raise refused(f"{_kind_of(value)} is written here, but a chart takes its numbers and dates from facts",
                      "add it under facts: (value, source, verdict, as_of) or reuse the fact that holds it, "
                      "then write its key here (e.g. {example})")
    raise refused(f"expected the key of a fact, found {_kind_of(value)}",
                  "write the key of a fact under facts: (e.g. {example})")


FactKey = Annotated[str, BeforeValidator(_fact_key)]


def ref(kind: str, example: str, doc: str, required: bool = True) -> Any:
    """A field of a series that names a fact (`elo: arena_elo`) whose value is of `kind`."""
    return field(... if required else None, doc=doc, example=example, fact=kind,
                 fix="write {name}: FACT-KEY, the key of a fact under facts: (e.g. {name}: {example})")


def _entries(fix: str) -> Any:
    return field(fix=fix)


_NONEMPTY = check(lambda v: None if v else "expected a list of entries, found an empty list")


class ArenaEntry(Strict):
    name: NonEmpty = field(doc="the model's name", fix="write name: followed by a text")
    elo: FactKey = ref(FACT_NUMBER, "arena_elo", "the Elo")
    open: bool = False
    highlight: bool = False


class ArenaSeries(Strict):
    """`series: arena_elo:` of facts.yaml, drawn by ::: chart arena-elo."""

    as_of: FactKey = ref(FACT_DATE, "arena_as_of", "the date of the snapshot")
    rank: FactKey = ref(FACT_RANK, "arena_rank", "the highlighted model's rank")
    open_rank: FactKey = ref(FACT_RANK, "arena_open_rank", "its rank among open models")
    axis_min: Number = field(0, doc="where the axis starts", fix="write axis_min: followed by a number")
    entries: Annotated[list[ArenaEntry], _NONEMPTY] = _entries("write one entry per bar: - {name: …, elo: …}")


class SizeEntry(Strict):
    name: NonEmpty = field(doc="the model's name", fix="write name: followed by a text")
    dit: FactKey = ref(FACT_POSITIVE, "params", "the diffusion transformer's size")
    text_encoder: FactKey | None = ref(FACT_POSITIVE, "te_params", "the text encoder's size", required=False)
    text_encoder_name: str = ""
    highlight: bool = False


class SizeSeries(Strict):
    """`series: model_size:` of facts.yaml, drawn by ::: chart model-size."""

    as_of: FactKey = ref(FACT_DATE, "turbo_release", "the date of the data")
    entries: Annotated[list[SizeEntry], _NONEMPTY] = _entries("write one entry per bar: - {name: …, dit: …}")


class ArchitectureSeries(Strict):
    """`series: s3_dit:` of facts.yaml, drawn by ::: chart architecture (zimage_site/diagram.py)."""

    params: FactKey = ref(FACT_POSITIVE, "params_exact", "the parameters counted from the config (billions)")
    layers: FactKey = ref(FACT_POSITIVE, "dit_layers", "the main transformer layers")
    hidden: FactKey = ref(FACT_POSITIVE, "hidden_size", "the transformer's hidden size")
    heads: FactKey = ref(FACT_POSITIVE, "attention_heads", "the attention heads")
    refiners: FactKey = ref(FACT_POSITIVE, "refiner_blocks", "the refiner blocks of each stream")
    te_layers: FactKey = ref(FACT_POSITIVE, "te_layers", "the text encoder's layers")
    te_hidden: FactKey = ref(FACT_POSITIVE, "te_hidden", "the text encoder's hidden size")
    max_tokens: FactKey = ref(FACT_POSITIVE, "max_prompt_tokens", "the longest prompt in tokens")
    latent_channels: FactKey = ref(FACT_POSITIVE, "latent_channels", "the VAE latent channels")
    rope_axes: FactKey = ref(FACT_POSITIVE, "rope_axes", "the axes of the unified RoPE")


@dataclass(frozen=True)
class SeriesSpec:
    """What a chart reads: the key under `series:` and the model of the series."""

    name: str
    model: type[Strict]


# --------------------------------------------------------------------------- the series read


@dataclass
class ChartSeries:
    """A series with every fact key replaced by the fact's value, the sources it drew on, and
    where each value was written (`line(path)`: "series.arena_elo.entries[0].elo" → its line)."""

    name: str
    fields: dict[str, Any]
    entries: list[dict[str, Any]]
    raw: Mapping[str, Any]                     # the series as written (fact keys, not values)
    sources: list[Source] = dataclass_field(default_factory=list)  # ordered, without duplicates
    facts: list[str] = dataclass_field(default_factory=list)  # the keys of the facts it shows, without duplicates
    lines: Mapping[str, int] = dataclass_field(default_factory=dict)
    file: str = FACTS_FILE

    @property
    def path(self) -> str:
        return f"series.{self.name}"

    def line(self, key: str) -> int | None:
        """The line of a key path; for a key not written, the line of its nearest parent."""
        while key and key not in self.lines:
            key = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", key) if re.search(r"[.\[]", key) else ""
        return self.lines.get(key)


class FactResolver:
    """Looks up the facts a typed series names (each value validated against its kind, each source
    with a title and a url), collecting what is wrong as (key path, what, fix); the checks across
    values of charts.py add theirs with `fail`."""

    def __init__(self, facts_file: FactsFile):
        self.problems: list[tuple[str, str, str]] = []
        self.keys: dict[str, None] = {}  # the facts read, in order
        self.facts = facts_file.facts
        self.sources = facts_file.sources

    def fail(self, path: str, what: str, fix: str) -> None:
        self.problems.append((path, what, fix))

    def values(self, model: Strict, path: str, used: list[str]) -> dict[str, Any]:
        """The model's fields, each fact key replaced by the fact's value (entries aside)."""
        out = {}
        for name, info in type(model).model_fields.items():
            if name == "entries":
                continue
            value, kind = getattr(model, name), extra_of(info).get("fact")
            out[name] = self.fact(value, kind, f"{path}.{name}", used) if value is not None and kind else value
        return out

    def fact(self, key: str, kind: str, where: str, used: list[str]) -> Any:
        fact = self.facts.get(key)
        if fact is None:
            close = difflib.get_close_matches(key, [str(k) for k in self.facts], n=3)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            self.fail(where, f"unknown fact {key!r}", f"{hint}add {key} under facts: with value, source and verdict, "
                                                       "or use the key of an existing fact")
            return None
        self.keys[key] = None
        value = fact.value
        for spec in FACT_KINDS[kind]:
            try:
                adapter(spec.type).validate_python(value, strict=True)
            except ValidationError:
                self.fail(f"facts.{key}.value", spec.what.format(where=where, found=_kind_of(value)), spec.fix)
                return None
        source_key = fact.source
        if source_key not in self.sources:
            known = ", ".join(map(str, self.sources)) or "(none yet)"
            self.fail(f"facts.{key}.source", f"the chart links the source of every value it shows, "
                      f"and {source_key!r} is not a source",
                      f"name one of the sources: {known}")
            return None
        used.append(source_key)
        return value


def read_series(chart_id: str, spec: SeriesSpec, facts_file: FactsFile, lines: Mapping[str, int] | None = None,
                check: Callable[[ChartSeries, FactResolver], None] | None = None) -> ChartSeries:
    """The series of `spec` in facts.yaml (`lines`: its key paths' lines) validated by its model,
    every fact key resolved, checked across values by `check`; ChartDataError lists what is wrong."""
    lines = dict(lines or {})
    path = f"series.{spec.name}"

    def error(problems: list[Problem]) -> ChartDataError:
        for p in problems:
            p.message = f"chart {chart_id!r}: {p.message}"
        return ChartDataError(problems)

    def raise_if(problems: list[tuple[str, str, str]]) -> None:
        if problems:
            raise error([Problem(what, file=FACTS_FILE, line=line_of(lines, key, None), key=key, fix=fix)
                         for key, what, fix in problems])

    raw = facts_file.series.get(spec.name)
    if raw is None:
        raise_if([(path, "the series is missing",
                   f"add series: {spec.name}: with {', '.join(spec.model.model_fields)} (see the other series)")])
    if not isinstance(raw, Mapping):
        raise_if([(path, f"expected a series (a mapping), found {_kind_of(raw)}",
                   f"write it as a mapping with: {', '.join(spec.model.model_fields)} (see docs/content.md)")])
    try:
        typed = validate(raw, spec.model, FACTS_FILE, lines, error=ChartDataError, at=path, default_line=None)
    except ChartDataError as exc:
        raise error(exc.problems) from None
    r = FactResolver(facts_file)
    series_sources: list[str] = []
    entry_sources: list[str] = []
    fields = r.values(typed, path, series_sources)
    entries = [r.values(entry, f"{path}.entries[{i}]", entry_sources)
               for i, entry in enumerate(getattr(typed, "entries", []))]
    raise_if(r.problems)
    series = ChartSeries(spec.name, fields, entries, raw, lines=lines)
    if check:
        check(series, r)
        raise_if(r.problems)
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
