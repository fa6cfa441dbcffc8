"""The `serve` subcommand: check the arguments, build once, listen, watch, stop cleanly on Ctrl-C."""

from __future__ import annotations

import sys
from pathlib import Path

from zimage_site.errors import Problem, SiteError
from zimage_site.serve.preview import QUIET_SECONDS
from zimage_site.serve.watch import WATCHED

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


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


def check_arguments(args) -> None:
    """Refuse what cannot work, before anything starts (an out-of-range port would otherwise be
    wrapped around to another one by the system)."""
    if not 0 <= args.port <= 65535:
        raise SiteError(Problem(f"--port {args.port}: there is no such port",
                                fix=f"pass a port from 1 to 65535 (default {DEFAULT_PORT}), "
                                    "or 0 to take any free one"))
    if args.debounce_ms < 0:
        raise SiteError(Problem(f"--debounce-ms {args.debounce_ms}: a wait cannot be negative",
                                fix=f"pass 0 or more milliseconds (default {QUIET_SECONDS * 1000:.0f})"))


def run(args) -> int:
    import shutil
    import tempfile

    check_arguments(args)
    root = Path(args.root)
    if not (root / "site.yaml").is_file():
        raise SiteError(Problem(f"no site.yaml in {root}", file=str(root),
                                fix="run the command in the site folder or pass --root DIR (the folder holding site.yaml)"))
    workdir = Path(tempfile.mkdtemp(prefix="zimage-site-serve-"))
    try:
        return _serve(args, root, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _listen(app, host: str, port: int):
    """Bind and start the HTTP server; returns (server, the port bound: the one given, or the free
    one the system chose for 0)."""
    import errno

    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    try:
        sockets = bind_sockets(port, address=host)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise SiteError(Problem(f"port {port} on {host} is already in use",
                                    fix=f"stop the other server, or pick another port: --port {port + 1}")) from exc
        raise SiteError(Problem(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                                fix="check --host and --port")) from exc
    server = HTTPServer(app)
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def _serve(args, root: Path, workdir: Path) -> int:
    import asyncio
    import signal

    from livereload.handlers import LiveReloadHandler

    from zimage_site.serve.preview import Preview
    from zimage_site.serve.server import HostCheck, make_app

    preview = Preview(root, args.base_url, workdir, quiet_seconds=args.debounce_ms / 1000)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        host_check = HostCheck(args.host, args.port)
        server, port = _listen(make_app(preview, host_check), args.host, args.port)
        host_check.port = port
        if not _is_loopback(args.host):
            print(f"warning: serving on {args.host}: other machines on the network can read the preview",
                  file=sys.stderr)
        preview.start_watching()  # before the first build: a save during it starts the next one
        preview.apply(preview.build(), None)
        languages = preview.site.config.languages if preview.current else {}
        print(f"serving a live preview of {root} (Ctrl-C to stop):")
        if languages:
            for code, lang in languages.items():
                print(f"  {lang.name:<6} {_url(args.host, port, preview.site.config.page_path(code))}")
        else:
            print(f"  {_url(args.host, port, preview.base_path)}")
        names = [name + ("/" if name != "site.yaml" else "") for name in WATCHED]
        print(f"watching {', '.join(names[:-1])} and {names[-1]}", flush=True)
        if args.open:
            import threading
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(_url(args.host, port, preview.base_path),),
                             daemon=True).start()

        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.run_until_complete(stop.wait())
        preview.stop_watching()
        server.stop()
        for waiter in list(LiveReloadHandler.waiters):
            waiter.close()
        print("\nstopped", flush=True)
        return 0
    finally:
        preview.stop_watching()
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
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port, 1 to 65535, or 0 for any free one (default: {DEFAULT_PORT})")
    parser.add_argument("--base-url", metavar="URL",
                        help="absolute URL the site will be published at, e.g. https://example.github.io/repo/: "
                             "the preview is then served under its path (/repo/) (default: base_url in site.yaml)")
    parser.add_argument("--open", action="store_true", help="open the page in the web browser")
    parser.add_argument("--debounce-ms", type=float, default=QUIET_SECONDS * 1000, metavar="MS",
                        help="start a build once the sources have been quiet this long (default: "
                             f"{QUIET_SECONDS * 1000:.0f}); more for editors or file systems that save in steps")
    parser.set_defaults(func=run)
