"""The cache of rendered sections: in memory for the live preview, on disk in `.cache/` for any build.

A section's entry is found by a key made of everything its HTML depends on (see `inputs.FEEDS`:
its own file, the site configuration, the facts and data, the templates and UI strings, the
image manifest and store, the asset URLs, the engine, and the sources cited before it on the
page), so an entry is either exactly right or never looked at. The disk file holds the entries
the last successful build used (no growth), written atomically; an unreadable file is ignored.
"""

from __future__ import annotations

import marshal
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from zimage_site.errors import Problem

if TYPE_CHECKING:
    from zimage_site.fragments import SectionHTML

CACHE_FILE = ".cache/sections.marshal"
_FORMAT = 2


def _problem_fields(p: Problem) -> tuple:
    return (p.message, p.file, p.line, p.key, p.fix, p.context, p.kind)


# --------------------------------------------------------------------------- signed cache files

_KEY: list = []  # the signing key, read once per process


def signing_key() -> bytes:
    """This user's key for the engine's cache files: 32 random bytes in
    $XDG_CACHE_HOME/zimage-site/cache-key (~/.cache/…), made on first use, readable by this user
    only. A cache file in a site's .cache/ is used only when it carries this key's signature: one
    planted in the site folder (or copied from elsewhere) is ignored, and the part is made again.
    Where the key cannot be kept, a key of this process only (caches last one process)."""
    if _KEY:
        return _KEY[0]
    import secrets

    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(home, "zimage-site", "cache-key")
    key = None
    try:
        from zimage_site.files import read_bytes

        key = read_bytes(None, path, path, limit=64)
        if len(key) != 32 or os.stat(path).st_uid != os.getuid():
            key = None
    except Exception:  # noqa: BLE001  none yet
        pass
    if key is None:
        key = secrets.token_bytes(32)
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))  # mode 0600
            with os.fdopen(fd, "wb") as f:
                f.write(key)
            try:
                os.link(tmp, path)  # the first process to make it wins; the others read it
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
            with open(path, "rb") as f:
                key = f.read(33)
        except OSError:
            pass
    _KEY.append(key)
    return key


def sign(data: bytes) -> bytes:
    """`data` behind its HMAC-SHA256 with this user's key."""
    import hashlib
    import hmac

    return hmac.new(signing_key(), data, hashlib.sha256).digest() + data


def verify(blob: bytes) -> bytes | None:
    """The data `sign` wrapped, or None when the signature is not this user's key's."""
    import hashlib
    import hmac

    mac, data = blob[:32], blob[32:]
    return data if hmac.compare_digest(mac, hmac.new(signing_key(), data, hashlib.sha256).digest()) else None


