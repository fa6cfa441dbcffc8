"""`zimage-site serve`: a live preview that rebuilds on save and reloads the browser.

How it works (docs/serve.md tells the user's side):

- The site is built into a private temporary folder, one complete folder per build ("generation").
  The HTTP handler resolves every request against the current generation, which changes only
  when a build has succeeded, by swapping one reference: a half-written build is never served.
- The sources (site.yaml, content/, templates/, static/, images/) are scanned (mtime, size, inode of
  every file) when inotify reports activity in their folders (Linux), and on a timer as a fallback:
  every 25 ms without inotify, every second with it. A build starts once a scan found the sources
  quiet for 20 ms (`--debounce-ms`), so an editor's save-all is one build. Builds run in one worker thread, one at a
  time, through `Site.rebuild`, which redoes only what the changed files feed.
- The browser side is livereload's protocol: its websocket handler and its livereload.js. After a
  build, each open page is told what changed: a stylesheet path (hot-swapped in place, no reload)
  when only CSS changed, a reload when its own page or a script or an image changed, nothing
  otherwise. livereload's own Server, poller and file handler are not used: the poller checks every
  800 ms and drops reloads closer than 3 s apart, and the handler serves a fixed folder.
- A failed build keeps the server up: pages show the error (file, line, fix) with the reload script,
  the terminal prints it, and the next good build brings the page back. A bug in the engine shows
  a one-line message in the page; its traceback goes to the terminal only.
- Requests are answered only when their Host header names this server (127.0.0.1, localhost,
  [::1] or --host, with the port), so a web page cannot read the preview through DNS rebinding.

`zimage-site build` imports this module to register the subcommand: tornado, livereload and
asyncio are imported only when the server runs.
"""

from __future__ import annotations

import html
import json
import os
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from zimage_site.errors import Problem, SiteError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
WATCHED = ("site.yaml", "content", "templates", "static", "images")  # relative to the site root
POLL_SECONDS = 0.025          # how often the sources are scanned without inotify
POLL_SECONDS_INOTIFY = 1.0    # ... and with it (a safety net: inotify wakes the scanner at once)
QUIET_SECONDS = 0.02          # a build starts when the sources did not change for this long (default)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")  # Host names always answered
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
KEEP_OLD_SECONDS = 2.0  # an old generation is removed this long after it stopped being served

# Printed before </body> of every page in serve mode (never by `build`). It loads livereload.js
# from this server, and keeps the reader on the section they were reading across reloads.
LIVE_RELOAD_SCRIPT = """<script>/* zimage-site serve: live reload */
(function () {
  var s = document.createElement("script");
  s.src = "/livereload.js?port=" + (location.port || (location.protocol === "https:" ? 443 : 80));
  document.head.appendChild(s);
  var key = "zimage-site-serve:" + location.pathname;
  function anchor() {  // the first section or heading that starts in view, else the one we are in
    var above = null, els = document.querySelectorAll("main [id]");
    for (var i = 0; i < els.length; i++) {
      var r = els[i].getBoundingClientRect();
      if (!r.width && !r.height) continue;
      if (r.top >= 0) return r.top < innerHeight ? {id: els[i].id, top: r.top} : above;
      above = {id: els[i].id, top: r.top};
    }
    return above;
  }
  addEventListener("pagehide", function () {
    try { sessionStorage.setItem(key, JSON.stringify({a: anchor(), y: scrollY})); } catch (e) {}
  });
  var nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  var saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) {}
  if (!saved || !nav || nav.type !== "reload") return;
  if ("scrollRestoration" in history) history.scrollRestoration = "manual";
  // lay out the whole page (no content-visibility skipping), so that positions are exact
  var full = document.createElement("style");
  full.textContent = "* { content-visibility: visible !important; }";
  document.head.appendChild(full);
  function restore() {
    var el = saved.a && document.getElementById(saved.a.id);
    scrollTo(0, el ? el.getBoundingClientRect().top + scrollY - saved.a.top : saved.y);
  }
  restore();
  addEventListener("load", restore);
})();
</script>"""
RELOAD_ONLY_SCRIPT = LIVE_RELOAD_SCRIPT.split("  var key =")[0] + "})();\n</script>"

