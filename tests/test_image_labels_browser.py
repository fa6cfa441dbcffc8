"""The visible AI label, in a real browser: Playwright drives Debian's Chromium over the site built
with a test image for every manifest entry (tests/fixture_store.py), served on 127.0.0.1.

For both languages, on a phone (390 px) and a desktop (1440 px): every generated image shown has
its label, drawn over the image's top corner, legible (at least 12 px, nothing covering it), in
the accessibility tree once per image (not in the alt text, not in a comparison's tabs); an image
a comparison hides (its tab not chosen) hides its label with it, and shows it when chosen; and
axe-core finds nothing on the page.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"zh": "/", "en": "/en/"}
LABEL = {"zh": "AI 生成", "en": "AI-generated"}
WIDTHS = {"phone": 390, "desktop": 1440}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]
RENDER_ALL = "main > .section, .site-footer { content-visibility: visible !important; }"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)"),
]
pytest.importorskip("playwright.sync_api", reason="needs the pip package playwright")
pytest.importorskip("skimage", reason="the test image store needs scikit-image")

# For every figure of a generated image: its label, where it is drawn, and what covers it.
MEASURE = """() => [...document.querySelectorAll('figure[data-image]:not([data-pending])')].map(fig => {
    const img = fig.querySelector('img');
    const labels = [...fig.querySelectorAll('[data-ai-label]')];
    const label = labels[0];
    const ib = img.getBoundingClientRect(), lb = label ? label.getBoundingClientRect() : null;
    const shown = el => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    let top = null;
    if (label && shown(label)) {
        label.scrollIntoView({block: 'center', inline: 'center'});
        const r = label.getBoundingClientRect();
        top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    }
    const b = label ? label.getBoundingClientRect() : null, i = img.getBoundingClientRect();
    return {
        id: fig.dataset.image, count: labels.length, text: label ? label.textContent : null,
        imgShown: shown(img), labelShown: shown(label),
        inside: !!b && b.left >= i.left && b.right <= i.right && b.top >= i.top && b.bottom <= i.bottom,
        fontSize: label ? parseFloat(getComputedStyle(label).fontSize) : 0,
        onTop: !!top && (top === label || label.contains(top)), topIs: top ? top.outerHTML.slice(0, 120) : null,
        alt: img.alt,
    };
})"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from fixture_store import build_with_fixture_store

    tmp = tmp_path_factory.mktemp("labels-browser")
    result = build_with_fixture_store(ROOT, tmp / "site", tmp / "work")
    assert result.placeholders == 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp / "site")))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("size", list(WIDTHS))
@pytest.mark.parametrize("lang", list(PAGES))
def test_every_generated_image_carries_its_visible_label(browser, server, lang: str, size: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": WIDTHS[size], "height": 900}, base_url=server,
                                  reduced_motion="reduce")
    try:
        page = context.new_page()
        page.goto(PAGES[lang], wait_until="networkidle")
        page.add_style_tag(content=RENDER_ALL)
        figures = page.evaluate(MEASURE)
        assert len(figures) >= 20
        for fig in figures:
            assert fig["count"] == 1 and fig["text"] == LABEL[lang], fig
            assert LABEL[lang] not in fig["alt"], fig  # heard once: not in the alt text as well
            assert fig["labelShown"] == fig["imgShown"], fig  # hidden with its image, never without it
            if fig["imgShown"]:
                assert fig["inside"] and fig["onTop"] and fig["fontSize"] >= 12, str(fig)
        assert sum(f["imgShown"] for f in figures) >= 15

        # the accessibility tree: once per image, and not in a comparison's tabs
        for fig in page.locator("figure[data-image]:not([data-pending])").all():
            if fig.is_visible():
                assert fig.aria_snapshot().count(LABEL[lang]) == 1
        for tabs in page.locator(".zcompare__tabs").all():
            if tabs.is_visible():
                assert LABEL[lang] not in tabs.aria_snapshot()

        if size == "phone":  # a comparison shows one image at a time: the chosen one shows its label
            compare = page.locator(".zcompare").first
            second = compare.locator("[role=tab]").nth(1)
            second.click()
            panel = compare.locator(f"#{second.get_attribute('aria-controls')}")
            assert panel.locator("[data-ai-label]").is_visible()
            assert compare.locator(".zimg:not(.is-active) [data-ai-label]").first.is_hidden()

        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
        assert results.violations_count == 0, results.generate_report()
    finally:
        context.close()
