"""The inputs of a build, and the one declared map from each kind of input to the parts it feeds.

Every build fingerprints its inputs (a digest per kind, and one per content file) and keys each
part of the build on the digests of the kinds that feed it (`depends_on`). A part whose key did
not change is reused, in memory (the live preview's rebuilds) or from `.cache/` (any build): so a
rebuild is a full build that skips work, and cannot differ from one. To add a kind of input, add
it to `KINDS` (where its files are) and to `FEEDS` (what it changes); `tests/test_rebuild.py` then
edits, adds and removes files of that kind at random and compares every rebuild with a full build.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from zimage_site import __version__
from zimage_site.files import MAX_BYTES, MAX_STATIC

# kind → the files it covers, relative to the site root (a file belongs to the first kind that
# matches it; content/<lang>/*.md files are fingerprinted one by one).
KINDS: dict[str, tuple[str, ...]] = {
    "config": ("site.yaml",),
    "data": ("content/data/",),
    "manifest": ("content/images.yaml",),
    "glossary": ("content/i18n/",),  # the glossaries of derived languages (site.yaml glossary:)
    "content": ("content/",),
    "strings": ("templates/i18n/",),
    "templates": ("templates/",),
    "static": ("static/",),
    "store": ("images/",),
}

# The parts of a build (each one a value some phase computes and a later phase consumes):
#   config    the Config              data      the data files (facts)
#   sections  the parsed sections     strings   the UI strings
#   templates the Jinja environment   catalog   the image manifest and store
#   assets    the stylesheet bundle, scripts and static files, with their URLs
#   images    the image files to publish and the views of every image
#   html      each rendered section (also keyed on its own file and the sources cited before it)
#   pages     the pages, 404, sitemap and robots.txt (always made again: they are cheap)
PARTS = ("config", "data", "sections", "strings", "templates", "catalog", "assets", "images", "html", "pages")

# kind → the parts it feeds. "engine" is the code itself and the libraries that shape its output.
# "html/own": a content file feeds the rendered HTML of its own section only (the key of each
# section holds its file's digest, and the sources cited before it on the page).
FEEDS: dict[str, frozenset[str]] = {
    "config": frozenset({"config", "sections", "strings", "catalog", "assets", "images", "html", "pages"}),
    "glossary": frozenset({"config", "pages"}),  # a derived language's titles, and its converted page
    "content": frozenset({"sections", "html/own", "pages"}),
    "data": frozenset({"data", "assets", "html", "pages"}),  # assets: layout.yaml's breakpoints and widths
    "strings": frozenset({"strings", "html", "pages"}),
    "templates": frozenset({"templates", "html", "pages"}),
    "static": frozenset({"assets", "pages"}),  # html is keyed on the asset URLs, which "assets" derives
    "manifest": frozenset({"catalog", "images", "html", "pages"}),
    "store": frozenset({"catalog", "images", "html", "pages"}),
    "engine": frozenset(PARTS),
}


def depends_on(part: str) -> tuple[str, ...]:
    """The kinds of input that feed `part`, in a fixed order."""
    return tuple(kind for kind, parts in FEEDS.items() if part in parts)


def kind_of(root: Path, path: Path | str) -> str | None:
    """The kind of a file of the site (None: not an input of the build)."""
    try:
        name = Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return None
    return _kind(name)


def _kind(name: str) -> str | None:
    """The kind of a file by its path relative to the site root, in POSIX form."""
    for kind, patterns in KINDS.items():
        if any(name == p or (p.endswith("/") and name.startswith(p)) for p in patterns):
            return kind
    return None


def digest(*parts: bytes | str) -> str:
    """A short hex digest of strings and bytes, each part delimited."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


# The libraries whose output ends up in the pages.
LIBRARIES = ("jinja2", "markupsafe", "markdown_it", "mdit_py_plugins", "pygments", "yaml", "PIL", "opencc")


@lru_cache(maxsize=1)
def engine_digest() -> str:
    """The engine's own code, and the installed versions of the libraries whose output ends up in
    the pages (each known by the path, size and time of its package's __init__ file, found
    without importing it: a build that renders nothing imports no Markdown or Pygments)."""
    from importlib.util import find_spec

    package = Path(__file__).resolve().parent
    parts: list[bytes | str] = [__version__, sys.version]
    for name in LIBRARIES:
        spec = find_spec(name)
        origin = getattr(spec, "origin", None) or ""
        try:
            st = os.stat(origin)
            parts.append(f"{name}:{origin}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}:{origin}")
    for path in sorted(package.rglob("*.py")):
        parts += [path.relative_to(package).as_posix(), path.read_bytes()]
    return digest(*parts)


