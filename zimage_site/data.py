"""Data files (`content/data/*.yaml`): one home for every structured value, facts above all.

All files are readable from content (`{data}` role) and templates (`data.<file>.<key>`).
`facts.yaml` is validated: every fact names a source that exists and an allowed verdict, so that
the page can link every number it prints to where it comes from.
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


_SOURCE = Field(dict, schema={
    "title": Field(_TEXT),
    "url": Field(str, check=_https),
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
    "note": Field(str, required=False),
})


def text(value: Any, lang: str) -> str:
    """A bilingual value ({zh: …, en: …}) in one language; plain strings pass through."""
    if isinstance(value, dict):
        return str(value.get(lang, next(iter(value.values()), "")))
    return "" if value is None else str(value)


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
    return v.problems
