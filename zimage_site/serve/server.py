"""HTTP: the tornado handlers that serve the current generation, the livereload websocket and
script, the Host allowlist (against DNS rebinding) and the traversal guard.

Requests are answered only when their Host header names this server (127.0.0.1, localhost, [::1]
or --host, with the port). Paths are resolved inside the generation being served: parent and
current-folder segments, absolute paths, NUL and backslashes are refused. Every file is sent with
`Cache-Control: no-store`. tornado and livereload are imported when the server starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from zimage_site.serve.pages import error_page
from zimage_site.serve.preview import Preview

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")  # Host names always answered
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


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
            if not safe_relative(rel):
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


def safe_relative(rel: str) -> bool:
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
