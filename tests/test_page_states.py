"""The page in its two states: every image pending (what the committed, empty store gives) and
every image present (a store of test images made from sample photographs, tests/fixture_store.py),
in real Chromium at 390 and 1440 px."""

from __future__ import annotations

import functools
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import AT_REST, CHROMIUM, VIOLATIONS_ONLY, at_rest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
PAGES = {"zh": "/", "en": "/en/"}
WIDTHS = {"phone": 390, "desktop": 1440}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]
NO_CV = "* { content-visibility: visible !important; }"
# each image block on its own (a gallery's or a row's items one by one: a row is one line high in both states)
BLOCKS = ".zgallery > .zimg, .zcompare, .prose > .zimg, .block-row > .zimg"
# What differs between the two states; the rest of the page is test_browser.py's to check with axe.
IMAGE_PARTS = {"include": [[".hero"], [".zgallery"], [".zcompare"], [".prose > .zimg"]]}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]
pytest.importorskip("playwright.sync_api", reason="needs the pip package playwright")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _serve(folder: Path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture(scope="session")
def pending_build(tmp_path_factory):
    from zimage_site.site import build_site

    out = tmp_path_factory.mktemp("pending") / "site"
    result = build_site(ROOT, out)
    return out, result


@pytest.fixture(scope="session")
def full_build(tmp_path_factory):
    pytest.importorskip("skimage", reason="the test image store needs scikit-image")
    from fixture_store import build_with_fixture_store

    tmp = tmp_path_factory.mktemp("full")
    result = build_with_fixture_store(ROOT, tmp / "site", tmp / "work")
    return tmp / "site", result


@pytest.fixture(scope="session")
def servers(pending_build, full_build):
    a, pending = _serve(pending_build[0])
    b, full = _serve(full_build[0])
    yield {"pending": pending, "full": full}
    for httpd in (a, b):
        httpd.shutdown()
        httpd.server_close()


def _open(browser, base: str, lang: str, width: int, *, scheme="light", js=True, motion="reduce"):
    # a reader who asked for reduced motion by default: nothing is measured halfway through a transition
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, base_url=base,
                                  java_script_enabled=js, reduced_motion=motion)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    page.add_init_script("""
        window.__cls = 0; window.__lcp = null;
        new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__cls += e.value; })
            .observe({type: 'layout-shift', buffered: true});
        new PerformanceObserver(l => { const e = l.getEntries().at(-1); window.__lcp = e && e.element; })
            .observe({type: 'largest-contentful-paint', buffered: true});
    """)
    page.goto(PAGES[lang], wait_until="load")
    return context, page, errors


def _scroll_through(page) -> None:
    page.evaluate("""async () => {
        const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        for (let y = 0; y < document.body.scrollHeight; y += innerHeight * 0.8) { scrollTo(0, y); await frame(); }
        // rows that scroll sideways on phones: swipe each one through, as a reader would
        for (const row of document.querySelectorAll('.zgallery, .block-row')) {
            if (row.scrollWidth <= row.clientWidth) continue;
            row.scrollIntoView({block: 'center'});
            for (let x = 0; x <= row.scrollWidth; x += row.clientWidth * 0.8) { row.scrollLeft = x; await frame(); }
        }
    }""")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => [...document.images].every(i => i.complete || !i.getClientRects().length)"
                           " && document.fonts.status === 'loaded'")


# --------------------------------------------------------------------------- the builds