@dataclass
class Fingerprint:
    """The digests of a site's inputs at one moment."""

    kinds: dict[str, str]                                   # kind → digest of all its files
    files: dict[str, str] = field(default_factory=dict)     # content file (as shown) → digest
    sources: dict[str, bytes] = field(default_factory=dict)  # content file (as shown) → bytes
    problems: list = field(default_factory=list)  # (path, Problem): files and folders refused

    def refuse(self, languages: list[str]) -> None:
        """Raise the problems of the files and folders the build reads (`languages` names the
        folders of content/ that hold sections); others of content/ (drafts, notes) are not read."""
        read = ("site.yaml", "content/images.yaml", "content/data", "content/i18n", *(f"content/{lang}" for lang in languages))
        fatal = [p for name, p in self.problems
                 if not name.startswith("content/") or any(name == r or name.startswith(r + "/") for r in read)]
        if fatal:
            raise error_of(fatal[0].file or "")(fatal)

    def key(self, part: str, *extra: str) -> str:
        """The key of one part: the digests of the kinds that feed it, and `extra`."""
        return digest(part, *(self.kinds[k] for k in depends_on(part)), *extra)


def fingerprint(root: Path, extra_config: str = "") -> Fingerprint:
    """Read the inputs of the site in `root` once: a digest per kind (`extra_config` joins the
    config's, e.g. a --base-url), and the bytes and digest of every content Markdown file.
    Image files in the store are fingerprinted by name, size and modification time (the catalog
    checks their SHA-256 against their provenance, which is hashed whole).

    This is the first look of every build at the site's files, and it applies `files`' rules to
    all of them: a pipe, a device, a link out of the site, an unreadable file or folder, a name
    that is not UTF-8 is an error here, naming it, before any phase opens anything."""
    from zimage_site.errors import SiteError
    from zimage_site.files import kind_problem, outside_problem, read_bytes, walk

    root_dir = os.fspath(root)
    hashes: dict[str, list[bytes | str]] = {kind: [] for kind in KINDS}
    fp = Fingerprint(kinds={})
    names = ["site.yaml"] if os.path.lexists(os.path.join(root_dir, "site.yaml")) else []
    problems = fp.problems
    linked = {"site.yaml"} if os.path.islink(os.path.join(root_dir, "site.yaml")) else set()
    for folder in ("content", "templates", "static", "images"):
        # the image store may be a link to a store shared by checkouts (its PNGs are published
        # only re-encoded, after their SHA-256 matched their provenance): it may lead anywhere
        names.extend(walk(root_dir, folder, problems, linked, anywhere=folder == "images"))
    for name in names:  # strings, not Path objects: a large site has thousands of files
        kind = _kind(name)
        if kind is None:
            continue
        path = os.path.join(root_dir, name)
        try:
            if kind == "store" and not name.endswith(".json"):
                store = os.path.realpath(os.path.join(root_dir, "images"))  # (which may be a link itself)
                problem = (outside_problem(store, path, name) if name in linked else None) or kind_problem(path, name)
                if problem is not None:
                    raise error_of(name)(problem)
                st = os.stat(path)
                hashes[kind] += [name, f"{st.st_size}:{st.st_mtime_ns}"]
                continue
            limit = MAX_STATIC if kind == "static" else MAX_BYTES
            # only a link, or a file reached through one, can lead out of the site
            inside = os.path.realpath(os.path.join(root_dir, "images")) if kind == "store" else root_dir
            data = read_bytes(inside if name in linked else None, path, name, limit=limit, error=error_of(name))
        except SiteError as exc:
            problems.extend((name, p) for p in exc.problems)
            hashes[kind] += [name, "refused"]
            continue
        if kind == "content" and name.endswith(".md"):
            fp.sources[name] = data
            fp.files[name] = digest(data)
            hashes[kind] += [name, fp.files[name]]
        else:
            hashes[kind] += [name, data]
    hashes["config"].append(extra_config)
    fp.kinds = {kind: digest(*parts) for kind, parts in hashes.items()}
    fp.kinds["engine"] = engine_digest()
    return fp


def error_of(name: str):
    """The SiteError family of a file of the site, by its kind."""
    from zimage_site import errors

    kind = _kind(name) or ("content" if name.startswith("content/") else None)
    return {"config": errors.ConfigError, "content": errors.ContentError, "data": errors.ContentError,
            "static": errors.ContentError, "glossary": errors.ConfigError, "strings": errors.TemplateError, "templates": errors.TemplateError,
            "manifest": errors.ImageError, "store": errors.ImageError}.get(kind or "", errors.SiteError)
