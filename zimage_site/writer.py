"""The one writer of the output folder.

Every file of a build reaches the output through a `Writer`: the pages (text), and the assets and
image variants (files made in `.cache/`, hard-linked where the file system allows, copied
otherwise; cache files are replaced, never written in place, so a link keeps its bytes). The
writer fills a folder beside the output and swaps it in whole (`output.staging`), so a failed
build leaves the previous output untouched and files whose source is gone disappear.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from zimage_site.errors import Problem, SiteError
from zimage_site.output import check_output_dir, staging


@dataclass(frozen=True)
class OutputFile:
    """A file to publish: its path under the output folder, and the file whose bytes it has."""

    path: str
    source: Path


class Writer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._dirs: set[Path] = set()
        self.written: set[str] = set()

    def _target(self, path: str) -> Path:
        if path in self.written:
            raise SiteError(Problem(f"two parts of the build write {path}", file=path,
                                    fix="give the files different names"))
        self.written.add(path)
        target = self.folder / path
        if target.parent not in self._dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(target.parent)
        return target

    def text(self, path: str, text: str) -> None:
        self._target(path).write_text(text, encoding="utf-8")

    def files(self, files: Iterable[OutputFile]) -> None:
        for item in files:
            target = self._target(item.path)
            try:
                os.link(item.source, target)
            except OSError:
                shutil.copyfile(item.source, target)


@contextmanager
def writing(out: Path, root: Path) -> Iterator[Writer]:
    """A Writer into a new folder that replaces `out` when the block ends without an error."""
    check_output_dir(out, root)
    with staging(out) as tmp:
        yield Writer(tmp)
