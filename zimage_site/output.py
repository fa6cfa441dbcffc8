"""Writing the site atomically: render into a folder beside the output, then swap it in.

A failed build removes its folder and leaves the previous output untouched; a successful one
replaces the output whole, so files that no longer exist in the source disappear.

- The output given as a symbolic link is followed: the build goes where the link points.
- Every build writes `.zimage-site-build.json` (the marker: the list of files it wrote). Only a
  folder holding it is a previous build, and only files it lists are replaced: a previous build
  that also holds a file the build did not write (a `CNAME`, notes) is refused, never wiped. The
  site's own `build/` is the exception: it always belongs to the generator (`pip install .` also
  puts its `lib/` and `bdist.*/` there), and is replaced whole.
- A folder that cannot be renamed (a mount point: a container volume, EBUSY/EXDEV) has its
  contents replaced instead: the new site is staged inside it and swapped in entry by entry,
  and a failure puts the previous contents back.
- A full disk (ENOSPC, EDQUOT, EFBIG) is a clear error, and the previous output stays whole.
- The staging folders of interrupted builds (`.build-new-<pid>-…`, `.build-old-<pid>-…`) are
  removed by the next build once their process is gone.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from zimage_site.errors import ConfigError, Problem


MARKER = ".zimage-site-build.json"  # every build writes it: a folder holding it is a previous build
LAYOUT = ".zimage-site"  # in an output that is a mount point: its builds, and `current`, the one shown
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def resolve_out(out: Path) -> Path:
    """The output folder the build writes: a symbolic link is followed to where it points."""
    return Path(os.path.realpath(out))


def _staging_re(name: str) -> re.Pattern:
    return re.compile(r"\.%s-(?:new|old)-(?:(\d+)-)?" % re.escape(name))


def _is_staging(entry: str, name: str) -> bool:
    return bool(_staging_re(name).match(entry))


def read_marker(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("files"), list):
        return data
    return None


def check_output_dir(out: Path, root: Path) -> None:
    """Refuse an output folder whose replacement would destroy sources or anything not a build."""
    out_r, root_r = resolve_out(out), root.resolve()
    fix = "choose a new or empty folder for the output, e.g. --out build"
    if out_r == root_r or out_r in root_r.parents:
        raise ConfigError(Problem(f"the output folder {out} is the site folder or contains it", file=str(out), fix=fix))
    for name in ("content", "templates", "static", "images"):
        src = (root_r / name)
        if out_r == src or src in out_r.parents:
            raise ConfigError(Problem(f"the output folder {out} is inside the sources ({name}/)", file=str(out),
                                      fix="choose a folder outside content/, templates/, static/ and images/"))
    if out_r.exists() and not out_r.is_dir():
        raise ConfigError(Problem(f"the output {out} is a file, not a folder", file=str(out), fix=fix))
    if not out_r.is_dir():
        return
    if out_r == root_r / "build":  # the site's own output folder: always the generator's (pip leaves files there)
        return
    entries = [e for e in os.listdir(out_r) if not _is_staging(e, out_r.name)]
    if not entries:
        return
    marker = read_marker(out_r)
    if marker is None:
        if _interrupted_swap(out_r):
            return
        raise ConfigError(Problem(
            f"the output folder {out} holds files that are not a zimage-site build (it has no {MARKER}); "
            "a build replaces the whole folder", file=str(out), fix=fix + ", or remove the folder first"))
    written = set(marker["files"]) | {MARKER}
    extra = sorted(f for f in output_files(out_r) if f not in written)
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        raise ConfigError(Problem(
            f"the output folder {out} is a previous build, but also holds files the build did not write: "
            f"{shown}; a build replaces the whole folder, so they would be lost", file=str(out),
            fix="move them out of the output folder (GitHub Pages: set a custom domain in the repository "
                "settings rather than with a CNAME file), or choose another --out"))


def _interrupted_swap(out: Path) -> bool:
    """True when a build was killed while it replaced the contents of this folder (its
    `.NAME-old-PID-…` folder is still inside): the folder is a build, half swapped."""
    pattern = _staging_re(out.name)
    return any((m := pattern.match(e)) and "-old-" in e for e in os.listdir(out))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_leftovers(out: Path) -> list[Path]:
    """Remove the staging folders that interrupted builds left beside (or inside) `out`: those
    whose process is gone, and unnumbered ones of older versions after an hour."""
    pattern = _staging_re(out.name)
    removed = []
    shown = os.readlink(out / LAYOUT / "current") if os.path.islink(out / LAYOUT / "current") else None
    for folder in (out.parent, out, out / LAYOUT):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            m = pattern.match(name)
            if not m or name == shown:
                continue
            path = folder / name
            if m.group(1) is not None:
                stale = not _pid_alive(int(m.group(1)))
            else:
                try:
                    stale = time.time() - path.lstat().st_mtime > 3600
                except OSError:
                    continue
            if stale and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def write_marker(folder: Path) -> None:
    from zimage_site import __version__

    files = sorted(list_files(folder) - {MARKER})
    (folder / MARKER).write_text(json.dumps({"generator": "zimage-site", "version": __version__, "files": files},
                                            indent=0) + "\n", encoding="utf-8")


def write_problem(exc: OSError, out: Path, *, output: bool = True) -> Problem | None:
    """A Problem for an OSError of the machine (a full disk, a read-only or forbidden folder) met
    while writing the output (`output`) or elsewhere; None for any other error."""
    if exc.errno in _FULL:
        return Problem(f"the disk is full: {exc.strerror}", file=str(out),
                       fix="free some space on that disk" + (", or choose another --out" if output else ""))
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = "cannot write the output" if output else "cannot use this file"
        return Problem(f"{what}: {exc.strerror}" + (f" ({exc.filename})" if exc.filename and output else ""),
                       file=str(out), fix="choose an output folder in a writable place" if output
                       else "check the permissions of the file and its folder")
    return None


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """Yield an empty folder beside `out` (inside it when `out` is a mount point); on success
    write the marker and swap the new site in place of `out`."""
    target = resolve_out(out)
    # a mount point cannot be renamed: its builds live inside it (see _swap_by_link)
    parent = target / LAYOUT if is_mount(target) else target.parent
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(target)
        parent.mkdir(exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise ConfigError(Problem(f"cannot write beside the output folder: {exc.strerror}", file=str(out),
                                  fix="choose an output folder in a writable place")) from exc
    try:
        try:
            yield tmp
            write_marker(tmp)
            swap_in(tmp, target)
        except OSError as exc:
            problem = write_problem(exc, out)
            if problem is None:
                raise
            raise ConfigError(problem) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(new: Path, out: Path) -> None:
    """Put `new` in place of `out`. With an atomic exchange, `out` never stops existing; otherwise
    two renames, and the previous output is put back if the second one fails. A folder that
    cannot be renamed (a mount point) has its contents replaced instead."""
    os.chmod(new, 0o755)
    if new.parent == out / LAYOUT:
        if not _swap_by_link(new, out):
            _replace_contents(new, out)
        return
    if new.parent == out or is_mount(out):
        _replace_contents(new, out)
        return
    if not out.exists():
        os.replace(new, out)
        return
    try:
        if _exchange(new, out):  # `new` now holds the previous output
            shutil.rmtree(new, ignore_errors=True)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-{os.getpid()}-", dir=out.parent))
        os.rmdir(old)
        os.replace(out, old)
    except OSError as exc:
        if exc.errno not in (errno.EBUSY, errno.EXDEV, errno.EPERM):
            raise
        _replace_contents(new, out)
        return
    try:
        os.replace(new, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def is_mount(path: Path) -> bool:
    """True when `path` is a mount point: os.path.ismount, or (Linux) listed in
    /proc/self/mountinfo, which also knows a folder bound onto another of the same file system
    (a container volume), where os.path.ismount sees nothing."""
    if os.path.ismount(path):
        return True
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            points = {re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
                      for line in f if len(line.split()) > 4}
    except OSError:
        return False
    return os.path.realpath(path) in points


def _layout_link(name: str) -> str:
    return f"{LAYOUT}/current/{name}"


def is_layout(out: Path) -> bool:
    """True when `out` (a mount point) holds its builds in LAYOUT, reached through links."""
    return os.path.islink(out / LAYOUT / "current")


def _swap_by_link(new: Path, out: Path) -> bool:
    """Put the build `new` (in out/LAYOUT/) in place in a folder that cannot be renamed, in one
    atomic step. The folder's entries are symbolic links into `LAYOUT/current/`, and `current`
    is a link to the build shown: replacing that one link (a rename) switches every entry at once,
    so a reader, or a build killed at any moment, sees the previous site or the new one, whole
    (a link to a name the shown build lacks leads nowhere, as if absent). The first build in a
    folder of plain entries first copies them (hard links) into LAYOUT and exchanges each entry
    for its link (renameat2 RENAME_EXCHANGE, atomic): the site shown never changes meanwhile.
    False where the exchange is not supported (the caller replaces the entries one by one)."""
    store = out / LAYOUT
    current = store / "current"
    pid = os.getpid()
    names = sorted(os.listdir(new))
    plain = [n for n in os.listdir(out) if n != LAYOUT and not _is_staging(n, out.name)
             and not (os.path.islink(out / n) and os.readlink(out / n) == _layout_link(n))]
    if plain:  # the first build in this layout (or entries put there by hand)
        if not os.path.islink(current):
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-{pid}-", dir=store))
            for name in plain:
                source = out / name
                if source.is_dir() and not source.is_symlink():
                    shutil.copytree(source, old / name, symlinks=True, copy_function=_link_or_copy)
                else:
                    _link_or_copy(source, old / name)
            _point(current, old.name)
        for name in plain:
            link = out / f".{name}.link-{pid}"
            os.symlink(_layout_link(name), link)
            try:
                if not _exchange(link, out / name):
                    os.unlink(link)
                    return False
            except OSError:
                os.unlink(link)
                raise
            if link.is_dir() and not link.is_symlink():  # `link` now holds the plain entry
                shutil.rmtree(link)
            else:
                link.unlink()
    for name in names:  # links for the names of the new build (leading nowhere until the switch)
        if not os.path.islink(out / name):
            link = out / f".{name}.link-{pid}"
            os.symlink(_layout_link(name), link)
            os.replace(link, out / name)
    previous = os.readlink(current) if os.path.islink(current) else None
    _point(current, new.name)  # the switch
    keep = set(names)
    for name in os.listdir(out):  # links of names the new build lacks
        if name not in keep and os.path.islink(out / name) and os.readlink(out / name) == _layout_link(name):
            os.unlink(out / name)
    if previous and previous != new.name:
        shutil.rmtree(store / previous, ignore_errors=True)
    return True


def _point(link: Path, target: str) -> None:
    """Make `link` a symbolic link to `target` in one step (a new link renamed over it)."""
    tmp = link.with_name(f".{link.name}-{os.getpid()}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _link_or_copy(src, dst) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _move(src: Path, dst: Path) -> None:
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(src, dst)  # another file system: copy, then remove


def _replace_contents(new: Path, out: Path) -> None:
    """Replace what `out` holds by what `new` holds, entry by entry, for a folder that cannot be
    renamed. The previous entries are moved aside first (inside `out`, so on its file system) and
    put back if anything fails."""
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-{os.getpid()}-", dir=out))
    moved_out: list[str] = []
    moved_in: list[str] = []
    try:
        for name in sorted(os.listdir(out)):
            if name in (old.name, new.name) or _is_staging(name, out.name):
                continue
            os.rename(out / name, old / name)
            moved_out.append(name)
        names = sorted(os.listdir(new))
        names.sort(key=lambda n: n == MARKER)  # the marker last: it says the swap is complete
        for name in names:
            _move(new / name, out / name)
            moved_in.append(name)
    except BaseException:
        for name in moved_in:
            path = out / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        for name in moved_out:
            os.rename(old / name, out / name)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(new, ignore_errors=True)


def list_files(folder: Path, skip=None) -> set[str]:
    """Every file under `folder`, as paths relative to it (with / separators). `skip(name)` leaves
    out top-level entries."""
    folder = Path(folder)
    found = set()
    for parent, dirs, files in os.walk(folder):
        rel_parent = Path(parent).relative_to(folder)
        if skip is not None and rel_parent == Path("."):
            dirs[:] = [d for d in dirs if not skip(d)]
            files = [f for f in files if not skip(f)]
        found.update((rel_parent / name).as_posix() for name in files)
    return found


def output_files(out: Path) -> set[str]:
    """The files a previous output shows, as paths relative to it: its own files, and for an
    output in the link layout (a mount point, see _swap_by_link) those of the build it shows."""
    found = list_files(out, skip=lambda top: _is_staging(top, out.name) or top == LAYOUT)
    for name in os.listdir(out):
        path = out / name
        if os.path.islink(path) and os.readlink(path) == _layout_link(name):
            if not os.path.exists(path):  # a name the build shown lacks (a switch was interrupted)
                found.discard(name)
            elif path.is_dir():
                found.update(f"{name}/{f}" for f in list_files(path))
    return found
