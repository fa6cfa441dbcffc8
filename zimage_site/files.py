"""Reading the site's files: the one place that opens them, and lists their folders.

Everything the build reads from the site folder comes through here, so each rule holds for
every input at once (sections, site.yaml, data, the manifest, UI strings, templates, static
files, sidecars):

- **Only regular files are opened.** A pipe (FIFO), socket or device (a link to `/dev/zero`)
  is refused from its `stat`, before any `open`; the open itself is non-blocking and the file
  is checked again through its descriptor, so a file swapped for a pipe in between cannot
  block either. A folder, a broken link or a link loop where a file is expected is refused too.
- **Sizes are capped** (`MAX_BYTES`): a text input larger than that is refused, never read.
- **Nothing outside the site folder.** A file or folder that is (or sits behind) a symbolic
  link resolving outside `root` is refused: the build would otherwise publish it.
- **Unreadable files and folders are errors** naming the path (never skipped in silence).
- **File names must be UTF-8**: a name that is not is refused with its bytes escaped.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from zimage_site.errors import Problem, SiteError

MAX_BYTES = 16 << 20   # a text input (YAML, Markdown, a template, a stylesheet): 16 MiB
MAX_STATIC = 256 << 20  # a file copied as it is from static/


def shown_name(name: str | os.PathLike) -> str:
    """A path as text that can always be printed on one line: bytes that are not UTF-8, and
    control characters (a newline in a file name), are written \\xNN."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", lambda m: f"\\x{ord(m.group()):02x}", text)


def name_problem(shown: str, raw: str) -> Problem | None:
    """A problem when the name `raw` (as os.listdir gave it) is not valid UTF-8."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return Problem("the file name is not UTF-8 text", file=shown_name(shown),
                       fix="rename the file with a UTF-8 name (e.g. with `mv` in a UTF-8 terminal)")
    return None


def _inside(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def outside_problem(root: Path | str, path: Path | str, shown: str) -> Problem | None:
    """A problem when `path` (a file or folder of the site) resolves outside the site folder."""
    real = os.path.realpath(path)
    if _inside(real, os.path.realpath(root)):
        return None
    target = os.readlink(path) if os.path.islink(path) else real
    return Problem(f"a symbolic link to {shown_name(target)!r}, outside the site folder: the build reads only "
                   "files under the site folder, and publishes what it reads from static/", file=shown_name(shown),
                   fix="copy the file or folder into the site instead of linking to it, or remove the link")


def kind_problem(path: Path | str, shown: str, expected: str = "file") -> Problem | None:
    """A problem when `path` is not a regular file: a folder, a pipe, a device, a broken link, a
    link loop, a file that does not exist or cannot be seen."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return _os_problem(exc, path, shown)
    if stat.S_ISREG(st.st_mode):
        return None
    what = ("a folder" if stat.S_ISDIR(st.st_mode) else "a pipe (FIFO)" if stat.S_ISFIFO(st.st_mode)
            else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "not a regular file")
    return Problem(f"{what} where a {expected} is expected: the build opens only regular files "
                   "(reading a pipe or a device would wait forever or never end)",
                   file=shown_name(shown), fix=f"replace it by a regular {expected}, or remove it")


def _os_problem(exc: OSError, path: Path | str, shown: str) -> Problem:
    shown = shown_name(shown)
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return Problem(f"a broken symbolic link (to {shown_name(os.readlink(path))!r})", file=shown,
                           fix="point the link at an existing file of the site, or remove it")
        return Problem("the file does not exist", file=shown, fix=f"create {shown}")
    if exc.errno == errno.ELOOP:
        return Problem("a loop of symbolic links (the link leads back to itself)", file=shown,
                       fix="replace the link by the file it should point at, or remove it")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Problem(f"cannot be read: {exc.strerror}", file=shown,
                       fix="make it readable (chmod u+r for a file, u+rx for a folder), or remove it")
    if exc.errno == errno.ENOTDIR:
        return Problem("a part of this path is a file, not a folder", file=shown, fix="correct the path")
    if exc.errno == errno.ENAMETOOLONG:
        return Problem("the path is too long", file=shown, fix="use a shorter name")
    return Problem(f"cannot be read: {exc.strerror or exc}", file=shown, fix="check the file and its folder")


