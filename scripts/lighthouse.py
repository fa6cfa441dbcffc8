"""Build the site, serve it on loopback the way GitHub Pages does (gzip), and run Lighthouse.

    python scripts/lighthouse.py [--fixture-store] [--lighthouse PATH] [--keep DIR]

Runs Lighthouse 12 (npm) in its mobile profile on each language's page (`/`, `/en/`, `/zh-hant/`) and prints, for each page, the
four category scores, LCP (and its element), CLS, TBT, the bytes of the first view (what
Lighthouse loads without scrolling: HTML + CSS + JS + the hero image) and, measured with
Playwright in the same phone viewport, the bytes transferred once the page is scrolled to its end
(every lazy image loaded). Each figure is compared with its budget.

--fixture-store builds the site with a test image for every entry of content/images.yaml
(tests/fixture_store.py: sample photographs at each image's real size, needs scikit-image), the
way the page looks once every image is generated; without it, the committed store (today: every
image pending).

Lighthouse is looked up in node_modules/ at the repository root, in /tmp/tools/node_modules, or
on PATH; install it with

    npm install --no-save lighthouse@12            # at the repository root (node_modules/ is ignored)

Chromium comes from $CHROME_PATH (default /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))



def pages() -> dict[str, str]:
    """Each language's page, from site.yaml (its path under the site root)."""
    import yaml

    languages = yaml.safe_load((ROOT / "site.yaml").read_text(encoding="utf-8"))["languages"]
    return {code: "/" + lang["path"] for code, lang in languages.items()}
COMPRESSIBLE = (".html", ".css", ".js", ".svg", ".json", ".xml", ".txt")
BUDGET = 300 * 1024            # first view
SCROLLED_BUDGET = 3 * 1024 * 1024  # the whole page, scrolled to its end
TARGETS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 1.0, "seo": 1.0}
LCP_BUDGET_S = 2.0