def test_both_builds_count_their_images(pending_build, full_build):
    pending, full = pending_build[1].summary(), full_build[1].summary()
    assert "0 images (27 placeholders)" in pending
    assert "27 images (0 placeholders)" in full and "0 warnings" in full
    html = (pending_build[0] / "index.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'data-image="([^"]+)" data-pending', html))
    assert len(ids) == 27, "every pending image keeps its data-pending mark for zimage-site check"
    assert "zimg__frame" not in html and "<picture" not in html
    assert "data-pending" not in (full_build[0] / "index.html").read_text(encoding="utf-8")


def test_strict_build_still_refuses_pending_images(tmp_path):
    from zimage_site.errors import SiteError
    from zimage_site.site import build_site

    with pytest.raises(SiteError, match="27 image"):
        build_site(ROOT, tmp_path / "out", strict=True)


def test_the_production_build_refuses_test_images(tmp_path, full_build):
    """The same fixture store, built without the tests' permission: every image is a placeholder."""
    from zimage_site.site import build_site

    site = full_build[0].parent / "work" / "site"  # the copy of the site holding the fixture store
    result = build_site(site, tmp_path / "out")
    assert "0 images (27 placeholders)" in result.summary()
    assert any("made by a test pipeline, not by Z-Image; ignored" in w.format() for w in result.warnings)


# --------------------------------------------------------------------------- all pending


@pytest.mark.parametrize("size", list(WIDTHS))
def test_pending_blocks_are_compact_and_the_hero_keeps_its_box(browser, servers, size):
    width = WIDTHS[size]
    heights = {}
    for state in ("pending", "full"):
        context, page, errors = _open(browser, servers[state], "zh", width)
        try:
            page.add_style_tag(content=NO_CV)
            heights[state] = page.evaluate(f"""() => ({{
                blocks: [...document.querySelectorAll('{BLOCKS}')].reduce((a, e) => a + e.getBoundingClientRect().height, 0),
                hero: document.querySelector('.hero .hero-art, .hero .zimg__frame').getBoundingClientRect().height,
                page: document.documentElement.scrollHeight,
            }})""")
            assert errors == []
        finally:
            context.close()
    p, f = heights["pending"], heights["full"]
    assert p["blocks"] <= 0.5 * f["blocks"], f"pending blocks {p['blocks']:.0f} px vs {f['blocks']:.0f} px with images"
    assert abs(p["hero"] - f["hero"]) <= 1, "the hero's illustration has the image's box"
    assert p["page"] < f["page"]


def test_the_hero_shows_the_drawn_illustration(browser, servers):
    for scheme in ("light", "dark"):
        context, page, _ = _open(browser, servers["pending"], "en", 390, scheme=scheme)
        try:
            art = page.locator(".hero .hero-art")
            assert art.get_attribute("data-pending") is not None
            svg = art.locator("svg")
            assert svg.get_attribute("aria-hidden") == "true"
            assert svg.locator("text").count() == 0, "the illustration carries no text"
            fill = page.evaluate("getComputedStyle(document.querySelector('.hero-art__hill1')).fill")
            assert fill != "rgb(0, 0, 0)", "the illustration takes its colours from the theme"
        finally:
            context.close()


# --------------------------------------------------------------------------- all images present


# Each width once, in one language each (axe on the whole page is the slow part); the pending
# state's axe runs are test_browser.py's, on both languages and widths.
@pytest.mark.parametrize(("lang", "size"), [("zh", "phone"), ("en", "desktop")])
def test_full_page_is_clean_and_fast(browser, servers, lang, size):
    from axe_playwright_python.sync_playwright import Axe

    width = WIDTHS[size]
    context, page, errors = _open(browser, servers["full"], lang, width)
    try:
        # the first view loads the hero only: everything below the fold waits (lazy)
        page.wait_for_load_state("networkidle")
        loaded = page.evaluate("""() => performance.getEntriesByType('resource')
            .filter(r => r.name.includes('/img/')).map(r => r.name.split('/img/')[1].split('.')[0])""")
        assert loaded == ["hero-cover"], loaded
        # the largest paint is reported once painted: wait for the entry, then check it is the hero
        page.wait_for_function("window.__lcp !== null")
        assert page.evaluate("window.__lcp.tagName + ' ' + Boolean(window.__lcp.closest('.hero'))") == "IMG true"
        _scroll_through(page)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert page.evaluate("window.__cls") == 0
        # no image wider than it needs to be: the smallest candidate that covers its box
        too_wide = page.evaluate("""() => [...document.querySelectorAll('picture img')].filter(img => img.currentSrc)
            .map(img => {
                const source = img.parentElement.querySelector('source');
                const widths = source.srcset.split(',').map(s => parseInt(s.trim().split(' ')[1]));
                const box = img.getBoundingClientRect().width * devicePixelRatio;
                const need = widths.filter(w => w >= box - 1).sort((a, b) => a - b)[0] || Math.max(...widths);
                return {id: img.closest('[data-image]').dataset.image, box: Math.round(box), got: img.naturalWidth, need};
            }).filter(x => x.got > x.need)""")
        assert too_wide == []
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1]
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.add_style_tag(content=NO_CV)
        at_rest(page)
        results = Axe().run(page, context=IMAGE_PARTS,
                            options={"runOnly": {"type": "tag", "values": AXE_TAGS}, **VIOLATIONS_ONLY})
        assert results.violations_count == 0, results.generate_report()
        assert errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.evaluate("scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"full-{lang}-{size}-light.png"))
        # the dark theme, same page: contrast of everything the images brought
        page.emulate_media(color_scheme="dark")
        at_rest(page)  # measured once the colours have settled
        results = Axe().run(page, context=IMAGE_PARTS,
                            options={"runOnly": {"type": "rule", "values": ["color-contrast"]}, **VIOLATIONS_ONLY})
        assert results.violations_count == 0, results.generate_report()
        page.screenshot(path=str(ARTIFACTS / f"full-{lang}-{size}-dark.png"))
    finally:
        context.close()


def test_the_hero_image_is_found_in_the_html(full_build):
    """The LCP image needs no CSS or JS to be discovered: the first <picture> of the HTML is the
    hero's, its <img> eager and high priority, with responsive candidates and sizes; every other
    image is lazy."""
    for path in ("index.html", "en/index.html"):
        html = (full_build[0] / path).read_text(encoding="utf-8")
        pictures = re.findall(r'data-image="([^"]+)">\s*<picture.*?</picture>', html, re.S)
        assert pictures[0] == "hero-cover"
        blocks = re.findall(r"<picture.*?</picture>", html, re.S)
        hero = blocks[0]
        assert len(blocks) == 27
        assert 'loading="eager"' in hero and 'fetchpriority="high"' in hero
        srcset = re.search(r'<source type="image/avif" srcset="([^"]+)" sizes="([^"]+)"', hero)
        assert srcset and srcset[1].count("w,") >= 2 and srcset[2]
        assert all('loading="lazy"' in b and "fetchpriority" not in b for b in blocks[1:])


def test_the_page_honours_reduced_motion(browser, servers):
    """A reader who asked for reduced motion gets none: no transition is declared, and none runs
    when the theme switches. Without the request the buttons and disclosures keep theirs."""
    running = "() => document.getAnimations().filter(a => a.playState === 'running').length"
    durations = """() => [...document.querySelectorAll('.button, .faq__question')].flatMap(e =>
        [getComputedStyle(e).transitionDuration, getComputedStyle(e, '::after').transitionDuration])"""
    seen = {}
    for motion in ("reduce", "no-preference"):
        context, page, errors = _open(browser, servers["full"], "zh", 390, motion=motion)
        try:
            page.wait_for_function(AT_REST)
            seen[motion] = set(page.evaluate(durations))
            page.emulate_media(color_scheme="dark")
            if motion == "reduce":
                assert page.evaluate(running) == 0, "a transition runs although the reader asked for none"
            assert errors == []
        finally:
            context.close()
    assert seen["reduce"] == {"0s"}
    assert seen["no-preference"] - {"0s"}, "without the request the buttons have their transition"


# --------------------------------------------------------------------------- the comparison view


def test_comparison_tabs_on_a_phone(browser, servers):
    context, page, errors = _open(browser, servers["full"], "en", 390)
    try:
        box = page.locator('.zcompare[data-set="steps"]')
        box.scroll_into_view_if_needed()
        tabs = box.locator('[role="tab"]')
        panels = box.locator(".zcompare__grid > .zimg")
        assert tabs.count() == panels.count() == 3
        assert box.locator('[role="tablist"]').is_visible()
        visible = lambda: [panels.nth(i).is_visible() for i in range(3)]  # noqa: E731
        assert visible() == [True, False, False]
        assert panels.nth(0).get_attribute("role") == "tabpanel"
        assert panels.nth(0).get_attribute("aria-labelledby") == tabs.nth(0).get_attribute("id")
        tabs.nth(0).focus()
        page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.getAttribute('aria-selected')") == "true"
        assert tabs.nth(1).get_attribute("aria-selected") == "true" and tabs.nth(0).get_attribute("aria-selected") == "false"
        assert visible() == [False, True, False]
        page.keyboard.press("End")
        assert visible() == [False, False, True]
        page.keyboard.press("ArrowRight")  # wraps around
        assert visible() == [True, False, False]
        tabs.nth(2).click()
        assert visible() == [False, False, True]
        # wider: side by side again, no tab semantics left on the images
        page.set_viewport_size({"width": 1000, "height": 900})
        assert not box.locator('[role="tablist"]').is_visible()
        tops = [round(panels.nth(i).bounding_box()["y"]) for i in range(3)]
        assert len(set(tops)) == 1 and panels.nth(0).get_attribute("role") is None
        assert errors == []
    finally:
        context.close()


def test_comparison_is_a_plain_grid_without_javascript(browser, servers):
    context, page, _ = _open(browser, servers["full"], "zh", 390, js=False)
    try:
        box = page.locator('.zcompare[data-set="steps"]')
        box.scroll_into_view_if_needed()
        assert not box.locator('[role="tablist"]').is_visible()
        panels = box.locator(".zcompare__grid > .zimg")
        assert all(panels.nth(i).is_visible() for i in range(panels.count()))
    finally:
        context.close()


@pytest.mark.parametrize("size", list(WIDTHS))
def test_the_architecture_diagram(browser, servers, size):
    context, page, _ = _open(browser, servers["pending"], "zh", WIDTHS[size])
    try:
        fig = page.locator(".chart--architecture")
        fig.scroll_into_view_if_needed()
        svg = fig.locator("svg")
        assert svg.get_attribute("role") == "img"
        desc = page.evaluate("document.getElementById(document.querySelector('.chart--architecture svg')"
                             ".getAttribute('aria-labelledby').split(' ')[1]).textContent")
        for number in ("30", "3840", "36", "2560", "512", "16", "6.15"):
            assert number in desc
        width = svg.bounding_box()["width"]
        assert width <= WIDTHS[size]
        smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('.chart--architecture svg text')]
            .map(t => t.getBoundingClientRect().height))""")
        assert smallest >= 9, f"diagram text renders {smallest:.1f} px high"
        sources = fig.locator(".chart__source a")
        assert sources.count() >= 2
    finally:
        context.close()
