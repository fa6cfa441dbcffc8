"""The typed model layer: every YAML input of the site is described once, as a pydantic model that
both validates the data and is the object the code uses.

The hardened loader (`zimage_site.yamlfile`) reads the file first (safe loading, alias limits,
duplicate keys, a line for every key path); `validate()` then checks the data against a model and
turns pydantic's errors into the site's own: each `Problem` names the file, the line (looked up
from the loader's key-path map), the key ("images[3].seed") and a fix.

The rules every model shares (`Strict`): types are strict (a quoted "8" is not a whole number,
`true` is not a number), unknown keys are refused, and a key written with nothing after it
(`null`) counts as missing. A field's fix is declared with it (`field(fix=...)`); a rule beyond
its type is an `Annotated` check (`check(fn)`: fn returns an error message or None) or a choice
(`one_of(...)`).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import types
import typing
from typing import Annotated, Any, Callable, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from zimage_site.errors import Problem, SiteError


class Strict(BaseModel):
    """The base of every model of an input file: strict types, no unknown keys."""

    # defer_build: a model builds its validator when it first validates (a build whose parts come from
    # the cache validates nothing, and pays nothing for it)
    model_config = ConfigDict(strict=True, extra="forbid", validate_by_name=True, validate_by_alias=True,
                              defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_missing(cls, data: Any) -> Any:
        """`key:` with nothing after it counts as a missing key (a text of a mapping of texts stays
        null: an error)."""
        if isinstance(data, dict) and any(v is None for v in data.values()):
            return {k: v for k, v in data.items() if v is not None}
        return data


def field(default: Any = ..., *, fix: str | None = None, doc: str | None = None, alias: str | None = None,
          **extra: Any) -> Any:
    """A model field with the fix a user reads when its value is wrong or missing ("{name}" in it
    reads as the field's key), and what it is (`doc`: "the Elo" makes a missing value read "the
    Elo is missing"). Other keywords are kept with the field for the code that reads it."""
    extra.update({k: v for k, v in (("fix", fix), ("doc", doc)) if v})
    return Field(default, alias=alias, json_schema_extra=extra or None)


def check(fn: Callable[[Any], str | None]) -> AfterValidator:
    """A rule beyond the type: `fn(value)` returns an error message, or None when the value is fine."""

    def run(value: Any) -> Any:
        message = fn(value)
        if message:
            raise refused(message)
        return value

    return AfterValidator(run)


def refused(message: str, fix: str | None = None) -> PydanticCustomError:
    """The error a validator of a model raises: its message, and a fix of its own when the field's
    does not fit ("{name}" and "{example}" read as the field's key and example)."""
    return PydanticCustomError("check", "{message}", {"message": message, **({"fix": fix} if fix else {})})


def one_of(*choices: str) -> AfterValidator:
    """A text that must be one of `choices` (its type is checked first: a number is not a choice)."""

    def run(value: Any) -> Any:
        if value not in choices:
            raise PydanticCustomError("choice", "{message}", {
                "message": f"{value!r} is not one of: {', '.join(map(str, choices))}",
                "choices": ", ".join(map(str, choices))})
        return value

    return AfterValidator(run)


def _nonempty(value: str) -> str | None:
    return None if value.strip() else "the text is empty"


NonEmpty = Annotated[str, check(_nonempty)]


class Localized(dict):
    """A text in each language of site.yaml: {zh: …, en: …}. Which languages it must hold is a
    property of the site, not of the file, so `localized_problems` checks them once the model is
    read: a missing language is reported with its line (the manifest refuses it, facts.yaml warns),
    and so is a language site.yaml does not declare. There is no fallback to another language."""

    values: Any = str  # the type of each text

    def text(self, lang: str) -> str:
        return str(self.get(lang, ""))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(cls, handler(dict[str, cls.values]))


class Texts(Localized):
    """Localized texts none of which may be empty."""

    values = NonEmpty


Missing = Callable[[str, str], "tuple[str, str | None]"]  # (path of the text, language) → (message, fix)


def language_problems(texts: dict, languages: tuple[str, ...] | list[str], file: str, lines: dict[str, int],
                      path: str, missing: Missing | None = None, key_at_text: bool = False,
                      unknown: bool = True) -> list[Problem]:
    """One text in several languages checked against `languages` (those of site.yaml written by
    hand): a Problem for each language it lacks (keyed `path.lang`, or `path` with `key_at_text`;
    on the text's line; "missing value" unless `missing` words it) and for each language site.yaml
    does not declare (unless `unknown` is False: a file that may hold a derived language's text)."""
    problems: list[Problem] = []
    if not languages:  # (a file read without site.yaml: its texts are not checked)
        return problems
    for lang in languages:
        if lang not in texts:
            message, fix = missing(path, lang) if missing else ("missing value", None)
            problems.append(Problem(message, file=file, line=line_of(lines, path, None),
                                    key=path if key_at_text else f"{path}.{lang}", fix=fix))
    for lang in texts if unknown else ():
        if lang not in languages:
            key = f"{path}.{lang}"
            problems.append(Problem(f"{lang!r} is not a language of site.yaml written by hand", file=file,
                                    line=line_of(lines, key, None), key=key,
                                    fix=f"use the languages of site.yaml: {', '.join(languages)}"))
    return problems


def localized_problems(value: Any, languages: tuple[str, ...] | list[str], file: str, lines: dict[str, int],
                       path: str = "", missing: Missing | None = None, key_at_text: bool = False) -> list[Problem]:
    """`language_problems` of every Localized text inside `value` (a model, or a dict or list of
    them, walked recursively), each at its key path."""
    if isinstance(value, Localized):
        return language_problems(value, languages, file, lines, path, missing, key_at_text)
    problems: list[Problem] = []
    if isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            sub = info.alias or name
            problems += localized_problems(getattr(value, name), languages, file, lines,
                                           f"{path}.{sub}" if path else sub, missing, key_at_text)
    elif isinstance(value, dict):
        for key, item in value.items():
            problems += localized_problems(item, languages, file, lines, f"{path}.{key}" if path else str(key),
                                           missing, key_at_text)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            problems += localized_problems(item, languages, file, lines, f"{path}[{i}]", missing, key_at_text)
    return problems


# --------------------------------------------------------------------------- errors

_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
               list: "a list", dict: "a mapping", _dt.date: "a date (YYYY-MM-DD)", type(None): "nothing"}