class PagesLikeHandler(SimpleHTTPRequestHandler):
    """Static files with gzip for text, as GitHub Pages serves them."""

    def log_message(self, *args) -> None:
        pass

    def send_head(self):  # noqa: D401 - the standard library's hook
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts and path.suffix in COMPRESSIBLE and path.is_file()):
            return super().send_head()
        if not self.path.split("?")[0].endswith("/") and (Path(self.translate_path(self.path))).is_dir():
            return super().send_head()  # the redirect to the folder
        body = gzip.compress(path.read_bytes(), 6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")
        self.end_headers()
        return io.BytesIO(body)


def find_lighthouse(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    for folder in (ROOT / "node_modules", Path("/tmp/tools/node_modules")):
        cli = folder / "lighthouse" / "cli" / "index.js"
        if cli.exists():
            return ["node", str(cli)]
    found = shutil.which("lighthouse")
    if found:
        return [found]
    sys.exit("lighthouse not found: run `npm install --no-save lighthouse@12` at the repository root")


def run_lighthouse(cmd: list[str], url: str, report: Path) -> dict:
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    subprocess.run([*cmd, url, "--quiet", "--output=json", f"--output-path={report}",
                    "--only-categories=performance,accessibility,best-practices,seo",
                    '--chrome-flags=--headless=new --no-sandbox --disable-gpu'],
                   check=True, env=env, timeout=300)
    return json.loads(report.read_text(encoding="utf-8"))


def first_view(lhr: dict) -> dict[str, int]:
    """Bytes transferred by type for the page's requests (the first view, no scrolling)."""
    items = lhr["audits"]["network-requests"]["details"]["items"]
    by: dict[str, int] = {}
    for it in items:
        kind = it.get("resourceType", "Other")
        by[kind] = by.get(kind, 0) + int(it.get("transferSize", 0))
    return by


def scrolled_bytes(url: str) -> tuple[int, int]:
    """(bytes transferred, number of images loaded) once a phone has scrolled `url` to its end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROME_PATH", "/usr/bin/chromium"),
                                    args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 412, "height": 823}, device_scale_factor=1.75,
                                is_mobile=True, has_touch=True)
        page.goto(url, wait_until="networkidle")
        page.evaluate("""async () => {
            for (let y = 0; y < document.body.scrollHeight; y += innerHeight * 0.7) {
                scrollTo(0, y); await new Promise(r => setTimeout(r, 60));
            }
        }""")
        page.wait_for_load_state("networkidle")
        total, images = page.evaluate("""() => {
            const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
            return [all.reduce((a, e) => a + (e.transferSize || 0), 0),
                    performance.getEntriesByType('resource').filter(e => e.name.includes('/img/')).length];
        }""")
        browser.close()
    return int(total), int(images)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Lighthouse (mobile) on the built site")
    parser.add_argument("--lighthouse", help="the lighthouse command (default: node_modules, then PATH)")
    parser.add_argument("--keep", type=Path, help="write the JSON reports into this folder")
    parser.add_argument("--fixture-store", action="store_true",
                        help="build with a test image for every manifest entry (tests/fixture_store.py)")
    args = parser.parse_args(argv)

    from zimage_site.site import build_site

    cmd = find_lighthouse(args.lighthouse)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        if args.fixture_store:
            sys.path.insert(0, str(ROOT / "tests"))
            from fixture_store import build_with_fixture_store

            print(build_with_fixture_store(ROOT, out, Path(tmp) / "work").summary())
        else:
            print(build_site(ROOT, out).summary())
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(PagesLikeHandler, directory=str(out)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        reports = args.keep or Path(tmp)
        reports.mkdir(parents=True, exist_ok=True)
        failures: list[str] = []
        try:
            for lang, path in pages().items():
                lhr = run_lighthouse(cmd, base + path, reports / f"lighthouse-{lang}.json")
                cats = {k: v["score"] for k, v in lhr["categories"].items()}
                a = lhr["audits"]
                total = int(a["total-byte-weight"]["numericValue"])
                by = first_view(lhr)
                print(f"\n{path}  (Lighthouse {lhr['lighthouseVersion']}, mobile)")
                print("  scores: " + ", ".join(f"{k} {v:.2f}" for k, v in cats.items()))
                print(f"  LCP {a['largest-contentful-paint']['numericValue'] / 1000:.2f} s, "
                      f"CLS {a['cumulative-layout-shift']['numericValue']:.3f}, "
                      f"TBT {a['total-blocking-time']['numericValue']:.0f} ms, "
                      f"FCP {a['first-contentful-paint']['numericValue'] / 1000:.2f} s")
                lcp_el = a.get("largest-contentful-paint-element", {}).get("details", {})
                try:
                    node = lcp_el["items"][0]["items"][0]["node"]
                    print(f"  LCP element: {node.get('nodeLabel', '')[:60]!r} ({node.get('selector', '')})")
                except (KeyError, IndexError, TypeError):
                    pass
                print(f"  transferred: {total / 1024:.1f} KB in all; " +
                      ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in sorted(by.items())))
                blocking = a["render-blocking-resources"].get("details", {}).get("items", [])
                print(f"  render-blocking requests: {len(blocking)}" +
                      "".join(f"\n    {b['url']} ({b.get('totalBytes', 0) / 1024:.1f} KB)" for b in blocking))
                fv = sum(v for k, v in by.items() if k in ("Document", "Stylesheet", "Script", "Image"))
                print(f"  first view (HTML + CSS + JS + images): {fv / 1024:.1f} KB "
                      f"({'within' if fv <= BUDGET else 'OVER'} the {BUDGET // 1024} KB budget)")
                scrolled, images = scrolled_bytes(base + path)
                print(f"  scrolled to the end (phone, 412 px, DPR 1.75): {scrolled / 1024:.1f} KB, {images} image files "
                      f"({'within' if scrolled <= SCROLLED_BUDGET else 'OVER'} the "
                      f"{SCROLLED_BUDGET // 1024 // 1024} MB budget)")
                lcp = a["largest-contentful-paint"]["numericValue"] / 1000
                cls = a["cumulative-layout-shift"]["numericValue"]
                failures += [f"{path} {k} {v:.2f} < {TARGETS[k]:.2f}" for k, v in cats.items()
                             if v is not None and k in TARGETS and v < TARGETS[k]]
                failures += [f"{path} {what}" for what, bad in (
                    (f"LCP {lcp:.2f} s > {LCP_BUDGET_S} s", lcp > LCP_BUDGET_S), (f"CLS {cls:.3f} > 0", cls > 0),
                    (f"first view {fv / 1024:.0f} KB", fv > BUDGET),
                    (f"scrolled {scrolled / 1024:.0f} KB", scrolled > SCROLLED_BUDGET)) if bad]
        finally:
            httpd.shutdown()
    print("\n" + ("all targets met" if not failures else "missed: " + "; ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
