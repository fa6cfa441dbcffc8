"""What a reader sees, in a real browser: Playwright drives Debian's Chromium.

The real site is built once through the engine into a temporary folder and served on
127.0.0.1. For both languages, on a phone (390×844) and a desktop (1440×900): no sideways
scrolling, no console errors or failed requests, the language switch keeps the section, the
FAQ opens from the keyboard, copy buttons copy, no layout shift, and axe-core finds nothing.
Screenshots of each page and size (light and dark) are kept under test-artifacts/.

Needs: /usr/bin/chromium (apt-get install chromium fonts-noto-cjk) and the pip packages
playwright and axe-playwright-python. Without Chromium every test is skipped, saying why.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import CHROMIUM, VIOLATIONS_ONLY, at_rest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
PAGES = {"zh": "/", "en": "/en/"}
SIZES = {"phone": (390, 844), "desktop": (1440, 900)}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]
# axe and full-page screenshots see what is rendered: lay out the sections content-visibility skips
RENDER_ALL = "main > .section, .site-footer { content-visibility: visible !important; }"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the pip package playwright")

# Counts layout shifts from the very start of the page (buffered entries included);
# window.__clsNow() also counts the entries not yet delivered to the observer.
CLS_OBSERVER = """
window.__cls = 0;
const count = (entries) => { for (const e of entries) if (!e.hadRecentInput) window.__cls += e.value; };
try {
  const observer = new PerformanceObserver((list) => count(list.getEntries()));
  observer.observe({type: "layout-shift", buffered: true});
  window.__clsNow = () => { count(observer.takeRecords()); return window.__cls; };
} catch (e) {
  window.__clsNow = () => window.__cls;
}
"""
# True once every image has loaded (or failed) and the web fonts are in: nothing left to shift.
SETTLED = """() => document.fonts.status === 'loaded'
    && [...document.images].every(img => img.complete)"""
# Two frames: whatever the last change laid out has been painted and reported.
AFTER_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _wait_for_scroll_to_settle(page) -> None:
    """Wait until a smooth scroll has come to rest (the same scrollY for 300 ms)."""
    page.evaluate("""() => new Promise((done) => {
        let last = -1, still = 0;
        const tick = () => {
            if (scrollY === last) { still += 1; if (still >= 6) return done(); } else { still = 0; last = scrollY; }
            setTimeout(tick, 50);
        };
        tick();
    })""")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    from zimage_site.site import build_site

    out = tmp_path_factory.mktemp("browser") / "site"
    build_site(ROOT, out)
    return out


@pytest.fixture(scope="session")
def server(site: Path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class Visit:
    """One page in one viewport, with every console error and failed request recorded."""

    def __init__(self, browser, base: str, lang: str, size: str, scheme: str = "light", **context) -> None:
        width, height = SIZES[size]
        # a reader who asked for reduced motion: nothing is measured halfway through a transition
        self.context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme,
                                           reduced_motion="reduce", base_url=base, **context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed request: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        self.page.add_init_script(CLS_OBSERVER)
        self.page.goto(PAGES[lang], wait_until="networkidle")

    def close(self) -> None:
        self.context.close()


@pytest.fixture(params=[(lang, size) for lang in PAGES for size in SIZES], ids=lambda p: f"{p[0]}-{p[1]}")
def visit(request, browser, server):
    lang, size = request.param
    v = Visit(browser, server, lang, size)
    v.lang, v.size = lang, size
    yield v
    v.close()


def test_loads_without_errors_or_sideways_scroll(visit: Visit, artifacts: Path) -> None:
    page = visit.page
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]} px wide in a {widths[1]} px viewport"
    # scroll through the whole page so lazy images load, then check again
    page.evaluate("""async () => {
        for (let y = 0; y < document.body.scrollHeight; y += innerHeight * 0.8) {
            scrollTo(0, y); await new Promise(r => setTimeout(r, 30));
        }
        scrollTo(0, 0);
    }""")
    page.wait_for_load_state("networkidle")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(el => { const r = el.getBoundingClientRect(); return r.width && r.right > document.documentElement.clientWidth + 1
                        && !el.closest('.chart, pre, table, .site-nav ul')
                        // rows that scroll sideways on phones: the row itself must fit, its items may not
                        && !el.parentElement.closest('.cards, .zgallery, .block-row'); })
        .slice(0, 5).map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))""")
    assert not wide, f"elements stick out of the viewport: {wide}"
    assert visit.errors == []
    page.add_style_tag(content=RENDER_ALL)  # a full-page screenshot shows what content-visibility skips
    page.screenshot(path=str(artifacts / f"{visit.lang}-{visit.size}-light.png"), full_page=True)