def read_bytes(root: Path | str | None, path: Path | str, shown: str, *, limit: int = MAX_BYTES,
               error: type[SiteError] = SiteError) -> bytes:
    """The bytes of one input file of the site, by the rules above; `shown` names it in errors.
    (`root` None: a file outside any site, e.g. of the built output; no check of where it leads.)"""
    problem = (outside_problem(root, path, shown) if root is not None else None) or kind_problem(path, shown)
    if problem is None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise error(_os_problem(exc, path, shown)) from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):  # swapped since the stat above
                problem = kind_problem(path, shown) or Problem("not a regular file", file=shown_name(shown),
                                                               fix="replace it by a regular file")
            elif st.st_size > limit:
                problem = _too_large(shown, limit)
            else:
                chunks, total = [], 0
                while True:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > limit:  # grew while read
                        problem = _too_large(shown, limit)
                        break
                    chunks.append(chunk)
                if problem is None:
                    return b"".join(chunks)
        except OSError as exc:
            raise error(_os_problem(exc, path, shown)) from exc
        finally:
            os.close(fd)
    raise error(problem)


def _too_large(shown: str, limit: int) -> Problem:
    return Problem(f"the file is larger than {limit >> 20} MiB, the most the build reads of one input",
                   file=shown_name(shown), fix="split it, or check that it is the file you meant")


def check_folder(root: Path | str, folder: Path | str, shown: str, error: type[SiteError] = SiteError) -> bool:
    """True when `folder` is a folder the build may list; False when it does not exist. A link
    out of the site, a file or pipe where the folder belongs, or an unreadable folder is an error."""
    if not os.path.lexists(folder):
        return False
    problem = outside_problem(root, folder, shown)
    if problem is None:
        try:
            st = os.stat(folder)
        except OSError as exc:
            problem = _os_problem(exc, folder, shown)
        else:
            if not stat.S_ISDIR(st.st_mode):
                problem = kind_problem(folder, shown, "folder") or Problem(
                    "a file where a folder is expected", file=shown_name(shown), fix="replace it by a folder")
            elif not os.access(folder, os.R_OK | os.X_OK):
                problem = _os_problem(PermissionError(errno.EACCES, "Permission denied"), folder, shown)
    if problem is not None:
        raise error(problem)
    return True


def walk(root: Path | str, folder: str, problems: list[tuple[str, Problem]],
         linked: set[str] | None = None, anywhere: bool = False) -> list[str]:
    """The files under root/folder (hidden ones left out), as paths relative to root in POSIX
    form, in a fixed order: each folder's files by name, then its subfolders by name. Links to
    folders are followed when they stay inside the site; every rule above applies to what is
    listed (the files themselves are checked when read). What cannot be listed is added to
    `problems` as (path relative to root, Problem) and left out. `anywhere`: the folder itself
    may be a link out of the site (the links to folders inside it must stay inside it)."""
    root_s = os.fspath(root)
    top = os.path.join(root_s, folder)
    try:  # (`anywhere`: the folder is checked against itself, not against the site)
        if not check_folder(os.path.realpath(top) if anywhere else root_s, top, folder):
            return []
    except SiteError as exc:
        problems.extend((folder, p) for p in exc.problems)
        return []
    found: list[str] = []
    seen: set[tuple[int, int]] = set()

    def visit(path: str, rel: str, through_link: bool) -> None:
        st = os.stat(path)
        if (st.st_dev, st.st_ino) in seen:  # a link to a folder already listed (a loop)
            return
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            problems.append((rel, _os_problem(exc, path, rel)))
            return
        dirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            sub = f"{rel}/{entry.name}"
            bad = name_problem(sub, entry.name)
            if bad is not None:
                problems.append((sub, bad))
                continue
            try:
                is_dir = entry.is_dir()  # follows links
            except OSError:
                is_dir = False
            if is_dir:
                if entry.is_symlink():
                    try:
                        check_folder(os.path.realpath(top) if anywhere else root_s, entry.path, sub)
                    except SiteError as exc:
                        problems.extend((sub, p) for p in exc.problems)
                        continue
                elif not os.access(entry.path, os.R_OK | os.X_OK):
                    problems.append((sub, _os_problem(PermissionError(errno.EACCES, "Permission denied"), entry.path, sub)))
                    continue
                dirs.append((entry.path, sub, through_link or entry.is_symlink()))
            else:
                found.append(sub)
                if linked is not None and (through_link or entry.is_symlink()):
                    linked.add(sub)  # (only these can lead out of the site: the others are checked cheaply)
        for path_, sub, via in dirs:
            visit(path_, sub, via)

    visit(top, folder.rstrip("/"), os.path.islink(top) and not anywhere)
    return found
