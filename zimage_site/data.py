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

from zimage_site.errors import Problem, SiteError, rel
from zimage_site.yamlfile import Field, Validation, load_yaml, validate_mapping

DATA_DIR = Path("content/data")
VERDICTS = ("verified", "secondary")

_TEXT = (str, dict)  # a string, or {zh: …, en: …}


def _https(url: str) -> str | None:
    return None if url.startswith("https://") else f"{url!r} is not an https URL"


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
        fact = self.facts[key]
        if fact.get("display") is not None:
            return text(fact["display"], lang)
        value = fact["value"]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return f"{value}{text(fact.get('unit'), lang)}"


def load_data(root: Path) -> Data:
    data = Data()
    folder = root / DATA_DIR
    if not folder.is_dir():
        return data
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yaml")):
        shown = rel(path, root)
        try:
            value, lines = load_yaml(path, shown)
        except SiteError as exc:
            problems.extend(exc.problems)
            continue
        data.files[path.stem] = value
        data.lines[path.stem] = lines
    if "facts" in data.files:
        problems.extend(_validate_facts(data, rel(folder / "facts.yaml", root)))
    if problems:
        raise SiteError(problems)
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
            if not isinstance(entry, dict):
                v.add(path, "expected a mapping", "see docs/content.md")
                continue
            entries[key] = validate_mapping(entry, spec.schema, path, v)
    for key, fact in (raw.get("facts") or {}).items():
        if isinstance(fact, dict) and fact.get("source") and fact["source"] not in (raw.get("sources") or {}):
            v.add(f"facts.{key}.source", f"unknown source {fact['source']!r}",
                  f"add it under sources: or use one of: {', '.join(raw.get('sources') or {})}")
    return v.problems
