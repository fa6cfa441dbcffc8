"""`zimage-site serve`: live reload in a real browser, error pages, sub-paths, safety, clean exit.

Every test serves a copy of the real site (never the site itself) from a subprocess bound to a
free loopback port, with its own TMPDIR so that leftover temporary files can be seen. Waits are
bounded (Playwright's wait_for_function, or polling HTTP with a deadline); nothing sleeps to assert.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SUB_PATH_URL = "https://example.github.io/repo/"
WAIT_MS = 20_000


# --------------------------------------------------------------------------- helpers

def copy_site(dest: Path) -> Path:
    """A copy of the real site's sources (the tests edit the copy, never the real content)."""
    dest.mkdir(parents=True)
    shutil.copy2(REPO / "site.yaml", dest / "site.yaml")
    for name in ("content", "templates", "static", "images"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_section(root: Path, lang: str = "zh") -> Path:
    return sorted((root / "content" / lang).glob("*.md"))[0]


def stylesheet(root: Path) -> Path:
    return sorted((root / "static" / "css").glob("*.css"))[-1]


def save(path: Path, text: str) -> None:
    """Save the way editors do: write a new file and rename it over the old one."""
    tmp = path.with_name(f".{path.name}.saving")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def get(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    """A raw GET: http.client sends the path exactly as given (no normalisation of ../ or %2e),
    with the Host header given (default: 127.0.0.1:port)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host} if host is not None else {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def wait_http(port: int, path: str, predicate, timeout: float = 20.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = get(port, path)
            if predicate(*last):
                return last
        except OSError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for GET {path}; last response: {last and (last[0], last[1][:300])}")


def wait_log(log: Path, predicate, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if predicate(text):
            return text
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting in the serve log:\n{log.read_text(encoding='utf-8')}")


class Served:
    def __init__(self, root: Path, port: int, base: str, log: Path, tmpdir: Path, proc: subprocess.Popen):
        self.root, self.port, self.base, self.log, self.tmpdir, self.proc = root, port, base, log, tmpdir, proc

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{self.base}{path}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serving(tmp_path: Path, *args: str, base: str = "/", prefix: tuple[str, ...] = (), prepare=None):
    """Run `zimage-site serve` on a copy of the site; on exit, stop it with Ctrl-C (SIGINT) and check
    that it exited cleanly, printed no traceback and left no temporary files. `prefix` goes before
    the command (it must exec it, keeping the process id); `prepare(root)` edits the copy first."""
    root = copy_site(tmp_path / "site")
    if prepare is not None:
        prepare(root)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    log = tmp_path / "serve.log"
    port = free_port()
    env = dict(os.environ, TMPDIR=str(tmpdir), PYTHONUNBUFFERED="1")
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([*prefix, sys.executable, "-m", "zimage_site", "serve", "--root", str(root),
                                 "--port", str(port), *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(root, port, base, log, tmpdir, proc)
    try:
        try:
            wait_log(log, lambda t: "Ctrl-C to stop" in t or proc.poll() is not None, timeout=60)
            assert proc.poll() is None, f"serve exited early:\n{served.output()}"
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError(f"serve did not stop on Ctrl-C:\n{served.output()}")
    assert proc.returncode == 0, served.output()
    assert "Traceback" not in served.output(), served.output()
    assert list(tmpdir.iterdir()) == [], "serve left temporary files behind"


# --------------------------------------------------------------------------- the browser

CONNECTED = "() => window.__liveReloadConnected === true"
TRACK_CONNECTION = "document.addEventListener('LiveReloadConnect', () => { window.__liveReloadConnected = true; });"


def open_page(browser, url: str):
    page = browser.new_page()
    page.add_init_script(TRACK_CONNECTION)  # runs again on every reload
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_function(CONNECTED, timeout=WAIT_MS)
    return page, errors


@pytest.mark.browser
@pytest.mark.parametrize("base_url", [None, SUB_PATH_URL], ids=["root", "sub-path"])
def test_live_reload_css_hot_swap_and_error_page(browser, tmp_path, base_url):
    args = ("--base-url", base_url) if base_url else ()
    base = "/repo/" if base_url else "/"
    with serving(tmp_path, *args, base=base) as served:
        page, errors = open_page(browser, served.url())
        assert page.evaluate("location.pathname") == base
        assert page.get_attribute("html", "lang") == "zh-CN"
        href = page.get_attribute("link[rel=stylesheet]", "href")
        assert href.startswith(base + "assets/"), href
        section_md = first_section(served.root)
        original = section_md.read_text(encoding="utf-8")

        # a Markdown edit shows up without any manual reload
        save(section_md, original + "\n\n实时预览标记 live-edit-7311\n")
        page.wait_for_function("() => document.body.innerText.includes('live-edit-7311')", timeout=WAIT_MS)
        page.wait_for_function(CONNECTED, timeout=WAIT_MS)

        # a stylesheet edit is swapped in place: the page is not reloaded (the marker survives)
        page.evaluate("window.__notReloaded = 'yes'")
        css = stylesheet(served.root)
        save(css, css.read_text(encoding="utf-8") + "\nmain { outline: 3px solid rgb(1, 2, 3); }\n")
        page.wait_for_function("() => getComputedStyle(document.querySelector('main')).outlineColor === 'rgb(1, 2, 3)'",
                               timeout=WAIT_MS)
        assert page.evaluate("window.__notReloaded") == "yes"
        swapped = page.evaluate("new URL(document.querySelector('link[rel=stylesheet]').href).pathname")
        assert swapped == base + "assets/site.css", swapped  # the same stylesheet, fetched again

        # broken front matter: the page shows the error (file, line, fix) and keeps listening
        broken = original.replace("\n", "\ntitle: [broken <b>title\n", 1)
        save(section_md, broken)
        page.wait_for_function("() => document.getElementById('zimage-site-build-error') !== null", timeout=WAIT_MS)
        shown = page.inner_text("#zimage-site-build-error")
        assert section_md.relative_to(served.root).as_posix() in shown
        assert "line 2" in shown and "fix:" in shown
        assert "[broken <b>title" in shown  # escaped in the HTML, so shown as text
        assert page.locator("#zimage-site-build-error b").count() == 0
        wait_log(served.log, lambda t: "the browser shows this error" in t)  # the terminal says it too
        page.wait_for_function(CONNECTED, timeout=WAIT_MS)

        # fixing it brings the page back by itself
        save(section_md, original + "\n\n修好了 fixed-8423\n")
        page.wait_for_function("() => !document.getElementById('zimage-site-build-error')"
                               " && document.body.innerText.includes('fixed-8423')", timeout=WAIT_MS)
        assert page.evaluate("location.pathname") == base
        assert page.locator("main").count() == 1

        # the English page lives under the same base path
        status, body = get(served.port, base + "en/")
        assert status == 200 and 'lang="en"' in body
        assert errors == [], errors
        page.close()


@pytest.mark.browser
def test_reload_keeps_the_section_being_read(browser, tmp_path):
    with serving(tmp_path) as served:
        page, _ = open_page(browser, served.url())
        sections = page.eval_on_selector_all("main section[id]", "els => els.map(e => e.id)")
        target = sections[3]
        page.evaluate(f"document.getElementById('{target}').scrollIntoView({{behavior: 'instant'}})")
        top = page.evaluate(f"document.getElementById('{target}').getBoundingClientRect().top")
        # add text above the section being read: it moves down the page, the view follows it
        section_md = first_section(served.root)
        save(section_md, section_md.read_text(encoding="utf-8") + "\n\n" + "新增段落 added-2718\n\n" * 30)
        page.wait_for_function("() => document.body.innerText.includes('added-2718')", timeout=WAIT_MS)
        page.wait_for_function(
            f"() => Math.abs(document.getElementById('{target}').getBoundingClientRect().top - ({top})) < 4",
            timeout=WAIT_MS)
        page.close()


# --------------------------------------------------------------------------- HTTP only

SECRET = "TOP-SECRET-5b2f0c"


@pytest.mark.parametrize("base_url", [None, SUB_PATH_URL], ids=["root", "sub-path"])
def test_traversal_cannot_read_outside_the_output(tmp_path, base_url):
    args = ("--base-url", base_url) if base_url else ()
    base = "/repo/" if base_url else "/"
    with serving(tmp_path, *args, base=base) as served:
        # secrets beside and above the private output folder (TMPDIR/zimage-site-serve-*/site-N/)
        (served.tmpdir.parent / "secret.txt").write_text(SECRET)
        status, _ = get(served.port, base + "index.html")
        assert status == 200
        attempts = []
        for prefix in (base, "/"):
            for up in (1, 2, 3, 4, 8):
                attempts += [
                    prefix + "../" * up + "secret.txt",
                    prefix + "%2e%2e%2f" * up + "secret.txt",
                    prefix + "%2E%2E/" * up + "secret.txt",
                    prefix + "..%2f" * up + "secret.txt",
                    prefix + ".%2e/" * up + "secret.txt",
                    prefix + "%252e%252e%252f" * up + "secret.txt",
                    prefix + "..%5c" * up + "secret.txt",
                    prefix + "..\\" * up + "secret.txt",
                    prefix + "assets/" + "../" * (up + 1) + "secret.txt",
                    prefix + "../" * up + "etc/passwd",
                    prefix + "%2e%2e%2f" * up + "etc/passwd",
                ]
        attempts += ["//etc/passwd", base + "/etc/passwd", base + "%2fetc%2fpasswd", "/..", base + "%00",
                     base + "..%00/secret.txt", "/%2e%2e"]
        for path in attempts:
            status, body = get(served.port, path)
            assert status != 200 or (SECRET not in body and "root:x:0:0" not in body), path
            assert SECRET not in body and "root:x:0:0" not in body, path
            assert status in (301, 302, 400, 403, 404), (path, status)
        (served.tmpdir.parent / "secret.txt").unlink()


def test_default_bind_address_is_loopback(tmp_path):
    from zimage_site.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8000
    with serving(tmp_path) as served:
        assert f"http://127.0.0.1:{served.port}/" in served.output()
        assert f"http://127.0.0.1:{served.port}/en/" in served.output()
        listening = _listening_addresses(served.port)
        assert listening, "no listening socket found in /proc/net"
        assert all(addr in ("0100007F", "00000000000000000000000001000000") for addr in listening), listening


def _listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp* writes them) of sockets listening on `port`."""
    found = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, hexport = fields[1].split(":")
            if int(hexport, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(addr)
    return found


def rebuilt_lines(served: Served) -> list[str]:
    return [line for line in served.output().splitlines() if line.startswith("rebuilt in")]


def test_rebuilds_are_incremental_debounced_and_survive_errors(tmp_path):
    # a long quiet period: the saves below always fall within one, however slow the machine
    with serving(tmp_path, "--debounce-ms", "400") as served:
        root = served.root
        # a save-all of several files: the page shows every edit, in fewer builds than files
        files = sorted((root / "content" / "zh").glob("*.md"))[:4]
        assert len(files) == 4
        for i, path in enumerate(files):
            save(path, path.read_text(encoding="utf-8") + f"\n\nsave-all-{i}\n")
        wait_http(served.port, "/", lambda s, b: all(f"save-all-{i}" in b for i in range(len(files))))
        save_all = rebuilt_lines(served)
        assert 1 <= len(save_all) < len(files), served.output()
        if len(save_all) == 1:
            assert "and 1 more" in save_all[0], save_all
        # a Markdown edit re-renders its page, and the pages derived from its language, and nothing
        # else (images and assets are reused)
        one = files[0]
        save(one, one.read_text(encoding="utf-8") + "\n\nsingle-edit\n")
        wait_http(served.port, "/", lambda s, b: "single-edit" in b)
        rebuilt = rebuilt_lines(served)
        assert len(rebuilt) == len(save_all) + 1, served.output()
        languages = yaml.safe_load((root / "site.yaml").read_text(encoding="utf-8"))["languages"]
        pages = 1 + sum(1 for lang in languages.values() if lang.get("from") == "zh")
        assert pages == 2, languages  # the site derives its Traditional Chinese page from the Chinese one
        assert rebuilt[-1].endswith(f"{pages} output files changed"), rebuilt[-1]

        # a template edit re-renders
        base = root / "templates" / "base.html"
        save(base, base.read_text(encoding="utf-8").replace("</head>", '<meta name="serve-test" content="tpl">\n</head>'))
        wait_http(served.port, "/en/", lambda s, b: 'name="serve-test"' in b)

        # an error in a data file: error page with the message, HTML-escaped; assets still served
        facts = root / "content" / "data" / "facts.yaml"
        good = facts.read_text(encoding="utf-8")
        save(facts, "facts: [<script>alert(1)</script>\n")
        status, body = wait_http(served.port, "/", lambda s, b: s == 500)
        assert "content/data/facts.yaml" in body and "&lt;script&gt;alert(1)" in body
        assert "<script>alert(1)" not in body
        assert "/livereload.js" in body  # the error page reloads by itself
        assert get(served.port, "/en/")[0] == 500
        save(facts, good)
        wait_http(served.port, "/", lambda s, b: s == 200 and "single-edit" in b)

        # the preview never touches the site folder: no build/ appears
        assert not (root / "build").exists()


def test_build_output_has_no_live_reload_script(tmp_path):
    root = copy_site(tmp_path / "site")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "zimage_site", "build", "--root", str(root), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for page in out.rglob("*.html"):
        assert "livereload" not in page.read_text(encoding="utf-8"), page


def test_serve_refuses_a_folder_without_site_yaml(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "zimage_site", "serve", "--root", str(tmp_path),
                           "--port", str(free_port())], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "no site.yaml" in proc.stderr and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- builds of one Site after edits

def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rebuild_equals_a_full_build_and_never_reuses_a_failed_part(tmp_path):
    from zimage_site.errors import SiteError
    from zimage_site.inputs import kind_of
    from zimage_site.site import Site

    root = copy_site(tmp_path / "site")
    assert kind_of(root, root / "content" / "zh" / "01-x.md") == "content"
    assert [kind_of(root, root / "content" / "data" / "facts.yaml"), kind_of(root, root / "static" / "x.css")] == \
        ["data", "static"]
    assert [kind_of(root, root / "content" / "images.yaml"), kind_of(root, root / "images" / "a.png")] == \
        ["manifest", "store"]
    assert kind_of(root, root / "templates" / "base.html") == "templates"
    assert kind_of(root, root / "templates" / "i18n" / "core.yaml") == "strings"
    assert kind_of(root, root / "site.yaml") == "config"
    assert kind_of(root, tmp_path / "elsewhere.md") is None

    options = dict(hash_assets=False, inject_html="<!-- live -->")
    site = Site(root, **options)
    first = site.build(tmp_path / "out-0")
    md, css = first_section(root), stylesheet(root)
    facts = root / "content" / "data" / "facts.yaml"
    base = root / "templates" / "base.html"
    edits = [
        [(md, md.read_text(encoding="utf-8") + "\n\nrebuilt-text\n")],
        [(css, css.read_text(encoding="utf-8") + "\nmain { color: red; }\n")],
        [(base, base.read_text(encoding="utf-8").replace("</head>", "<meta name=x content=y>\n</head>"))],
        [(facts, facts.read_text(encoding="utf-8") + "\n# a comment\n"),
         (first_section(root, "en"), first_section(root, "en").read_text(encoding="utf-8") + "\n\nmore\n")],
    ]
    for n, edit in enumerate(edits, 1):
        for path, text in edit:
            save(path, text)
        result = site.build(tmp_path / f"out-{n}")  # the same Site: it reuses what the edit did not feed
        full = Site(root, **options).build(tmp_path / f"full-{n}")
        assert _tree(tmp_path / f"out-{n}") == _tree(tmp_path / f"full-{n}"), f"edit {n}"
        assert sorted(w.format() for w in result.warnings) == sorted(w.format() for w in full.warnings)
    assert "rebuilt-text" in (tmp_path / "out-4" / "index.html").read_text(encoding="utf-8")

    # a failed part stays to be redone: a later, unrelated edit must not build with stale data
    good = facts.read_text(encoding="utf-8")
    save(facts, "facts: [unclosed\n")
    with pytest.raises(SiteError):
        site.build(tmp_path / "out-bad")
    save(md, md.read_text(encoding="utf-8") + "\n\nunrelated\n")
    with pytest.raises(SiteError):
        site.build(tmp_path / "out-bad")
    assert not (tmp_path / "out-bad").exists()
    save(facts, good)
    site.build(tmp_path / "out-ok")
    assert _tree(tmp_path / "out-ok") == _tree(Site(root, **options).build(tmp_path / "full-ok").out)


def test_debounce_must_not_be_negative(tmp_path):
    root = copy_site(tmp_path / "site")
    proc = subprocess.run([sys.executable, "-m", "zimage_site", "serve", "--root", str(root), "--port",
                           str(free_port()), "--debounce-ms", "-5"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert "--debounce-ms -5" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("port", ["70000", "65536", "-1"])
def test_a_port_out_of_range_is_refused(tmp_path, port):
    root = copy_site(tmp_path / "site")
    proc = subprocess.run([sys.executable, "-m", "zimage_site", "serve", "--root", str(root), "--port", port],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith(f"error: --port {port}: there is no such port\n"
                                  "  fix: pass a port from 1 to 65535 (default 8000), or 0 to take any free one"), proc.stderr
    assert "Traceback" not in proc.stderr and "serving" not in proc.stdout


def test_port_zero_takes_a_free_port(tmp_path):
    import re

    with serving(tmp_path, "--port", "0") as served:
        urls = re.findall(r"http://127\.0\.0\.1:(\d+)/", served.output())
        assert urls and len(set(urls)) == 1, served.output()
        port = int(urls[0])
        assert port != 0 and port != served.port
        status, body = get(port, "/", host=f"127.0.0.1:{port}")
        assert status == 200 and "<main" in body
        assert get(port, "/", host=f"127.0.0.1:{served.port}")[0] == 403  # the Host check uses the bound port


def _unreadable_prefix() -> tuple[str, ...]:
    """How to run serve so that a chmod 000 folder cannot be read: as is, or, for root (who reads
    everything), in a user namespace of its own, where root's files are not root's any more."""
    if os.geteuid() != 0:
        return ()
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare, "-U", "true"], capture_output=True) if unshare else None
    if probe is None or probe.returncode != 0:
        pytest.skip("running as root without user namespaces: no folder is unreadable")
    return (unshare, "-U")


def test_an_unreadable_folder_is_reported_and_the_rest_watched(tmp_path):
    def lock(root: Path) -> None:
        drafts = root / "content" / "drafts"
        drafts.mkdir()
        (drafts / "idea.md").write_text("not yet\n", encoding="utf-8")
        drafts.chmod(0)

    try:
        with serving(tmp_path, prefix=_unreadable_prefix(), prepare=lock) as served:
            text = wait_log(served.log, lambda t: "content/drafts" in t)
            assert ("warning: content/drafts: serve cannot read this folder, so changes in it are not seen\n"
                    "  fix: make it readable (chmod u+rx content/drafts) or move it out of the site folder") in text
            section_md = first_section(served.root)
            save(section_md, section_md.read_text(encoding="utf-8") + "\n\nstill-watched-5821\n")
            wait_http(served.port, "/", lambda s, b: "still-watched-5821" in b)
    finally:
        (tmp_path / "site" / "content" / "drafts").chmod(0o755)


def test_a_source_folder_created_later_is_watched(tmp_path):
    with serving(tmp_path, prepare=lambda root: shutil.rmtree(root / "images")) as served:
        store = served.root / "images"
        store.mkdir()
        (store / "README.md").write_text("the image store\n", encoding="utf-8")
        wait_log(served.log, lambda t: "(images" in t)
        (store / "notes.txt").write_text("seen\n", encoding="utf-8")  # seen by the watch of the new folder
        wait_log(served.log, lambda t: "(images/notes.txt)" in t)


# --------------------------------------------------------------------------- Host and websocket

def livereload_session(port: int, messages: list[str], host: str | None = None,
                       origin: str | None = None) -> list:
    """Open the /livereload websocket, send `messages`, then the LiveReload hello; return the
    replies read until the hello reply (None: the server closed the connection)."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    async def session() -> list:
        headers = {"Origin": origin or f"http://127.0.0.1:{port}"}
        if host is not None:
            headers["Host"] = host
        conn = await websocket_connect(HTTPRequest(f"ws://127.0.0.1:{port}/livereload", headers=headers,
                                                   request_timeout=10))
        try:
            for message in messages:
                await conn.write_message(message)
            await conn.write_message('{"command": "hello", "protocols": '
                                     '["http://livereload.com/protocols/official-7"]}')
            replies = []
            while True:
                reply = await asyncio.wait_for(conn.read_message(), 10)
                replies.append(reply)
                if reply is None or '"hello"' in reply:
                    return replies
        finally:
            conn.close()

    # in a thread of its own: Playwright's sync API keeps an event loop running in this one
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, session()).result()


def test_only_this_servers_host_names_are_answered(tmp_path):
    from tornado.httpclient import HTTPClientError

    with serving(tmp_path) as served:
        port = served.port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
            status, body = get(port, "/", host=host)
            assert status == 200 and "<main" in body, host
        assert get(port, "/livereload.js", host=f"localhost:{port}")[0] == 200
        # DNS rebinding: a page of another site whose name now points at 127.0.0.1
        for host in (f"evil.example:{port}", f"localhost.evil.example:{port}", "evil.example",
                     f"127.0.0.1:{port + 1}", "127.0.0.1", ""):
            for path in ("/", "/en/", "/index.html", "/assets/site.css", "/livereload.js", "/sitemap.xml"):
                status, body = get(port, path, host=host)
                assert status in (400, 403), (host, path, status)
                assert "<main" not in body and "Z-Image" not in body, (host, path)
        with pytest.raises(HTTPClientError) as refused:
            livereload_session(port, [], host=f"evil.example:{port}", origin=f"http://evil.example:{port}")
        assert refused.value.code in (400, 403)
        with pytest.raises(HTTPClientError) as refused:
            livereload_session(port, [], origin=f"http://evil.example:{port}")
        assert refused.value.code == 403


def test_the_websocket_ignores_what_is_not_the_livereload_protocol(tmp_path):
    with serving(tmp_path) as served:
        replies = livereload_session(served.port, ["not json", "[1, 2]", "42", '{"no": "command"}', "null"])
        assert replies and replies[-1] is not None and '"hello"' in replies[-1], replies


# --------------------------------------------------------------------------- the preview, in process

def test_host_check():
    import socket

    from zimage_site.serve.server import HostCheck

    local = HostCheck("127.0.0.1", 8000)
    for ok in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LocalHost:8000"):
        assert local(ok), ok
    for bad in ("evil.example:8000", "127.0.0.1:8001", "127.0.0.1", "localhost", "", None,
                "localhost.evil.example:8000", "192.168.1.5:8000", "[::1]", f"{socket.gethostname()}:8000x"):
        assert not local(bad), bad
    lan = HostCheck("0.0.0.0", 8000)
    for ok in ("192.168.1.5:8000", "[fe80::1]:8000", f"{socket.gethostname()}:8000", "localhost:8000"):
        assert lan(ok), ok
    assert not lan("evil.example:8000") and not lan("192.168.1.5:8001")
    given = HostCheck("192.168.1.5", 80)
    assert given("192.168.1.5") and given("192.168.1.5:80") and given("localhost")
    assert not given("192.168.1.6") and not given("evil.example")
    assert HostCheck("::1", 8000)("[::1]:8000")


def test_importing_serve_loads_no_server_library():
    code = ("import sys, zimage_site.serve, zimage_site.cli; zimage_site.cli.build_parser(); "
            "print(sorted(m for m in ('tornado', 'livereload', 'asyncio', 'watchfiles', 'lxml') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout


@pytest.fixture
def preview(tmp_path):
    from zimage_site.serve.preview import Preview

    root = copy_site(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    p = Preview(root, None, work)
    yield p
    p.executor.shutdown(wait=True)


def test_a_good_build_is_applied_even_when_its_changes_cannot_be_listed(preview, monkeypatch):
    from zimage_site.serve import preview as preview_module

    first = preview.build()
    assert first.ok
    preview.current = first.out
    md = first_section(preview.root)
    save(md, md.read_text(encoding="utf-8") + "\n\nlisted-9151\n")

    def broken(old, new):
        raise FileNotFoundError(2, "No such file or directory", str(old))

    monkeypatch.setattr(preview_module, "changed_outputs", broken)
    outcome = preview.build()
    assert outcome.ok and outcome.changed is None  # None: every page reloads
    assert "listed-9151" in (outcome.out / "index.html").read_text(encoding="utf-8")


def test_an_internal_error_shows_its_traceback_in_the_terminal_only(preview, monkeypatch, capsys):
    from zimage_site.serve import error_page

    first = preview.build()
    preview.current = first.out
    md = first_section(preview.root)

    def bug(out):
        raise RuntimeError("boom in /private/home/someone/zimage\nsecond line")

    monkeypatch.setattr(preview.site, "build", bug)
    outcome = preview.build()
    assert not outcome.ok
    assert outcome.message == "internal error: RuntimeError: boom in /private/home/someone/zimage"
    preview.apply(outcome, {str(md)})
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "raise RuntimeError" in err
    assert outcome.message in err
    page = error_page(preview.error)
    assert "Traceback" not in page and "raise RuntimeError" not in page and __file__ not in page
    assert "internal error: RuntimeError: boom" in page


def test_a_pipe_in_the_sources_neither_stops_rebuilding_nor_ctrl_c(tmp_path):
    with serving(tmp_path, "--debounce-ms", "50") as served:
        pipe = served.root / "content" / "zh" / "09-pipe.md"
        os.mkfifo(pipe)
        status, body = wait_http(served.port, "/", lambda s, b: s == 500)
        assert "content/zh/09-pipe.md" in body and "a pipe (FIFO)" in body
        pipe.unlink()
        section_md = first_section(served.root)
        save(section_md, section_md.read_text(encoding="utf-8") + "\n\nafter-the-pipe-7731\n")
        wait_http(served.port, "/", lambda s, b: s == 200 and "after-the-pipe-7731" in b)
    # leaving the block sent Ctrl-C and checked that serve stopped cleanly