ERROR_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Build error · zimage-site serve</title>
<style>
  body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; background: #fff7f7; color: #1f2937; }}
  main {{ max-width: 60rem; margin: 3rem auto; padding: 0 1rem; }}
  h1 {{ color: #b91c1c; font-size: 1.4rem; }}
  pre {{ background: #111827; color: #f9fafb; padding: 1rem; border-radius: .5rem; overflow-x: auto;
         white-space: pre-wrap; font: 14px/1.5 ui-monospace, monospace; }}
</style>
</head>
<body>
<main id="zimage-site-build-error" role="alert">
<h1>{title}</h1>
<pre>{message}</pre>
<p>{hint}</p>
</main>
{script}
</body>
</html>
"""


def error_page(message: str, title: str = "The build failed",
               hint: str = "Fix it and save: this page reloads by itself.") -> str:
    return ERROR_PAGE.format(title=html.escape(title), message=html.escape(message), hint=html.escape(hint),
                             script=RELOAD_ONLY_SCRIPT)


# --------------------------------------------------------------------------- watching the sources

def _ignored(name: str) -> bool:
    """Hidden files and the temporary files of editors and of the image store."""
    return (name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp", ".part"))
            or name == "4913")


def scan(root: Path, folders: set[str] | None = None) -> dict[str, tuple[int, int, int]]:
    """{path: (mtime_ns, size, inode)} of every watched source file; the folders seen are added to
    `folders` when given."""
    found: dict[str, tuple[int, int, int]] = {}

    def walk(folder: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        if folders is not None:
            folders.add(folder)
        for entry in entries:
            if _ignored(entry.name):
                continue
            try:
                if entry.is_dir():
                    walk(entry.path)
                elif entry.is_file():
                    st = entry.stat()
                    found[entry.path] = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                continue

    for name in WATCHED:
        path = os.path.join(root, name)
        if os.path.isdir(path):
            walk(path)
        elif os.path.isfile(path):
            st = os.stat(path)
            found[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return found


class INotify:
    """Linux inotify through libc, only to wake the scanner when something happens in a watched
    folder; what changed is always decided by a scan."""

    MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800  # modify, attrib, close_write,
    # moved_from, moved_to, create, delete, delete_self, move_self

    def __init__(self) -> None:
        import ctypes

        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.watched: set[str] = set()

    def watch(self, folders: set[str]) -> None:
        for folder in folders - self.watched:
            if self._libc.inotify_add_watch(self.fd, os.fsencode(folder), self.MASK) >= 0:
                self.watched.add(folder)

    def drain(self) -> None:
        """Read the pending events; forget folders that are gone (a new scan watches them again)."""
        try:
            while True:
                data = os.read(self.fd, 65536)
                offset = 0
                while offset + 16 <= len(data):
                    _wd, mask, _cookie, length = struct.unpack_from("iIII", data, offset)
                    offset += 16 + length
                    if mask & 0x8000:  # IN_IGNORED: the watch was removed with its folder
                        self.watched = {f for f in self.watched if os.path.isdir(f)}
        except (BlockingIOError, InterruptedError):
            pass

    def close(self) -> None:
        os.close(self.fd)


def diff(old: dict, new: dict) -> set[str]:
    return {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}


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


# --------------------------------------------------------------------------- the preview state

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
    """Owns the site, its generations of output, and the browsers to notify."""

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
        self.folders: set[str] = {str(root)}
        self.snapshot = scan(root, self.folders)
        self.inotify: INotify | None = None
        self.pending: set[str] = set()
        self.last_change = 0.0
        self.quiet_seconds = quiet_seconds
        self.building = False
        self._check_at: float | None = None  # when a scan is scheduled
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zimage-site-build")

    # -- building (in the worker thread)
    def build(self, changed: set[str] | None) -> Outcome:
        from zimage_site.cli import print_warnings

        self.generation += 1
        out = self.workdir / f"site-{self.generation}"
        start = time.perf_counter()
        try:
            result = self.site.build(out) if changed is None else self.site.rebuild(out, [Path(p) for p in changed])
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
        return Outcome(ok=True, out=out, summary=result.summary().rsplit(" → ", 1)[0], seconds=time.perf_counter() - start,
                       changed=changed, base_path=self.site.config.base_path)

    def _print_new_warnings(self, print_warnings) -> None:
        fresh = [w for w in self.site.report.warnings if w.format("warning") not in self.printed]
        self.printed.update(w.format("warning") for w in fresh)
        print_warnings(fresh)

    # -- applying a build (on the event loop)
    def apply(self, outcome: Outcome, sources: set[str] | None) -> None:
        what = _describe(sources, self.root)
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
        rel = url_path[len(self.base_path):]
        return rel + "index.html" if rel == "" or rel.endswith("/") else rel

    # -- the watcher (on the event loop)
    def start_watching(self):
        from tornado.ioloop import IOLoop, PeriodicCallback

        try:
            self.inotify = INotify()
            self.inotify.watch(self.folders)
            IOLoop.current().add_handler(self.inotify.fd, self._on_inotify, IOLoop.READ)
        except (OSError, AttributeError):  # not Linux, or no inotify left: polling alone
            self.inotify = None
        poller = PeriodicCallback(self.poll, (POLL_SECONDS_INOTIFY if self.inotify else POLL_SECONDS) * 1000)
        poller.start()
        return poller

    def stop_watching(self) -> None:
        from tornado.ioloop import IOLoop

        if self.inotify is not None:
            IOLoop.current().remove_handler(self.inotify.fd)
            self.inotify.close()
            self.inotify = None

    def _on_inotify(self, fd, events) -> None:
        self.inotify.drain()
        self._schedule(0.002)  # let a burst of events arrive, then scan once

    def _schedule(self, delay: float) -> None:
        at = time.monotonic() + delay
        if self._check_at is None or at < self._check_at:
            from tornado.ioloop import IOLoop

            self._check_at = at
            IOLoop.current().call_later(delay, self._scheduled)

    def _scheduled(self) -> None:
        if self._check_at is not None and time.monotonic() >= self._check_at - 0.001:
            self._check_at = None
            self.poll()

    def poll(self) -> None:
        """Scan; build once the sources have been quiet for `quiet_seconds`."""
        if self.building:
            return  # the end of the build scans again
        now = time.monotonic()
        fresh = scan(self.root, self.folders)
        if self.inotify is not None:
            self.inotify.watch(self.folders)
        changed = diff(self.snapshot, fresh)
        self.snapshot = fresh
        if changed:
            self.pending |= changed
            self.last_change = now
        if not self.pending:
            return
        if now - self.last_change < self.quiet_seconds:
            self._schedule(self.last_change + self.quiet_seconds - now)
            return
        from tornado.ioloop import IOLoop

        sources, self.pending = self.pending, set()
        self.building = True
        future = IOLoop.current().run_in_executor(self.executor, self.build, sources)
        future.add_done_callback(lambda f: IOLoop.current().add_callback(self._built, f, sources))

    def _built(self, future, sources: set[str]) -> None:
        self.building = False
        self.apply(future.result(), sources)
        self.poll()  # changes saved during the build start the next one


def _describe(sources: set[str] | None, root: Path) -> str:
    if sources is None:
        return "first build"
    from zimage_site.errors import rel

    names = sorted(rel(p, root) for p in sources)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


# --------------------------------------------------------------------------- HTTP

class HostCheck:
    """The Host header values this server answers to: 127.0.0.1, localhost and [::1], and the --host
    it listens on, each with its port. A web page on another name (DNS rebinding: a name the
    attacker points at 127.0.0.1) is refused, so it cannot read the preview. Listening on every
    interface (0.0.0.0 or ::) also answers to an IP address and to this machine's name."""

    def __init__(self, host: str, port: int) -> None:
        import socket

        self.port = port
        names = set(LOOPBACK_NAMES)
        self.any_address = host in WILDCARD_HOSTS
        if self.any_address:
            hostname = socket.gethostname()
            names |= {hostname, socket.getfqdn(hostname), hostname + ".local"}
        elif ":" in host and not host.startswith("["):
            names.add(f"[{host}]")
        else:
            names.add(host)
        self.names = {n.lower() for n in names if n}

    def __call__(self, value: str | None) -> bool:
        if not value:
            return False
        value = value.strip().lower()
        name, sep, port = value.rpartition(":") if not value.endswith("]") else (value, "", "")
        if not sep:
            name, port = value, ""
        if port != str(self.port) and not (port == "" and self.port == 80):
            return False
        if name in self.names:
            return True
        return self.any_address and _is_ip(name.strip("[]"))

    def allowed(self) -> str:
        return ", ".join(f"{n}:{self.port}" for n in sorted(self.names))


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _handler_classes():
    """The tornado handlers, made on first use: importing this module stays cheap."""
    global _HANDLERS
    if _HANDLERS is not None:
        return _HANDLERS
    from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
    from tornado import web

    def refuse_foreign_host(handler) -> bool:
        """Answer 403 when the Host header is not one of this server's; True when refused."""
        check: HostCheck = handler.host_check
        if check(handler.request.headers.get("Host")):
            return False
        handler.clear()
        handler.set_status(403)
        handler.set_header("Content-Type", "text/plain; charset=utf-8")
        handler.set_header("Cache-Control", "no-store")
        handler.finish(f"403: this preview answers only to {check.allowed()}\n")
        return True

    class LiveReload(LiveReloadHandler):
        """livereload's websocket, accepting only pages of this server, and remembering each page's path."""

        def initialize(self, host_check: HostCheck) -> None:  # type: ignore[override]
            self.host_check = host_check

        def prepare(self):
            refuse_foreign_host(self)

        def check_origin(self, origin: str) -> bool:
            netloc = urlsplit(origin).netloc
            return netloc == self.request.host and self.host_check(netloc)

        def on_message(self, message) -> None:
            try:
                data = json.loads(message)
            except (TypeError, ValueError):
                return  # not the LiveReload protocol: ignore it
            if not isinstance(data, dict) or not isinstance(data.get("command"), str):
                return
            super().on_message(message)
            if data["command"] == "info" and isinstance(data.get("url"), str):
                self.page_path = urlsplit(data["url"]).path

    class LiveReloadJS(LiveReloadJSHandler):
        def initialize(self, host_check: HostCheck) -> None:  # type: ignore[override]
            self.host_check = host_check

        def prepare(self):
            refuse_foreign_host(self)

    class PageHandler(web.StaticFileHandler):
        """Serves the current generation under the base path; the error page while a build is failing."""

        def initialize(self, preview: Preview, host_check: HostCheck) -> None:  # type: ignore[override]
            self.preview = preview
            self.host_check = host_check
            self.root = str(preview.current) if preview.current else ""
            self.default_filename = "index.html"

        def prepare(self):
            refuse_foreign_host(self)

        def _is_page(self, rel: str) -> bool:
            return rel == "" or rel.endswith("/") or rel.endswith(".html")

        async def get(self, path: str, include_body: bool = True) -> None:
            preview = self.preview
            url_path = "/" + path
            base = preview.base_path
            if not url_path.startswith(base):
                if url_path in ("/", base.rstrip("/")) and preview.error is None:
                    self.redirect(base)
                    return
                if preview.error is None:
                    raise web.HTTPError(404)
            rel = url_path[len(base):] if url_path.startswith(base) else url_path.lstrip("/")
            if preview.error is not None and self._is_page(rel):
                self._send_html(500, error_page(preview.error))
                return
            if preview.current is None:
                self._send_html(503, error_page("The first build has not finished yet.", title="Building…",
                                                hint="This page reloads when it is done."))
                return
            if not _safe_relative(rel):
                raise web.HTTPError(404)
            await super().get(rel, include_body)

        def _send_html(self, status: int, body: str) -> None:
            self.set_status(status)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish(body)

        # no caching: a preview must never show a stale file
        def compute_etag(self) -> None:
            return None

        def should_return_304(self) -> bool:
            return False

        def set_extra_headers(self, path: str) -> None:
            self.set_header("Cache-Control", "no-store")

        def write_error(self, status_code: int, **kwargs) -> None:
            page = Path(self.preview.current or "") / "404.html"
            if status_code in (403, 404) and self.preview.current and page.is_file():
                self.set_status(404)
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.finish(page.read_bytes())
                return
            super().write_error(status_code, **kwargs)

    _HANDLERS = (web, LiveReloadHandler, LiveReload, LiveReloadJS, PageHandler)
    return _HANDLERS


_HANDLERS = None


def _safe_relative(rel: str) -> bool:
    """A path inside the output: no parent or current-folder segments, no absolute path, no NUL or
    backslash. The path is already percent-decoded once; a still-encoded one names no file."""
    if "\0" in rel or "\\" in rel or rel.startswith("/"):
        return False
    return all(part not in ("..", ".") for part in rel.split("/"))


def make_app(preview: Preview, host_check: HostCheck):
    web, LiveReloadHandler, LiveReload, LiveReloadJS, PageHandler = _handler_classes()
    LiveReloadHandler.live_css = True
    return web.Application([
        (r"/livereload", LiveReload, {"host_check": host_check}),
        (r"/livereload\.js", LiveReloadJS, {"host_check": host_check}),
        (r"/(.*)", PageHandler, {"preview": preview, "host_check": host_check}),
    ], log_function=lambda handler: None)


# --------------------------------------------------------------------------- the command

def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(host: str, port: int, path: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}{path}"


def run(args) -> int:
    import shutil
    import tempfile

    root = Path(args.root)
    if not (root / "site.yaml").is_file():
        raise SiteError(Problem(f"no site.yaml in {root}", file=str(root),
                                fix="run the command in the site folder or pass --root DIR (the folder holding site.yaml)"))
    workdir = Path(tempfile.mkdtemp(prefix="zimage-site-serve-"))
    try:
        return _serve(args, root, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _serve(args, root: Path, workdir: Path) -> int:
    import asyncio
    import errno
    import signal

    from livereload.handlers import LiveReloadHandler

    if args.debounce_ms < 0:
        raise SiteError(Problem(f"--debounce-ms {args.debounce_ms}: a wait cannot be negative",
                                fix="pass 0 or more milliseconds (default 20)"))
    preview = Preview(root, args.base_url, workdir, quiet_seconds=args.debounce_ms / 1000)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        app = make_app(preview, HostCheck(args.host, args.port))
        try:
            server = app.listen(args.port, address=args.host)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SiteError(Problem(f"port {args.port} on {args.host} is already in use",
                                        fix=f"stop the other server, or pick another port: --port {args.port + 1}")) from None
            raise SiteError(Problem(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                                    fix="check --host and --port")) from None
        if not _is_loopback(args.host):
            print(f"warning: serving on {args.host}: other machines on the network can read the preview",
                  file=sys.stderr)
        preview.apply(preview.build(None), None)
        languages = preview.site.config.languages if preview.current else {}
        print(f"serving a live preview of {root} (Ctrl-C to stop):")
        if languages:
            for code, lang in languages.items():
                print(f"  {lang.name:<6} {_url(args.host, args.port, preview.site.config.page_path(code))}")
        else:
            print(f"  {_url(args.host, args.port, preview.base_path)}")
        print("watching site.yaml, content/, templates/, static/ and images/", flush=True)
        if args.open:
            import threading
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(_url(args.host, args.port, preview.base_path),),
                             daemon=True).start()

        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        poller = preview.start_watching()
        loop.run_until_complete(stop.wait())
        poller.stop()
        preview.stop_watching()
        server.stop()
        for waiter in list(LiveReloadHandler.waiters):
            waiter.close()
        print("\nstopped", flush=True)
        return 0
    finally:
        preview.executor.shutdown(wait=True, cancel_futures=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        loop.close()
        asyncio.set_event_loop(None)


def add_parser(subparsers) -> None:
    from zimage_site.cli import add_site_arguments

    parser = subparsers.add_parser(
        "serve", help="live preview: rebuild on save, reload the browser",
        description="Build the site into a private temporary folder and serve it; rebuild what changed when a "
                    "source is saved and reload the browser (stylesheets in place). A failed build shows its "
                    "error in the page and the terminal; the next good save brings the page back. See docs/serve.md.")
    add_site_arguments(parser)
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    parser.add_argument("--base-url", metavar="URL",
                        help="absolute URL the site will be published at, e.g. https://example.github.io/repo/: "
                             "the preview is then served under its path (/repo/) (default: base_url in site.yaml)")
    parser.add_argument("--open", action="store_true", help="open the page in the web browser")
    parser.add_argument("--debounce-ms", type=float, default=QUIET_SECONDS * 1000, metavar="MS",
                        help="start a build once the sources have been quiet this long (default: "
                             f"{QUIET_SECONDS * 1000:.0f}); more for editors or file systems that save in steps")
    parser.set_defaults(func=run)