def _unwrap(tp: Any) -> tuple[Any, list]:
    """A type without Annotated and Optional: (type, its metadata)."""
    metadata: list = []
    while True:
        if typing.get_origin(tp) is Annotated:
            metadata += list(tp.__metadata__)
            tp = tp.__origin__
            continue
        if typing.get_origin(tp) in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp, metadata


def _type_name(tp: Any) -> str:
    tp, _ = _unwrap(tp)
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if isinstance(tp, type) and issubclass(tp, (BaseModel, dict)):
        return "a mapping"
    return _TYPE_NAMES.get(origin or tp, getattr(tp, "__name__", str(tp)))


def _actual(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, _dt.datetime):
        return "a date and time"
    for t in (str, int, float, list, dict, _dt.date):
        if isinstance(value, t):
            return _TYPE_NAMES[t]
    return type(value).__name__


def _fields(tp: Any) -> dict[str, FieldInfo] | None:
    """The fields of a model, by the key a file writes (the alias)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {info.alias or name: info for name, info in tp.model_fields.items()}
    return None


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def extra_of(info: FieldInfo | None) -> dict:
    """What `field()` keeps with a field (fix, doc, and the code's own keys)."""
    extra = info.json_schema_extra if info is not None else None
    return extra if isinstance(extra, dict) else {}


def _kind_matches(tp: Any, value: Any) -> bool:
    """Whether a value is of the shape a member of a union takes (a mapping, a list)."""
    tp, _ = _unwrap(tp)
    origin = typing.get_origin(tp) or tp
    if isinstance(value, dict):
        return origin is dict or (isinstance(origin, type) and issubclass(origin, (dict, BaseModel)))
    if isinstance(value, list):
        return origin in (list, tuple)
    return False


class _Walk:
    """Where an error's loc leads in the model: the type there, the field that declared it, and
    the parts of the loc that are keys of the file (pydantic adds a tag for each member of a
    union: the walk follows the member the value's shape chooses, or stops at the union)."""

    def __init__(self, root: Any, loc: tuple, data: Any):
        self.type, self.info, self.parent = root, None, None
        self.keys: list = []
        self.other_member = False  # the error is of a member of a union the value does not choose
        self.text_lang = None  # the language of a text in several languages the error is in
        parts = list(loc)
        while parts:
            part = parts[0]
            tp, _ = _unwrap(self.type)
            if _is_union(tp):  # a value of several types: follow the one its shape chooses
                chosen = [m for m in typing.get_args(tp) if _kind_matches(m, data)]
                if len(chosen) != 1 or len(parts) < 2:
                    self.other_member = bool(chosen) and len(parts) == 1
                    break
                self.type = chosen[0]
                parts.pop(0)  # the member's tag
                continue
            fields = _fields(tp)
            if part == "[key]":
                break
            if fields is not None:
                self.parent = tp
                self.keys.append(part)
                parts.pop(0)
                if part not in fields:
                    self.type, self.info = None, None
                    break
                self.info = fields[part]
                self.type = Annotated[(self.info.annotation, *self.info.metadata)] if self.info.metadata \
                    else self.info.annotation
            elif isinstance(tp, type) and issubclass(tp, Localized):  # a text: its field's fix holds
                self.type, self.text_lang = tp.values, part
                self.keys.append(parts.pop(0))
            elif typing.get_origin(tp) in (dict, list, tuple):  # an item: the field's fix holds for plain values
                self.type = typing.get_args(tp)[1 if typing.get_origin(tp) is dict else 0]
                if _fields(_unwrap(self.type)[0]) is not None:
                    self.info = None
                self.keys.append(parts.pop(0))
            else:
                break
            data = _value_at(data, (part,))
        self.rest = tuple(parts)


def key_path(loc: tuple | list, data: Any = None) -> str:
    """A key path as the loader writes it: images[3].seed (an index of a list), languages.7 (a
    key of a mapping that is a number)."""
    out = ""
    for part in loc:
        in_list = isinstance(data, list) and isinstance(part, int)
        out += f"[{part}]" if in_list else (f".{part}" if out else str(part))
        data = _value_at(data, (part,))
    return out


def line_of(lines: dict[str, int], path: str, default: int | None) -> int | None:
    """The line of a key path, or of its nearest parent (a missing key: the mapping it belongs in)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return default


def _value_at(data: Any, loc: tuple) -> Any:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def problems_of(exc: ValidationError, root: Any, data: Any, file: str, lines: dict[str, int], *,
                default_line: int | None = 1, top: str | None = None, key_prefix: str = "",
                at: str = "") -> list[Problem]:
    """pydantic's errors as the site's Problems (file, line, key, fix), one per key. `at`: the key
    path of `data` inside its file (series.arena_elo), `key_prefix`: a word before every key."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for err in exc.errors():
        loc = tuple(err["loc"])
        walk = _Walk(root, loc, data)
        if walk.other_member and err["type"].endswith("_type"):
            continue  # "not a string" where the value is a mapping: the mapping's own errors say it
        keys = tuple(walk.keys)
        path = key_path(keys, data)
        if at:
            path = at + ("" if path.startswith("[") or not path else ".") + path
        name = str(keys[-1]) if keys and not isinstance(keys[-1], int) else "the value"
        extra = extra_of(walk.info)
        fix, doc = extra.get("fix"), extra.get("doc")
        kind = err["type"]
        if kind == "missing":
            parent = _value_at(data, keys[:-1])
            state = "is empty (null)" if isinstance(parent, dict) and name in parent else "is missing"
            message, fix = (f"{doc} {state}" if doc else "missing value"), fix or f"add {name}: …"
        elif kind == "extra_forbidden":
            known = list(_fields(walk.parent) or {})
            close = difflib.get_close_matches(name, known, n=1)
            message = "unknown key"
            fix = f"remove it or correct the spelling; known keys here: {', '.join(known)}" + (
                f"; did you mean {close[0]}?" if close else "")
        elif walk.rest[:1] == ("[key]",):
            k = keys[-1] if keys else None
            message, fix = f"the key {k!r} is {_actual(k)}, not text", f'put the key in quotes: "{k}":'
        elif kind in ("check", "choice"):
            message = err["ctx"]["message"]
            fix = err["ctx"].get("fix") or fix or (f"write one of: {err['ctx']['choices']}" if kind == "choice" else
                                                   f"write the {name} text" if walk.text_lang else f"correct {name}")
        elif kind.endswith("_type") or kind in ("dataclass_exact_type",):
            value = _value_at(data, keys)
            if not keys and (top or _fields(_unwrap(root)[0]) is not None):
                top = top or "expected a mapping of keys at the top of the file"
                message, fix = f"{top}, got {_actual(value)}", "see the documented format of this file"
            else:
                expected = _type_name(walk.type)
                message = f"expected {expected}, got {_actual(value)}"
                fix = fix or f"write {expected} for {name} (see the documented format of this file)"
        else:
            message, fix = err["msg"], fix or "see the documented format of this file"
        if fix:
            fix = fix.replace("{name}", name).replace("{example}", str(extra.get("example", "")))
        if path in seen:  # a value of several types fails once per type: say it once
            continue
        seen.add(path)
        shown = f"{key_prefix} {path}".strip() if key_prefix else path
        problems.append(Problem(message, file=file, line=line_of(lines, path, default_line), key=shown or None,
                                fix=fix))
    return problems


_ADAPTERS: dict[Any, TypeAdapter] = {}


def adapter(tp: Any) -> TypeAdapter:
    try:
        return _ADAPTERS[tp]
    except (KeyError, TypeError):
        pass
    made = TypeAdapter(tp)
    try:
        _ADAPTERS[tp] = made
    except TypeError:  # an unhashable type: not cached
        pass
    return made


def validate_all(data: Any, tp: Any, file: str, lines: dict[str, int], **kw: Any
                 ) -> tuple[Any, list[Problem], set[tuple]]:
    """`data` as the model `tp`, for a file whose values are also checked against each other:
    (the model or None, the problems, the locs of the values that failed). A check across values
    then reads the data without those (`valid_parts`), so that every problem is reported at once."""
    try:
        return adapter(tp).validate_python(data), [], set()
    except ValidationError as exc:
        return None, problems_of(exc, tp, data, file, lines, **kw), {tuple(e["loc"]) for e in exc.errors()}


def valid_parts(entry: Any, loc: tuple, bad: set[tuple], model: type[BaseModel]) -> dict:
    """The keys of the mapping at `loc` that are fields of `model` and whose values passed."""
    if not isinstance(entry, dict) or any(b == loc[: len(b)] for b in bad):
        return {}
    known = _fields(model) or {}
    return {k: v for k, v in entry.items()
            if k in known and not any(b[: len(loc) + 1] == (*loc, k) for b in bad)}


def validate(data: Any, tp: Any, file: str, lines: dict[str, int], *, error: type[SiteError] = SiteError,
             default_line: int | None = 1, top: str | None = None, key_prefix: str = "", at: str = "",
             context: dict | None = None) -> Any:
    """`data` (from the YAML loader) as the model `tp`; raises `error` listing every problem found,
    each with its file, line, key and fix. `top`: what the whole document should be ("expected a
    mapping with images:"), for a file that is something else."""
    try:
        return adapter(tp).validate_python(data, context=context)
    except ValidationError as exc:
        raise error(problems_of(exc, tp, data, file, lines, default_line=default_line, top=top,
                                key_prefix=key_prefix, at=at)) from None
