"""Writing the site atomically: render into a folder beside the output, then swap it in.

A failed build removes its folder and leaves the previous output untouched; a successful one
replaces the output whole, so files that no longer exist in the source disappear.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from zimage_site.errors import Problem, SiteError


def check_output_dir(out: Path, root: Path) -> None:
    """Refuse an output folder whose replacement would destroy sources."""
    out_r, root_r = out.resolve(), root.resolve()
    if out_r == root_r or out_r in root_r.parents:
        raise SiteError(Problem(f"the output folder {out} is the site folder or contains it", file=str(out),
                                fix="choose a folder of its own for the output, e.g. --out build"))
    for name in ("content", "templates", "static", "images"):
        src = (root_r / name)
        if out_r == src or src in out_r.parents:
            raise SiteError(Problem(f"the output folder {out} is inside the sources ({name}/)", file=str(out),
                                    fix="choose a folder outside content/, templates/, static/ and images/"))
    if (out_r / "site.yaml").exists():
        raise SiteError(Problem(f"the output folder {out} holds a site.yaml: it looks like a site, not a build",
                                file=str(out), fix="choose another --out"))


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """Yield an empty folder beside `out`; on success swap it in place of `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, out)


def swap_in(new: Path, out: Path) -> None:
    os.chmod(new, 0o755)
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
        os.rmdir(old)
        os.replace(out, old)
    os.replace(new, out)
    if old is not None:
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
