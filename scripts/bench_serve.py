#!/usr/bin/env python3
"""Time `zimage-site serve` from saving a source file to the rebuilt page being served.

Serves a temporary copy of the site (the real content is never edited), then, for each edit,
saves a Markdown section with a new marker and polls the HTTP server until the page contains it.
Prints the median and worst latency over the edits (and the same for stylesheet edits), and the
server's own rebuild times from its log.

    python scripts/bench_serve.py            # 25 Markdown edits, 10 stylesheet edits
    python scripts/bench_serve.py --edits 50 --css-edits 0
    python scripts/bench_serve.py --against /tmp/old --rounds 2   # and an older checkout, alternating
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POLL = 0.005  # seconds between HTTP polls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(conn_port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", conn_port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_for(port: int, path: str, marker: bytes, timeout: float = 30.0) -> float:
    """Poll until GET path contains marker; return the time it was first seen (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            status, body = fetch(port, path)
            if status == 200 and marker in body:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(POLL)
    raise SystemExit(f"timed out waiting for {marker!r} at {path}")


def save(path: Path, text: str) -> None:
    """Save like an editor: write a new file beside it, rename it over the old one."""
    tmp = path.with_name(f".{path.name}.saving")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return (f"{name:<22} n={len(ms):<3} median {statistics.median(ms):6.1f} ms   p90 {p90:6.1f} ms   "
            f"worst {ms[-1]:6.1f} ms   best {ms[0]:6.1f} ms")


def measure(repo: Path, source: Path, args: argparse.Namespace) -> tuple[list[float], list[float], list[float]]:
    """Serve a copy of the site `source` with the zimage-site of `repo`; returns the seconds from save
    to served for each Markdown edit and each stylesheet edit, and the server's own rebuild times."""
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    site = work / "site"
    site.mkdir()
    shutil.copy2(source / "site.yaml", site / "site.yaml")
    for name in ("content", "templates", "static", "images"):
        if (source / name).is_dir():
            shutil.copytree(source / name, site / name, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    port = free_port()
    log = work / "serve.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(repo))
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-m", "zimage_site", "serve", "--root", str(site), "--port", str(port)],
                                cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "Ctrl-C to stop" not in log.read_text(encoding="utf-8"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(log.read_text(encoding="utf-8"))
            time.sleep(0.05)

        md = sorted((site / "content" / "zh").glob("*.md"))[1]
        original = md.read_text(encoding="utf-8")
        md_times = []
        for i in range(args.edits):
            marker = f"bench-edit-{i}-{time.time_ns()}"
            save(md, original + f"\n\n{marker}\n")
            saved = time.perf_counter()
            md_times.append(wait_for(port, "/", marker.encode()) - saved)
            time.sleep(args.pause)

        css_times = []
        css = sorted((site / "static" / "css").glob("*.css"))[-1]
        css_original = css.read_text(encoding="utf-8")
        for i in range(args.css_edits):
            marker = f"--bench-{i}-{time.time_ns()}"
            save(css, css_original + f"\n:root {{ {marker}: 1; }}\n")
            saved = time.perf_counter()
            css_times.append(wait_for(port, "/assets/site.css", marker.encode()) - saved)
            time.sleep(args.pause)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        text = log.read_text(encoding="utf-8")
        shutil.rmtree(work, ignore_errors=True)
    rebuilds = [float(m) / 1000 for m in re.findall(r"^rebuilt in (\d+) ms", text, re.M)]
    return md_times, css_times, rebuilds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None,
                        help="the site to copy (default: the site of each checkout measured)")
    parser.add_argument("--edits", type=int, default=25, help="Markdown edits (at least 20; default 25)")
    parser.add_argument("--css-edits", type=int, default=10, help="stylesheet edits (default 10)")
    parser.add_argument("--pause", type=float, default=0.15, help="seconds between edits (default 0.15)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="another checkout of zimage-site (e.g. a git worktree of an older commit) to measure "
                             "in the same run, alternating with this one")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each checkout this many times, alternating (default 1)")
    args = parser.parse_args()
    if args.edits < 20:
        parser.error("--edits must be at least 20")

    checkouts = [("this checkout", REPO)] + ([(f"{args.against}", args.against.resolve())] if args.against else [])
    results = {name: ([], [], []) for name, _ in checkouts}
    for _ in range(args.rounds):
        for name, repo in checkouts:
            for total, part in zip(results[name], measure(repo, args.root or repo, args)):
                total.extend(part)
    print(f"zimage-site serve: save → rebuilt page served (HTTP poll every {POLL * 1000:.0f} ms), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for name, (md_times, css_times, rebuilds) in results.items():
        if len(checkouts) > 1:
            print(f"{name}:")
        print(summary("Markdown edit", md_times))
        if css_times:
            print(summary("stylesheet edit", css_times))
        if rebuilds:
            print(summary("server rebuild only", rebuilds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
