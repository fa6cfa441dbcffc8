"""Watching the sources with watchfiles (the Rust notify crate: inotify on Linux, FSEvents on macOS,
ReadDirectoryChangesW on Windows).

Two watchers run in background threads: one recursive, on the source folders (content/, templates/,
static/, images/), and one not recursive, on the site folder itself, which sees site.yaml (editors
replace it by renaming, which a watch on the file itself would lose) and a source folder that
appears later: the watches are then planned again. A folder that cannot be read is reported and
left out, and the folders around it are watched on their own (see `plan`). Each batch of changed
paths goes to `on_change`, from the watcher's thread.

watchfiles groups events: it hands over a batch once a step (`STEP_MS`) passed without new events.
The preview then waits for the rest of its quiet period (`--debounce-ms`) before building, so the
step is kept short: it is the granularity of the quiet period, not an extra delay.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

WATCHED = ("site.yaml", "content", "templates", "static", "images")  # relative to the site root
STEP_MS = 5            # watchfiles hands over a batch after this long without a new event
MAX_GROUP_MS = 1000    # ... or after this long, when events keep coming
SHALLOW_STEP_MS = 25   # the same for the site folder's own watch (site.yaml: a full build anyway)


def ignored(name: str) -> bool:
    """Hidden files and the temporary files of editors and of the image store."""
    return (name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp", ".part"))
            or name == "4913")


def is_source(root: Path, path: str) -> bool:
    """A watched source file or folder: under one of WATCHED, no part of its path ignored."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return False
    return bool(parts) and parts[0] in WATCHED and not any(ignored(p) for p in parts)


def source_folders(root: Path) -> list[Path]:
    return [root / name for name in WATCHED if (root / name).is_dir()]


def _subfolders(folder: Path) -> list[Path] | None:
    """The folders in `folder` (not ignored, no symlinks), or None when it cannot be listed."""
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except PermissionError:
        return None
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            if not ignored(entry.name) and entry.is_dir(follow_symlinks=False):
                found.append(Path(entry.path))
        except OSError:
            continue
    return found


@dataclass
class Plan:
    """What to watch: `deep` folders recursively; `shallow` ones (the site folder, and the folders
    on the way to an unreadable one) only for what they hold directly; `unreadable` not at all.
    A recursive watch over a folder that cannot be read would see nothing at all, so the readable
    parts around it are watched on their own."""

    deep: list[Path] = field(default_factory=list)
    shallow: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)


def plan(root: Path) -> Plan:
    result = Plan(shallow=[root])
    blocked: set[Path] = set()  # the folders that hold an unreadable folder, at any depth

    def walk(folder: Path) -> None:
        children = _subfolders(folder)
        if children is None:
            result.unreadable.append(folder)
            blocked.update(p for p in folder.parents if p == root or root in p.parents)
            return
        for child in children:
            walk(child)

    def place(folder: Path) -> None:
        if folder in result.unreadable:
            return
        if folder not in blocked:
            result.deep.append(folder)
            return
        result.shallow.append(folder)
        for child in _subfolders(folder) or []:
            place(child)

    folders = source_folders(root)
    for folder in folders:
        walk(folder)
    for folder in folders:
        place(folder)
    return result


def unreadable_folders(root: Path) -> list[Path]:
    """Source folders (or folders inside them) that cannot be listed: changes in them go unseen."""
    return plan(root).unreadable


class Watcher:
    """Calls `on_change(paths)` with every batch of changed source paths, and `on_unreadable(folder)`
    once for each source folder it cannot read, until `stop()`."""

    def __init__(self, root: Path, on_change: Callable[[set[str]], None],
                 on_unreadable: Callable[[Path], None] | None = None, step_ms: int = STEP_MS) -> None:
        self.root = Path(os.path.abspath(root))
        self.on_change = on_change
        self.on_unreadable = on_unreadable
        self.step_ms = step_ms
        self.plan = Plan()
        self._stopped = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._reported: set[Path] = set()

    def start(self) -> None:
        """Plan the watches and start them (again: the previous ones end)."""
        with self._lock:
            if self._stopped:
                return
            self._stop.set()
            self._stop = stop = threading.Event()
            self.plan = plan(self.root)
            for folder in self.plan.unreadable:
                if folder not in self._reported and self.on_unreadable is not None:
                    self._reported.add(folder)
                    self.on_unreadable(folder)
            self._threads = [t for t in self._threads if t.is_alive()]
            for folders, recursive in ((self.plan.shallow, False), (self.plan.deep, True)):
                if folders:
                    thread = threading.Thread(target=self._watch, args=(list(folders), stop, recursive,
                                                                        self.step_ms if recursive else SHALLOW_STEP_MS),
                                              name="zimage-site-watch", daemon=True)
                    self._threads.append(thread)
                    thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._stop.set()
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def _watch(self, folders: list[Path], stop: threading.Event, recursive: bool, step_ms: int) -> None:
        import watchfiles

        root = self.root
        try:
            for batch in watchfiles.watch(*folders, watch_filter=lambda _change, path: is_source(root, path),
                                          debounce=MAX_GROUP_MS, step=step_ms, stop_event=stop,
                                          recursive=recursive, raise_interrupt=False,
                                          ignore_permission_denied=True):
                if stop.is_set():
                    return
                paths = {path for _change, path in batch}
                # in a folder watched for what it holds directly, a folder came or went: plan again
                replan = not recursive and any(not os.path.isfile(p) and Path(p).name != "site.yaml" for p in paths)
                self.on_change(paths)
                if replan:
                    self.start()
                    return
        except Exception:  # noqa: BLE001  a watched folder went away: its parent's watch plans again
            return