@pytest.mark.parametrize("lang", list(PAGES))
@pytest.mark.parametrize("size", list(SIZES))
def test_dark_theme_screenshots_and_contrast(browser, server, artifacts: Path, lang: str, size: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    v = Visit(browser, server, lang, size, scheme="dark")
    try:
        bg = v.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert bg != "rgb(255, 255, 255)" and bg != "rgb(251, 251, 253)", "the dark theme does not apply"
        v.page.add_style_tag(content=RENDER_ALL)
        v.page.screenshot(path=str(artifacts / f"{lang}-{size}-dark.png"), full_page=True)
        at_rest(v.page)
        results = Axe().run(v.page, options={"runOnly": {"type": "rule", "values": ["color-contrast"]},
                                             **VIOLATIONS_ONLY})
        assert results.violations_count == 0, results.generate_report()
        assert v.errors == []
    finally:
        v.close()


def test_axe_finds_no_violations(visit: Visit) -> None:
    from axe_playwright_python.sync_playwright import Axe

    # open every disclosure so their content is checked too
    visit.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    visit.page.add_style_tag(content=RENDER_ALL)
    at_rest(visit.page)
    results = Axe().run(visit.page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, **VIOLATIONS_ONLY})
    assert results.violations_count == 0, results.generate_report()


def test_no_layout_shift_and_every_image_has_its_box(visit: Visit) -> None:
    page = visit.page
    unsized = page.evaluate("""() => [...document.querySelectorAll('img, svg, video, iframe, [role=img]')]
        .filter(el => !el.closest('svg') || el.tagName.toLowerCase() === 'svg')
        .filter(el => {
            const hasAttrs = el.getAttribute('width') && el.getAttribute('height');
            const ratio = getComputedStyle(el).aspectRatio;
            const box = el.closest('[style*="aspect-ratio"]');
            return !(hasAttrs || (ratio && ratio !== 'auto') || box);
        }).map(el => el.outerHTML.slice(0, 120))""")
    assert unsized == [], f"elements without a box before they load: {unsized}"
    # scroll through the page a frame at a time, so each part is laid out and its images requested
    page.evaluate("""async () => {
        const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        for (let y = 0; y < document.body.scrollHeight; y += innerHeight * 0.8) {
            scrollTo(0, y); await frame();
        }
    }""")
    page.wait_for_load_state("networkidle")
    page.wait_for_function(SETTLED)
    page.evaluate(AFTER_TWO_FRAMES)
    assert page.evaluate("window.__clsNow()") == 0


def test_language_switch_keeps_the_section(browser, server) -> None:
    for lang, other in (("zh", "en"), ("en", "zh")):
        for size in SIZES:
            v = Visit(browser, server, lang, size)
            try:
                page = v.page
                page.click('.site-nav a[href="#faq"]')
                page.wait_for_function("location.hash === '#faq'")
                # the set-up of what is tested here (the switch): the FAQ at the top of the viewport,
                # placed again once the page has settled, so a late layout change cannot move it
                _wait_for_scroll_to_settle(page)
                page.evaluate("document.getElementById('faq').scrollIntoView({block: 'start', behavior: 'instant'})")
                page.wait_for_function("Math.abs(document.getElementById('faq').getBoundingClientRect().top) < 200")
                _wait_for_scroll_to_settle(page)
                # a real pointer click where the switch is on screen (a locator click may scroll first)
                box = page.locator(f"a[data-lang-switch][hreflang='{'zh-CN' if other == 'zh' else other}']").bounding_box()
                with page.expect_navigation():
                    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                page.wait_for_load_state("networkidle")
                assert page.url == f"{server}{PAGES[other]}#faq", f"{lang} {size}: landed on {page.url}"
                _wait_for_scroll_to_settle(page)
                top = page.evaluate("document.getElementById('faq').getBoundingClientRect().top")
                assert -5 < top < 200, f"{lang} {size}: #faq is not in view after the switch (top {top})"
                assert v.errors == []
            finally:
                v.close()


