"""YAML files with line numbers, and a small declarative validator.

`load_yaml(path)` returns plain Python data plus a map from key paths ("languages.en.title",
"images[3].seed") to 1-based line numbers, so that every validation error can say where it is.
`validate(data, schema, ...)` checks data against a schema made of `Field`s and collects all
problems instead of stopping at the first one.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from zimage_site.errors import Problem, SiteError

try:  # the C loader is much faster where available
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader


def yaml_problem(exc: yaml.YAMLError, file: str, line_offset: int = 0, text: str | None = None) -> Problem:
    """Turn a PyYAML error into a Problem that points at the line and shows it."""
    problem = getattr(exc, "problem", None) or str(exc)
    ctx, ctx_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    # Point at where the broken construct started (an unclosed bracket or quote) when YAML knows it.
    mark = ctx_mark if ctx_mark is not None else getattr(exc, "problem_mark", None)
    note = f"{ctx} that starts here: {problem}" if ctx_mark is not None else problem
    line = context = None
    if mark is not None:
        line = mark.line + 1 + line_offset
        src_lines = (text or "").splitlines()
        if 0 <= mark.line < len(src_lines):
            context = src_lines[mark.line] + "\n" + " " * mark.column + "^ " + note
    message = "this is not valid YAML" + (f" ({note})" if not context and note else "")
    return Problem(
        message,
        file=file,
        line=line,
        context=context,
        fix="check the indentation and quoting on that line; quote text that starts with [ { : * & ! | > or contains ': '",
    )


class _Recursive(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


def _construct(node: yaml.Node, path: str, lines: dict[str, int], loader: yaml.SafeLoader,
               stack: frozenset[int] = frozenset()) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in stack:  # an alias that contains itself (a: &x [*x])
            raise _Recursive(node)
        stack = stack | {id(node)}
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                key = str(key)
            sub = f"{path}.{key}" if path else str(key)
            lines[sub] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, sub, lines, loader, stack)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, f"{path}[{i}]", lines, loader, stack) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str, line_offset: int = 0) -> tuple[Any, dict[str, int]]:
    """Parse YAML text; return (data, key-path → line). Raises SiteError on bad YAML."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[str, int] = {}
        if node is None:
            return None, lines
        data = _construct(node, "", lines, loader)
    except yaml.YAMLError as exc:
        raise SiteError(yaml_problem(exc, file, line_offset, text)) from None
    except _Recursive as exc:
        raise SiteError(Problem("an alias (*name) refers to the value that contains it", file=file,
                                line=exc.node.start_mark.line + 1 + line_offset,
                                fix="copy the value instead of referring to it from inside itself")) from None
    finally:
        loader.dispose()
    if line_offset:
        lines = {k: v + line_offset for k, v in lines.items()}
    return data, lines


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, dict[str, int]]:
    display = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteError(Problem("the file does not exist", file=display, fix=f"create {display}")) from None
    except UnicodeDecodeError as exc:
        raise SiteError(Problem(f"the file is not UTF-8 text ({exc.reason})", file=display,
                                fix="save the file as UTF-8")) from None
    return parse_yaml(text, display)


# --------------------------------------------------------------------------- validation

_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
               list: "a list", dict: "a mapping", _dt.date: "a date (YYYY-MM-DD)"}


def _type_name(t: Any) -> str:
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return _TYPE_NAMES.get(t, getattr(t, "__name__", str(t)))


def _actual(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return _type_name(type(value))


@dataclass
class Field:
    """One key of a mapping. `type` is a Python type or tuple; `schema` describes nested data:
    a dict of Fields for a mapping, or a single Field/dict for the items of a list, or for the
    values of a mapping whose keys are free (`values=`)."""

    type: Any = str
    required: bool = True
    default: Any = None
    schema: dict[str, "Field"] | None = None
    items: "Field | None" = None
    values: "Field | None" = None
    choices: tuple | None = None
    check: Callable[[Any], str | None] | None = None  # returns an error message or None
    fix: str | None = None


@dataclass
class Validation:
    file: str
    lines: dict[str, int]
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str, fix: str | None = None) -> None:
        line = self.lines.get(path)
        if line is None:  # a missing key: point at its parent
            parent = path.rsplit(".", 1)[0] if "." in path else ""
            line = self.lines.get(parent)
        self.problems.append(Problem(message, file=self.file, line=line, key=path or None, fix=fix))


def _check(value: Any, spec: Field, path: str, v: Validation) -> Any:
    expected = spec.type
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok_types = expected if isinstance(expected, tuple) else (expected,)
    if bool not in ok_types and isinstance(value, bool):
        ok = False
    else:
        ok = isinstance(value, ok_types)
    if not ok:
        v.add(path, f"expected {_type_name(expected)}, got {_actual(value)}", spec.fix)
        return value
    if spec.choices is not None and value not in spec.choices:
        v.add(path, f"{value!r} is not one of: {', '.join(map(str, spec.choices))}", spec.fix)
    if spec.check is not None:
        msg = spec.check(value)
        if msg:
            v.add(path, msg, spec.fix)
    if isinstance(value, dict):
        if spec.schema is not None:
            value = validate_mapping(value, spec.schema, path, v)
        elif spec.values is not None:
            value = {k: _check(val, spec.values, f"{path}.{k}" if path else str(k), v) for k, val in value.items()}
    elif isinstance(value, list) and spec.items is not None:
        value = [_check(item, spec.items, f"{path}[{i}]", v) for i, item in enumerate(value)]
    return value


def validate_mapping(data: dict, schema: dict[str, Field], path: str, v: Validation) -> dict:
    out = {}
    for key in data:
        if key not in schema:
            known = ", ".join(schema)
            v.add(f"{path}.{key}" if path else str(key), "unknown key",
                  f"remove it or correct the spelling; known keys here: {known}")
    for key, spec in schema.items():
        sub = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            if spec.required:
                v.add(sub, "missing value", spec.fix or f"add {key}: …")
            out[key] = spec.default
            continue
        out[key] = _check(data[key], spec, sub, v)
    return out


def validate(data: Any, schema: dict[str, Field], file: str, lines: dict[str, int]) -> dict:
    """Validate a top-level mapping; raise SiteError listing every problem found."""
    v = Validation(file, lines)
    if not isinstance(data, dict):
        v.add("", f"expected a mapping of keys at the top of the file, got {_actual(data)}",
              "see the documented format of this file")
        raise SiteError(v.problems)
    out = validate_mapping(data, schema, "", v)
    if v.problems:
        raise SiteError(v.problems)
    return out