def write_signed(path: Path, data: bytes, prefix: str) -> None:
    """Write a signed cache file atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(sign(data))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_signed(path: Path, limit: int = 256 << 20) -> bytes | None:
    """A cache file's data when `write_signed` wrote it with this user's key, else None."""
    from zimage_site.files import read_bytes

    try:
        return verify(read_bytes(None, path, str(path), limit=limit))
    except Exception:  # noqa: BLE001  none, unreadable, not a regular file
        return None


class SectionCache:
    def __init__(self, root: Path) -> None:
        self.path = Path(root) / CACHE_FILE
        self._entries: dict[str, tuple] | None = None
        self._used: dict[str, tuple] = {}
        self._valid = False  # the file on disk is one this engine wrote (else it is written again)
        self.hits = self.misses = 0

    def _load(self) -> dict[str, tuple]:
        if self._entries is None:
            self._entries = {}
            try:  # signed with this user's key (a planted file is ignored); entries checked when used
                data = read_signed(self.path)
                version, entries = marshal.loads(data) if data is not None else (None, None)
                if version == _FORMAT and isinstance(entries, dict):
                    self._entries = entries
                    self._valid = True
            except Exception:  # noqa: BLE001  none yet, unreadable, another version: a cold build
                pass
        return self._entries

    def size(self) -> int:
        return len(self._load())

    def get(self, key: str, meta) -> SectionHTML | None:
        entry = self._load().get(key)
        if entry is None:
            self.misses += 1
            return None
        from zimage_site.fragments import Link, Question, SectionHTML  # (a build that renders nothing needs none)

        try:
            lead, rest, links, ids, faq, cites, warnings, facts = entry
            html = SectionHTML(meta, str(lead), str(rest), links=tuple(Link(str(t), l) for t, l in links),
                               ids=tuple(map(str, ids)), faq=tuple(Question(str(q), str(a)) for q, a in faq),
                               cites=tuple(map(str, cites)), warnings=tuple(Problem(*x) for x in warnings),
                               facts=tuple(map(str, facts)))
        except (TypeError, ValueError):  # not an entry this engine wrote: rendered again
            self.misses += 1
            return None
        self.hits += 1
        self._used[key] = entry
        return html

    def put(self, key: str, s: SectionHTML) -> None:
        entry = (s.lead_html, s.rest_html, tuple((x.target, x.line) for x in s.links), tuple(s.ids),
                 tuple((q.question, q.answer) for q in s.faq), tuple(s.cites),
                 tuple(_problem_fields(p) for p in s.warnings), tuple(s.facts))
        self._load()[key] = entry
        self._used[key] = entry

    def start(self) -> None:
        """A build begins: count what it uses."""
        self._used = {}
        self.hits = self.misses = 0

    def save(self) -> None:
        """After a successful build: keep in memory and on disk the entries it used."""
        changed = self._used.keys() != (self._entries or {}).keys()
        self._entries = self._used
        if not changed and self._valid:
            return
        try:
            write_signed(self.path, marshal.dumps((_FORMAT, self._entries)), ".sections-")
            self._valid = True
        except OSError:  # a read-only checkout builds without the disk cache
            pass


# --------------------------------------------------------------------------- the parts' data format

class Unstorable(TypeError):
    """A value the parts file cannot hold (a type outside `encode`'s list): the part is made again."""


def encode(value):
    """A value of a build's parts as JSON-ready data, by a closed list of types: JSON's own, tuple,
    set, date, Path, Markup, and the objects of zimage_site's own classes (their fields). Anything
    else raises Unstorable. Unlike pickle, decoding it can only make these types again, never
    call a function named by the file."""
    import dataclasses
    import datetime as dt

    from markupsafe import Markup

    t = type(value)
    if value is None or t in (bool, int, str):
        return value
    if t is float:
        return value if value == value and value not in (float("inf"), float("-inf")) else {"$": "float", "v": repr(value)}
    if t is list:
        return [encode(v) for v in value]
    if t is dict:
        if all(type(k) is str and k != "$" for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"$": "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if t is tuple:
        return {"$": "tuple", "v": [encode(v) for v in value]}
    if t in (set, frozenset):
        return {"$": t.__name__, "v": [encode(v) for v in sorted(value, key=repr)]}
    if t is dt.date:
        return {"$": "date", "v": value.isoformat()}
    if t is dt.datetime:
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, Path):
        return {"$": "path", "v": str(value)}
    if t is Markup:
        return {"$": "markup", "v": str(value)}
    if isinstance(value, str) and t.__module__.startswith("zimage_site.") and hasattr(t, "__slots__"):
        return {"$": "str", "type": f"{t.__module__}:{t.__qualname__}", "s": str(value),
                "v": {k: encode(getattr(value, k, None)) for k in t.__slots__}}
    if t.__module__.startswith("zimage_site.") and "<locals>" not in t.__qualname__ and isinstance(value, dict):
        return {"$": "mapping", "type": f"{t.__module__}:{t.__qualname__}",  # a dict of its own (model.Localized)
                "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if t.__module__.startswith("zimage_site.") and "<locals>" not in t.__qualname__ and _is_model(value):
        return {"$": "model", "type": f"{t.__module__}:{t.__qualname__}",  # a model of zimage_site/model.py
                "v": {name: encode(getattr(value, name)) for name in type(value).model_fields}}
    if t.__module__.startswith("zimage_site.") and "<locals>" not in t.__qualname__:
        fields = ({f.name: getattr(value, f.name) for f in dataclasses.fields(value)} if dataclasses.is_dataclass(value)
                  else vars(value) if hasattr(value, "__dict__") else None)
        if fields is not None:
            return {"$": "object", "type": f"{t.__module__}:{t.__qualname__}",
                    "v": {k: encode(v) for k, v in fields.items()}}
    raise Unstorable(f"{t.__module__}.{t.__qualname__}")


def _is_model(value) -> bool:
    """Whether `value` is a pydantic model (without importing pydantic: while it is not imported,
    nothing is one)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def _is_model_class(cls: type) -> bool:
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and issubclass(cls, pydantic.BaseModel)


def decode(data):
    """The value `encode` made; ValueError for anything it could not have made."""
    import datetime as dt

    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get("$")
    if tag is None:
        return {k: decode(v) for k, v in data.items()}
    v = data.get("v")
    if tag == "dict":
        return {decode(k): decode(x) for k, x in v}
    if tag == "tuple":
        return tuple(decode(x) for x in v)
    if tag == "set":
        return {decode(x) for x in v}
    if tag == "frozenset":
        return frozenset(decode(x) for x in v)
    if tag == "float":
        return float(v)
    if tag == "date":
        return dt.date.fromisoformat(v)
    if tag == "datetime":
        return dt.datetime.fromisoformat(v)
    if tag == "path":
        return Path(v)
    if tag == "markup":
        from markupsafe import Markup

        return Markup(v)
    if tag == "str":
        cls = _known_class(data.get("type"))
        if not issubclass(cls, str):
            raise ValueError(f"not a kind of text: {data.get('type')!r}")
        obj = str.__new__(cls, str(data["s"]))
        for name, x in v.items():
            if name in cls.__slots__:
                setattr(obj, name, decode(x))
        return obj
    if tag == "mapping":
        cls = _known_class(data.get("type"))
        if not issubclass(cls, dict):
            raise ValueError(f"not a kind of mapping: {data.get('type')!r}")
        return cls({decode(k): decode(x) for k, x in v})
    if tag == "model":
        from pydantic import BaseModel

        cls = _known_class(data.get("type"))
        if not issubclass(cls, BaseModel):
            raise ValueError(f"not a model: {data.get('type')!r}")
        # its fields as stored (they were validated when the file was read); no validator runs
        return cls.model_construct(**{name: decode(x) for name, x in v.items() if name in cls.model_fields})
    if tag == "object":
        cls = _known_class(data.get("type"))
        if _is_model_class(cls):  # written before the class became a model: made again
            raise ValueError(f"a model stored as a plain object: {data.get('type')!r}")
        obj = object.__new__(cls)  # no __init__, no code of the file's choosing: its fields, set
        for name, x in v.items():
            object.__setattr__(obj, name, decode(x))
        return obj
    raise ValueError(f"unknown tag {tag!r}")


@lru_cache(maxsize=None)
def _known_class(name) -> type:
    """A class of zimage_site's own modules, by "module:qualname"."""
    import importlib
    import re

    module_name, _, qualname = str(name).partition(":")
    if not re.fullmatch(r"zimage_site(\.[a-z_]+)+", module_name):
        raise ValueError(f"not a module of the engine: {module_name!r}")
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    cls = module
    for part in qualname.split("."):
        cls = getattr(cls, part, None) if cls is not None and not part.startswith("_") else None
    if not isinstance(cls, type) or cls.__module__ != module_name:
        raise ValueError(f"not a class of the engine: {name!r}")
    return cls
