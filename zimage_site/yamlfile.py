"""YAML files with line numbers, read defensively.

`load_yaml(path)` returns plain Python data plus a map from key paths ("languages.en.title",
"images[3].seed") to 1-based line numbers, so that every validation error can say where it is.
The data is then validated by its model (zimage_site/model.py), which looks the lines up here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from zimage_site.errors import Problem, Report, SiteError
from zimage_site.files import read_bytes

try:  # the C loader is much faster where available
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader


def yaml_problem(exc: yaml.YAMLError, file: str, line_offset: int = 0, text: str | None = None) -> Problem:
    """Turn a PyYAML error into a Problem that points at the line and shows it."""
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow (a control character, NUL)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        line = (text or "")[: exc.position].count("\n") + 1 + line_offset
        return Problem(f"the file holds the character U+{ord(char):04X}, which YAML does not allow",
                       file=file, line=line, fix="remove it (control characters cannot appear in YAML text)")
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


# Limits that keep a hostile or mistaken file from hanging the build: aliases (*name) are checked
# without being expanded, so a "billion laughs" document is refused in microseconds.
MAX_NODES = 100_000   # values after expanding every alias
MAX_DEPTH = 100       # nesting of lists and mappings
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # where YAML starts a new line
_CUT_COMMENT = re.compile(r"[ \t]#[^\s#]")
_QUOTE_FIX = ("if the # and what follows belong to the value, put the value in quotes "
              '(zh: "参见 issue #16"); if it is a comment, write it after two spaces as "  # comment"')


class _Refused(Exception):
    def __init__(self, node: yaml.Node, message: str, fix: str):
        self.node, self.message, self.fix = node, message, fix


def _check_size(root: yaml.Node) -> None:
    """Count the values the document holds once every alias is expanded, without expanding them
    (each node's size is computed once); refuse recursive aliases, deep nesting and huge totals."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > MAX_DEPTH:
            raise _Refused(node, f"the values are nested more than {MAX_DEPTH} levels deep",
                           "flatten the data: a site file never needs that much nesting")
        if key in active:
            raise _Refused(node, "an alias (*name) refers to the value that contains it",
                           "copy the value instead of referring to it from inside itself")
        total = 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            active.add(key)
            children = (c for pair in node.value for c in pair) if isinstance(node, yaml.MappingNode) else node.value
            for child in children:
                total += size(child, depth + 1)
                if total > MAX_NODES:
                    raise _Refused(node, f"the file expands to more than {MAX_NODES:,} values "
                                         "(aliases *name repeat what their anchor &name holds)",
                                   "write the values out instead of nesting aliases, or split the data")
            active.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def _construct(node: yaml.Node, path: str, lines: dict[str, int], loader: yaml.SafeLoader,
               src: list[str], cut: list[tuple[int, str, str]]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader)
            if isinstance(key, (list, dict)):
                key = str(key)
            sub = f"{path}.{key}" if path else str(key)
            if key in result:
                raise _Refused(key_node, f"the key {key!r} appears twice in the same mapping "
                                         f"(first on line {lines.get(sub, '?')})",
                               "keep one of them: YAML would silently use the last one")
            lines[sub] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, sub, lines, loader, src, cut)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, f"{path}[{i}]", lines, loader, src, cut) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode) and not node.style and node.value:  # plain (C loader: "")
        end = node.end_mark
        if 0 <= end.line < len(src) and _CUT_COMMENT.match(src[end.line], end.column):
            cut.append((end.line, node.value, src[end.line][end.column:].strip()))
    return _scalar(node, loader)


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:  # e.g. a date that does not exist: 2024-02-30
        raise _Refused(node, f"this value cannot be read ({exc})",
                       "correct the value, or put it in quotes to keep it as text") from exc


def parse_yaml(text: str, file: str, line_offset: int = 0, report: Report | None = None,
               error: type[SiteError] = SiteError) -> tuple[Any, dict[str, int]]:
    """Parse YAML text; return (data, key-path → line). Raises `error` (a SiteError) on bad YAML,
    a duplicate key, or a document that would expand beyond the limits above. With a `report`,
    warns about plain values that a " #" cut short (the rest became a comment)."""
    loader = _Loader(text)
    cut: list[tuple[int, str, str]] = []
    try:
        node = loader.get_single_node()
        lines: dict[str, int] = {}
        if node is None:
            return None, lines
        _check_size(node)
        data = _construct(node, "", lines, loader, _LINE_BREAK.split(text), cut)
    except yaml.YAMLError as exc:
        raise error(yaml_problem(exc, file, line_offset, text)) from exc
    except _Refused as exc:
        raise error(Problem(exc.message, file=file, line=exc.node.start_mark.line + 1 + line_offset,
                            fix=exc.fix)) from exc
    except RecursionError as exc:  # nesting inside the YAML parser itself
        raise error(Problem(f"the values are nested too deeply", file=file,
                            fix="flatten the data: a site file never needs that much nesting")) from exc
    finally:
        loader.dispose()
    if report is not None:
        for line, value, comment in cut:
            short = value if len(value) <= 40 else value[:37] + "…"
            report.warn(Problem(f'the value {short!r} stops before " {comment}": YAML reads a " #" as the start '
                                "of a comment",
                                file=file, line=line + 1 + line_offset, fix=_QUOTE_FIX))
    if line_offset:
        lines = {k: v + line_offset for k, v in lines.items()}
    return data, lines


def load_yaml(path: Path, display: str | None = None, report: Report | None = None,
              error: type[SiteError] = SiteError, root: Path | None = None) -> tuple[Any, dict[str, int]]:
    """A YAML file of the site (read by `files.read_bytes`: a regular file, under `root` when given)."""
    display = display or str(path)
    raw = read_bytes(root, path, display, error=error)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(Problem(f"the file is not UTF-8 text ({exc.reason})", file=display, line=line,
                            fix="save the file as UTF-8")) from exc
    return parse_yaml(text.removeprefix("\ufeff"), display, report=report, error=error)
