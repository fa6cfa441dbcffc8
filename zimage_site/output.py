"""Writing the site atomically: render into a folder beside the output, then swap it in.

A failed build removes its folder and leaves the previous output untouched; a successful one
replaces the output whole, so files that no longer exist in the source disappear.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from zimage_site.errors import Problem, SiteError


BUILD_MARK = ".nojekyll"  # every build writes it: a folder holding it is a previous build


def check_output_dir(out: Path, root: Path) -> None:
    """Refuse an output folder whose replacement would destroy sources or anything not a build."""
    out_r, root_r = out.resolve(), root.resolve()
    fix = "choose a new or empty folder for the output, e.g. --out build"
    if out_r == root_r or out_r in root_r.parents:
        raise SiteError(Problem(f"the output folder {out} is the site folder or contains it", file=str(out), fix=fix))
    for name in ("content", "templates", "static", "images"):
        src = (root_r / name)
        if out_r == src or src in out_r.parents:
            raise SiteError(Problem(f"the output folder {out} is inside the sources ({name}/)", file=str(out),
                                    fix="choose a folder outside content/, templates/, static/ and images/"))
    if out_r.exists() and not out_r.is_dir():
        raise SiteError(Problem(f"the output {out} is a file, not a folder", file=str(out), fix=fix))
    own = out_r == root_r / "build"  # the site's own output folder (ignored by git; pip may leave files there)
    if not own and out_r.is_dir() and any(out_r.iterdir()) and not (out_r / BUILD_MARK).exists():
        raise SiteError(Problem(
            f"the output folder {out} holds files that are not a zimage-site build; a build replaces the "
            "whole folder", file=str(out), fix=fix + ", or remove the folder first"))


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """Yield an empty folder beside `out`; on success swap it in place of `out`."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=out.parent))
    except OSError as exc:
        raise SiteError(Problem(f"cannot write beside the output folder: {exc.strerror}", file=str(out),
                                fix="choose an output folder in a writable place")) from None
    try:
        yield tmp
        swap_in(tmp, out)
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
    two renames, and the previous output is put back if the second one fails."""
    os.chmod(new, 0o755)
    if not out.exists():
        os.replace(new, out)
        return
    if _exchange(new, out):  # `new` now holds the previous output
        shutil.rmtree(new, ignore_errors=True)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
    os.rmdir(old)
    os.replace(out, old)
    try:
        os.replace(new, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def list_files(folder: Path) -> set[str]:
    """Every file under `folder`, as paths relative to it (with / separators)."""
    folder = Path(folder)
    found = set()
    for parent, _dirs, files in os.walk(folder):
        rel_parent = Path(parent).relative_to(folder)
        found.update((rel_parent / name).as_posix() for name in files)
    return found


def link_files(src: Path, dst: Path, names: set[str] | list[str]) -> None:
    """Bring files of a previous output into a new one: hard links where the file system allows them
    (instant; the files are never written in place, so both outputs stay intact), copies otherwise."""
    made: set[Path] = set()
    for name in sorted(names):
        target = Path(dst) / name
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        try:
            os.link(Path(src) / name, target)
        except OSError:
            shutil.copy2(Path(src) / name, target)