def test_language_switch_works_without_javascript(browser, server) -> None:
    v = Visit(browser, server, "zh", "phone", java_script_enabled=False)
    try:
        href = v.page.get_attribute("a[data-lang-switch]", "href")
        assert href == "/en/"
        v.page.click("a[data-lang-switch]")
        assert v.page.url == f"{server}/en/"
        # without JS the FAQ still opens, and nothing overflows
        v.page.click("#faq .faq__question >> nth=0")
        assert v.page.evaluate("document.querySelector('#faq details').open")
        assert v.page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    finally:
        v.close()


@pytest.mark.parametrize("key", ["Enter", " "], ids=["enter", "space"])
def test_faq_opens_from_the_keyboard(browser, server, key: str) -> None:
    for lang in PAGES:
        v = Visit(browser, server, lang, "phone")
        try:
            summary = v.page.locator("#faq details.faq__item summary").first
            summary.focus()
            assert v.page.evaluate("document.activeElement.tagName") == "SUMMARY"
            v.page.keyboard.press(key)
            assert v.page.evaluate("document.querySelector('#faq details.faq__item').open") is True
            answer = v.page.locator("#faq details.faq__item .faq__answer").first
            assert answer.is_visible()
            v.page.keyboard.press(key)
            assert v.page.evaluate("document.querySelector('#faq details.faq__item').open") is False
        finally:
            v.close()


def test_copy_buttons_copy(browser, server) -> None:
    for lang in PAGES:
        v = Visit(browser, server, lang, "desktop", permissions=["clipboard-read", "clipboard-write"])
        try:
            page = v.page
            buttons = page.locator("button.copy[data-copy]")
            count = buttons.count()
            assert count >= 3, "expected copy buttons on the code and the prompts"
            # a code block's button and a prompt's button
            for selector in (".code button.copy:visible", ".zgallery button.copy:visible", ".zcompare__prompt button.copy:visible"):
                button = page.locator(selector).first
                if not button.count():
                    continue
                expected = button.get_attribute("data-copy")
                label = button.inner_text()
                button.scroll_into_view_if_needed()
                # every text the button shows, recorded as it changes: the confirmation goes back to
                # the label after a while, which a slow machine must not be able to miss
                button.evaluate("""b => { b.__shown = [];
                    new MutationObserver(() => b.__shown.push(b.textContent))
                        .observe(b, {childList: true, characterData: true, subtree: true}); }""")
                button.click()
                page.wait_for_function("b => b.__shown.length > 0", arg=button.element_handle())
                assert button.evaluate("b => b.__shown[0]") in ("已复制", "Copied"), label
                assert page.evaluate("navigator.clipboard.readText()") == expected
            assert v.errors == []
        finally:
            v.close()


def test_chinese_page_has_no_english_ui_text(browser, server) -> None:
    """The UI strings (not the article, which names English models) are Chinese on the Chinese page."""
    v = Visit(browser, server, "zh", "phone")
    try:
        ui = v.page.evaluate("""() => [
            ...document.querySelectorAll(
                '.skip-link, .site-nav a, .lang-switch [aria-current], .copy, .note__label, ' +
                '.site-footer h2, .hero__eyebrow, .section__eyebrow')
        ].map(el => el.textContent.trim())""")
        english = [t for t in ui if t and t.isascii() and any(c.isalpha() for c in t)]
        assert english == [], f"English UI text on the Chinese page: {english}"
        labels = v.page.evaluate("[...document.querySelectorAll('[aria-label]')].map(e => e.getAttribute('aria-label'))")
        assert all(not (a.isascii() and any(c.isalpha() for c in a)) for a in labels), labels
    finally:
        v.close()
