"""Build the site and print the page heights in Chromium at 390 and 1440 px.

    python scripts/page_heights.py [--fixture-store]

`content-visibility` is switched off, so every section is laid out at its real height. With
--fixture-store the build uses a store of test images (tests/fixture_store.py) for every entry of
content/images.yaml; without it, whatever images/ holds (nothing: every image pending).
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = {"zh": "/", "en": "/en/"}
WIDTHS = (390, 1440)
NO_CV = "* { content-visibility: visible !important; }"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def measure(out: Path) -> dict[tuple[str, int], int]:
    from playwright.sync_api import sync_playwright

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    heights = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for lang, path in PAGES.items():
                for width in WIDTHS:
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.goto(base + path, wait_until="load")
                    page.add_style_tag(content=NO_CV)
                    page.evaluate("document.fonts.ready")
                    heights[(lang, width)] = page.evaluate("document.documentElement.scrollHeight")
                    page.close()
            browser.close()
    finally:
        httpd.shutdown()
    return heights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture-store", action="store_true", help="build with a test image for every entry")
    args = parser.parse_args(argv)
    from zimage_site.site import build_site

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        if args.fixture_store:
            sys.path.insert(0, str(ROOT / "tests"))
            from fixture_store import build_with_fixture_store

            print(build_with_fixture_store(ROOT, out, Path(tmp) / "work").summary())
        else:
            print(build_site(ROOT, out).summary())
        for (lang, width), h in measure(out).items():
            print(f"{PAGES[lang]:5} {width:5} px wide: {h:6} px high")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
