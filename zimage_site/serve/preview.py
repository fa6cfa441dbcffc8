"""The preview state: the site, its generations of output, when to build, and what each open page
is told after a build.

- Each build goes into a new folder ("generation") of a private work folder. The HTTP handlers
  read `current`, which changes only when a build succeeded, in one assignment: a half-written
  build is never served. An old generation is removed a little after it stopped being served.
- Builds run one at a time in a worker thread, each a full `Site.build` of the same `Site`, which
  reuses every part whose inputs did not change (the fingerprint of the inputs finds what the
  changed files feed; no list of changed files is needed). A build starts once the sources have been quiet for `quiet_seconds`; changes
  saved during a build start the next one as soon as it ends.
- A failed build keeps the last good generation for assets, and `error` for pages (the error view);
  the next good build brings the pages back. A bug in the engine becomes a one-line message; its
  traceback goes to the terminal only.
- The reload policy (`reload_paths`): a stylesheet-only change is swapped in place, a change to the
  page itself, a script or an image reloads it, anything else reloads nothing.

Everything but `build` runs on the tornado event loop.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from zimage_site.errors import Problem, SiteError, rel
from zimage_site.serve.pages import LIVE_RELOAD_SCRIPT
from zimage_site.serve.watch import STEP_MS, Watcher

QUIET_SECONDS = 0.02    # a build starts when the sources did not change for this long (default)
KEEP_OLD_SECONDS = 2.0  # an old generation is removed this long after it stopped being served


def changed_outputs(old: Path | None, new: Path) -> set[str] | None:
    """Output files (relative paths) that differ between two generations; None when there is no old one."""
    if old is None or not old.is_dir():
        return None
    from zimage_site.output import list_files

    before, after = list_files(old), list_files(new)
    changed = before ^ after
    for name in before & after:
        a, b = old / name, new / name
        sa, sb = a.stat(), b.stat()
        if sa.st_ino == sb.st_ino and sa.st_dev == sb.st_dev:
            continue  # linked from the previous build: the same file
        if sa.st_size != sb.st_size or a.read_bytes() != b.read_bytes():
            changed.add(name)
    return changed


def describe(sources: set[str] | None, root: Path) -> str:
    if sources is None:
        return "first build"
    names = sorted(rel(p, root) for p in sources)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


@dataclass
class Outcome:
    ok: bool
    out: Path | None = None
    message: str = ""             # what the page and the terminal show
    detail: str = ""              # what only the terminal shows (the traceback of an internal error)
    summary: str = ""
    seconds: float = 0.0
    changed: set[str] | None = None  # output files that changed (None: unknown, reload everything)
    base_path: str | None = None


class Preview:
    """Owns the site, its generations of output, the pending changes and the browsers to notify."""

    def __init__(self, root: Path, base_url: str | None, workdir: Path, quiet_seconds: float = QUIET_SECONDS) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from zimage_site.site import Site

        self.root = root
        self.workdir = workdir
        self.site = Site(root, base_url=base_url, strict=False, allow_placeholders=True, hash_assets=False,
                         inject_html=LIVE_RELOAD_SCRIPT)
        self.current: Path | None = None  # the generation being served
        self.error: str | None = None     # the last build's error, while it is not fixed
        self.base_path = urlsplit(base_url).path or "/" if base_url else "/"
        self.generation = 0
        self.printed: set[str] = set()
        self.quiet_seconds = quiet_seconds
        self.pending: set[str] = set()
        self.last_change = 0.0
        self.building = False
        self.watcher: Watcher | None = None
        self._check_at: float | None = None  # when the quiet period of the pending changes ends
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zimage-site-build")

    # -- building (in the worker thread)
    def build(self) -> Outcome:
        from zimage_site.cli import print_warnings

        self.generation += 1
        out = self.workdir / f"site-{self.generation}"
        start = time.perf_counter()
        try:
            result = self.site.build(out)
        except SiteError as exc:
            self._print_new_warnings(print_warnings)
            return Outcome(ok=False, message=exc.format(), seconds=time.perf_counter() - start)
        except Exception as exc:  # a bug in the engine must not stop the preview either
            import traceback

            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return Outcome(ok=False, message=f"internal error: {type(exc).__name__}: {first}".rstrip(": "),
                           detail="".join(traceback.format_exception(exc)).rstrip(),
                           seconds=time.perf_counter() - start)
        self._print_new_warnings(print_warnings)
        try:
            changed = changed_outputs(self.current, out)
        except OSError:  # cannot compare with the previous build (e.g. removed meanwhile): reload all
            changed = None
        return Outcome(ok=True, out=out, summary=result.summary().rsplit(" → ", 1)[0],
                       seconds=time.perf_counter() - start, changed=changed, base_path=self.site.config.base_path)

    def _print_new_warnings(self, print_warnings) -> None:
        fresh = [w for w in self.site.report.warnings if w.format("warning") not in self.printed]
        self.printed.update(w.format("warning") for w in fresh)
        print_warnings(fresh)

    # -- applying a build
    def apply(self, outcome: Outcome, sources: set[str] | None) -> None:
        what = describe(sources, self.root)
        if not outcome.ok:
            same = outcome.message == self.error
            self.error = outcome.message
            if outcome.detail:
                print(outcome.detail, file=sys.stderr)
            print(outcome.message, file=sys.stderr)
            print(f"  ({what}; the browser shows this error until the next good build)", file=sys.stderr, flush=True)
            if not same:
                self.notify(None)
            return
        old, recovered = self.current, self.error is not None
        self.current, self.error = outcome.out, None
        self.base_path = outcome.base_path or self.base_path
        if sources is None:
            print(outcome.summary, flush=True)
        else:
            n = len(outcome.changed or ())
            print(f"rebuilt in {outcome.seconds * 1000:.0f} ms ({what}): "
                  f"{n} output file{'s' * (n != 1)} changed", flush=True)
        self.notify(None if recovered else outcome.changed)
        if old is not None and old != self.current:
            import shutil

            from tornado.ioloop import IOLoop

            IOLoop.current().call_later(KEEP_OLD_SECONDS, self.executor.submit, shutil.rmtree, old, True)

    # -- the reload policy
    def notify(self, changed: set[str] | None) -> None:
        """Tell each open page what to do: reload, swap stylesheets, or nothing."""
        from livereload.handlers import LiveReloadHandler

        for waiter in list(LiveReloadHandler.waiters):
            for path in self.reload_paths(getattr(waiter, "page_path", None), changed):
                waiter.send_message({"command": "reload", "path": path, "liveCSS": True, "liveImg": False})

    def reload_paths(self, page_path: str | None, changed: set[str] | None) -> list[str]:
        if changed is None:
            return ["/"]
        if not changed:
            return []
        page = self.output_file(page_path) if page_path else None
        css = sorted(name for name in changed if name.endswith(".css"))
        others = changed - set(css) - {n for n in changed if n.endswith(".html") and n != page}
        if page is None or page in changed or others - {"sitemap.xml", "robots.txt"}:
            return ["/"]  # not a stylesheet: livereload.js reloads the page
        return [self.base_path + name for name in css]

    def output_file(self, url_path: str) -> str | None:
        """The output file a URL path shows (e.g. "en/index.html"), or None."""
        if not url_path.startswith(self.base_path):
            return None
        rel_path = url_path[len(self.base_path):]
        return rel_path + "index.html" if rel_path == "" or rel_path.endswith("/") else rel_path

    # -- changes: from the watcher to a build
    def start_watching(self) -> Watcher:
        from tornado.ioloop import IOLoop

        loop = IOLoop.current()
        self.watcher = Watcher(self.root, lambda paths: loop.add_callback(self.changed, paths),
                               on_unreadable=self.warn_unreadable)
        self.watcher.start()
        return self.watcher

    def warn_unreadable(self, folder: Path) -> None:
        shown = rel(folder, self.root)
        print(Problem("serve cannot read this folder, so changes in it are not seen", file=shown,
                      fix=f"make it readable (chmod u+rx {shown}) or move it out of the site folder")
              .format("warning"), file=sys.stderr, flush=True)

    def stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def changed(self, paths: set[str]) -> None:
        """Sources changed (a batch handed over by the watcher `STEP_MS` after its last event)."""
        self.pending |= paths
        self.last_change = time.monotonic() - STEP_MS / 1000
        self._schedule(self.quiet_seconds - STEP_MS / 1000)

    def _schedule(self, delay: float) -> None:
        from tornado.ioloop import IOLoop

        delay = max(0.0, delay)
        at = time.monotonic() + delay
        if self._check_at is None or at > self._check_at:
            self._check_at = at
            IOLoop.current().call_later(delay, self._due)

    def _due(self) -> None:
        if self._check_at is not None and time.monotonic() >= self._check_at - 0.0005:
            self._check_at = None
            self.build_pending()

    def build_pending(self) -> None:
        """Start a build of the pending changes, unless one is running or the sources are not quiet yet."""
        if self.building or not self.pending:
            return  # the end of the running build calls this again
        wait = self.last_change + self.quiet_seconds - time.monotonic()
        if wait > 0.0005:
            self._schedule(wait)
            return
        from tornado.ioloop import IOLoop

        sources, self.pending = self.pending, set()
        self.building = True
        future = IOLoop.current().run_in_executor(self.executor, self.build)
        future.add_done_callback(lambda f: IOLoop.current().add_callback(self._built, f, sources))

    def _built(self, future, sources: set[str]) -> None:
        self.building = False
        self.apply(future.result(), sources)
        self.build_pending()  # changes saved during the build start the next one
