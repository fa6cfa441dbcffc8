"""Languages come from site.yaml alone: the Traditional Chinese page derived from the Chinese one
(OpenCC and the site's glossary), and a fourth language written by hand, added from a fixture
without a change to the engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import lxml.html
import pytest
import yaml

from helpers import add_layout
from zimage_site.derive import Converter, load_glossary
from zimage_site.errors import ConfigError, SiteError
from zimage_site.site import build_site

REPO = Path(__file__).resolve().parent.parent
# the comments of highlighted code (Pygments' classes of Comment, Comment.Single, .Multiline, .Special)
COMMENTS = "//pre//span[@class='c' or @class='c1' or @class='cm' or @class='cs']"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

pytest.importorskip("opencc", reason="needs the pip package opencc (a dependency of the project)")


def _doc(path: Path):
    return lxml.html.fromstring(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "build"
    build_site(REPO, out, allow_placeholders=True)
    return out


def test_the_derived_page_is_traditional_chinese_with_the_glossary(built):
    zh, hant = _doc(built / "index.html"), _doc(built / "zh-hant" / "index.html")
    assert hant.get("lang") == "zh-Hant"
    text = hant.xpath("string(//main)")
    # the glossary wins over OpenCC's phrase tables
    assert "參數" in text and "引數" not in text
    assert "顯示記憶體" in text and "視訊記憶體" not in text and "顯存" not in text
    assert "儲存庫" in text and "倉庫" not in text  # a repository, not a warehouse
    assert "「造相」" in text and "“造相”" not in text  # the quotation marks of Taiwan and Hong Kong
    assert "局部重繪" in text and "區域性" not in text
    # OpenCC's own conversions (Taiwan phrases) stay
    assert "開源" in text and "程式碼" in text
    # no Simplified-only character is left in the text outside code and quoted prompts
    for node in hant.xpath("//pre|//code|//*[@lang and not(self::html)]|//script"):
        node.drop_tree()
    rest = hant.text_content()
    assert not [c for c in "这们说为时发数据图参显开线" if c in rest]
    # code (its comments aside: converted), ids, links and anchors are those of the Chinese page
    def code(d):
        for comment in d.xpath(COMMENTS):
            comment.drop_tree()
        return [e.text_content() for e in d.xpath("//pre|//code")]
    assert code(_doc(built / "zh-hant" / "index.html")) == code(_doc(built / "index.html"))
    assert _doc(built / "zh-hant" / "index.html").xpath("//@id") == zh.xpath("//@id")
    zh_links = [h for h in zh.xpath("//main//@href")]
    assert _doc(built / "zh-hant" / "index.html").xpath("//main//@href") == zh_links


def test_every_page_lists_the_derived_page(built):
    for page in ("index.html", "en/index.html", "zh-hant/index.html"):
        doc = _doc(built / page)
        assert doc.xpath('//link[@rel="alternate"][@hreflang="zh-Hant"]/@href') == \
            ["https://zimage-site.github.io/zh-hant/"]
        switch = doc.xpath('//nav[contains(@class, "lang-switch")]//*[@lang="zh-Hant"]')
        assert [e.text_content() for e in switch] == ["繁體中文"]
    hant = _doc(built / "zh-hant" / "index.html")
    assert hant.xpath('//link[@rel="canonical"]/@href') == ["https://zimage-site.github.io/zh-hant/"]
    assert hant.xpath('//nav[contains(@class, "lang-switch")]//*[@aria-current="page"]/@lang') == ["zh-Hant"]
    sitemap = (built / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://zimage-site.github.io/zh-hant/</loc>" in sitemap
    assert sitemap.count('hreflang="zh-Hant"') == 3
    not_found = _doc(built / "404.html")
    assert [e.xpath("string(h2)") for e in not_found.xpath('//*[@lang="zh-Hant"]')] == ["頁面不存在"]


def test_the_converter_leaves_code_urls_ids_and_quoted_prompts():
    conv = Converter("s2twp", (("参数", "參數"),))
    page = ('<html lang="zh-Hant"><head><title>模型参数</title><meta name="description" content="显示参数">'
            '<script>var s = "参数";</script><script type="application/ld+json">{"name":"参数"}</script></head>'
            '<body><h2 id="参数">参数与软件</h2><p><a href="/参数/" title="软件">软件</a><code>参数</code></p>'
            '<pre><code>print("软件")</code></pre><q lang="zh">软件参数</q><img alt="图像" src="a.png"></body></html>')
    out = conv.html(page, "zh-Hant")
    assert "<title>模型參數</title>" in out and 'content="顯示參數"' in out
    assert 'var s = "参数";' in out and '{"name":"參數"}' in out
    assert '<h2 id="参数">參數與軟體</h2>' in out
    assert '<a href="/参数/" title="軟體">軟體</a><code>参数</code>' in out
    assert '<pre><code>print("软件")</code></pre><q lang="zh">软件参数</q>' in out
    assert 'alt="影像"' in out
    # only the parts in the derived language on a page in another (the 404 page)
    other = conv.html('<html lang="zh-CN"><p>软件</p><div lang="zh-Hant"><p>软件</p></div></html>', "zh-Hant")
    assert other == '<html lang="zh-CN"><p>软件</p><div lang="zh-Hant"><p>軟體</p></div></html>'


def test_a_bad_glossary_names_its_file_line_and_key(tmp_path):
    (tmp_path / "content" / "i18n").mkdir(parents=True)
    name = "content/i18n/x.glossary.yaml"
    (tmp_path / name).write_text("terms:\n  参数: 參數\n  显存: ''\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_glossary(tmp_path, name)
    (problem,) = exc.value.problems
    assert (problem.file, problem.line, problem.key) == (name, 3, "terms.显存") and problem.fix
    (tmp_path / name).write_text("参数: 參數\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_glossary(tmp_path, name)
    assert exc.value.problems[0].file == name and "terms:" in exc.value.problems[0].fix


def _four_languages(tmp_path: Path) -> Path:
    """The bilingual fixture with the fourth-language fixture over it: site.yaml, the French
    sections and data, the glossary, and the French of every UI string added to the project's
    string files (as an author would write them)."""
    root = tmp_path / "site"
    shutil.copytree(FIXTURES / "bilingual", root)
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "static", root / "static")
    add_layout(root)
    overlay = FIXTURES / "fourth-language"
    shutil.copytree(overlay / "content", root / "content", dirs_exist_ok=True)
    shutil.copy(overlay / "site.yaml", root / "site.yaml")
    french = yaml.safe_load((overlay / "strings.fr.yaml").read_text(encoding="utf-8"))
    for path in (root / "templates" / "i18n").glob("*.yaml"):
        strings = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key, value in strings.items():
            value["fr"] = french[key]  # a key the fixture lacks fails here: the fixture must be whole
        path.write_text(yaml.safe_dump(strings, allow_unicode=True), encoding="utf-8")
    return root


def test_a_fourth_language_from_a_fixture(tmp_path):
    root = _four_languages(tmp_path)
    result = build_site(root, root / "build")
    assert result.languages == ["zh", "zh-Hant", "fr", "en"]
    fr = _doc(root / "build" / "fr" / "index.html")
    assert fr.get("lang") == "fr"
    main = fr.xpath("string(//main)")
    assert "Ce modèle a 6 Md" in main and "Paramètres" in main and "Rapport technique" in fr.text_content()
    assert fr.xpath('//*[contains(@class, "lang-switch__current")]/text()') == ["FR"]
    assert fr.xpath('//button[contains(@class, "copy")]/@data-copied') == ["Copié"]
    for page in ("index.html", "zh-hant/index.html", "en/index.html", "fr/index.html"):
        hreflangs = _doc(root / "build" / page).xpath('//link[@rel="alternate"]/@hreflang')
        assert hreflangs == ["zh-CN", "zh-Hant", "fr", "en", "x-default"]  # the order of site.yaml
    hant = _doc(root / "build" / "zh-hant" / "index.html").xpath("string(//main)")
    assert "60 億" in hant and "參數" in hant
    sitemap = (root / "build" / "sitemap.xml").read_text(encoding="utf-8")
    assert sitemap.count("<loc>") == 4


def test_a_missing_text_of_the_fourth_language_is_a_warning_with_its_line(tmp_path):
    root = _four_languages(tmp_path)
    facts = root / "content" / "data" / "facts.yaml"
    facts.write_text(facts.read_text(encoding="utf-8").replace(", fr: Étapes", ""), encoding="utf-8")
    result = build_site(root, root / "build")
    (warning,) = [w for w in result.warnings if w.key == "facts.steps.label"]
    assert (warning.file, warning.line) == ("content/data/facts.yaml", 6)
    assert "no fr text" in warning.message and warning.fix
    with pytest.raises(SiteError) as exc:
        build_site(root, root / "strict", strict=True)
    assert any(p.key == "facts.steps.label" for p in exc.value.problems)


def test_a_derived_language_needs_a_source_written_by_hand(tmp_path):
    root = _four_languages(tmp_path)
    config = root / "site.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("from: zh", "from: zh-Hant"), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        build_site(root, root / "build")
    (problem,) = exc.value.problems
    assert problem.key == "languages.zh-Hant.from" and problem.line == 16 and "zh, fr, en" in problem.fix


def test_the_language_switch_of_the_derived_page_in_chromium(built, browser):
    """From /zh-hant/, reading the FAQ, the switch leads to the same section of the Chinese page,
    and from there back to the Traditional Chinese one (site.js keeps the section)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    def switch(page, hreflang: str) -> None:
        """Go to the FAQ by the navigation, then click the switch with the pointer where it is."""
        page.click('.site-nav a[href="#faq"]')
        page.wait_for_function("location.hash === '#faq'")
        still = ("new Promise(done => { const y = scrollY; requestAnimationFrame(() => "
                 "requestAnimationFrame(() => done(scrollY === y))); })")
        # the smooth scroll has ended (the section read is decided at the click): still for two frames;
        # then the FAQ is placed at the top again, so a late layout change of the page cannot move it
        page.wait_for_function(still)
        page.evaluate("document.getElementById('faq').scrollIntoView({block: 'start', behavior: 'instant'})")
        page.wait_for_function("Math.abs(document.getElementById('faq').getBoundingClientRect().top) < 200")
        page.wait_for_function(still)
        box = page.locator(f"a[data-lang-switch][hreflang='{hreflang}']").bounding_box()
        with page.expect_navigation():
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_load_state("networkidle")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/zh-hant/")
        assert page.get_attribute("html", "lang") == "zh-Hant"
        assert page.inner_text(".lang-switch [aria-current=page]") == "繁體中文"
        switch(page, "zh-CN")
        assert page.url == f"{base}/#faq"
        assert page.get_attribute("html", "lang") == "zh-CN"
        switch(page, "zh-Hant")
        assert page.url == f"{base}/zh-hant/#faq"
        page.wait_for_function("Math.abs(document.getElementById('faq').getBoundingClientRect().top) < 200")
        # the copy button says its message in Traditional Chinese (data-copied, converted)
        assert page.get_attribute("button.copy[data-copied] >> nth=0", "data-copied") == "已複製"
        assert errors == []
    finally:
        context.close()
        httpd.shutdown()
        httpd.server_close()


def test_a_language_written_by_hand_needs_its_titles(tmp_path):
    root = _four_languages(tmp_path)
    config = root / "site.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("    description: Une page pour les tests.\n", ""),
                      encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        build_site(root, root / "build")
    (problem,) = exc.value.problems
    assert (problem.key, problem.line, problem.message) == ("languages.fr.description", 24, "missing value")
    assert problem.fix == "add description: … to languages.fr"


# -- the language switch: each language by its own name, in its own script, on every page

SWITCH = [("zh-CN", "简体中文"), ("en", "English"), ("zh-Hant", "繁體中文")]  # site.yaml's languages: names


def test_the_switch_names_each_language_in_its_own_script(built):
    """Not "中文" beside "繁體": the Simplified page's name stays Simplified on the derived page
    (its own lang keeps the converter off it), the Traditional one Traditional on the others."""
    for page, current in (("index.html", "zh-CN"), ("en/index.html", "en"), ("zh-hant/index.html", "zh-Hant")):
        doc = _doc(built / page)
        items = doc.xpath('//nav[contains(@class, "lang-switch")]/*')
        assert [(e.get("lang"), e.text_content()) for e in items] == SWITCH, page
        assert [e.get("lang") for e in items if e.get("aria-current") == "page"] == [current], page
        assert all(e.get("hreflang") == e.get("lang") for e in items if e.tag == "a"), page


@pytest.fixture(scope="module")
def served(built):
    """The built site over HTTP on 127.0.0.1."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("width", [390, 360])
def test_the_switch_fits_a_phone_on_every_page(served, browser, width):
    """Three names beside the brand on one row of a phone: no name breaks over two lines, nothing
    overlaps or sticks out; at 390 px the brand's name is whole (below 384 px the logo stands alone)."""
    context = browser.new_context(viewport={"width": width, "height": 844})
    try:
        page = context.new_page()
        for path in ("/", "/en/", "/zh-hant/"):
            page.goto(served + path, wait_until="networkidle")
            box = page.evaluate("""() => {
                const r = e => e.getBoundingClientRect(), name = document.querySelector('.brand__name');
                const items = [...document.querySelectorAll('.lang-switch > *')];
                return {
                    scroll: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
                    lines: items.map(e => Math.round(r(e).height / parseFloat(getComputedStyle(e).lineHeight))),
                    tops: items.map(e => Math.round(r(e).top)),
                    first: r(items[0]).left, last: r(items[items.length - 1]).right,
                    name: name.offsetParent === null ? null : {right: r(name).right, cut: name.scrollWidth > name.clientWidth},
                };
            }""")
            assert box["scroll"] <= box["view"], f"{path} at {width} px scrolls sideways"
            assert set(box["lines"]) == {1}, f"{path} at {width} px: a language name breaks: {box['lines']}"
            assert len(set(box["tops"])) == 1 and 0 <= box["first"] and box["last"] <= width, (path, width, box)
            if width >= 390:
                assert box["name"] is not None and not box["name"]["cut"], (path, box)
            if box["name"] is not None:
                assert box["name"]["right"] <= box["first"], f"{path} at {width} px: the brand runs under the switch"
    finally:
        context.close()


# -- what a reader in Taiwan or Hong Kong found: mainland wording, and the prompts as sent

# Mainland words of the Simplified sources, as OpenCC alone prints them on the derived page, that a
# reader in Taipei or Hong Kong stops at; the glossary gives Taiwan's wording.
MAINLAND = {
    "踩坑": "踩雷", "催更": "敲碗", "爆顯示記憶體": "顯示記憶體不足", "爆顯存": "顯示記憶體不足", "檔位": "級距",
    "C 盤": "C 槽", "鑑權": "驗證", "限流": "流量限制", "削峰": "緩衝尖峰流量", "能折騰": "能玩",
    "關注": "追蹤", "訪問": "連上", "顯式傳參": "明確傳入參數", "直接複用": "直接沿用", "門頭": "店面",
    "插兜": "插口袋", "哪兒": "哪裡", "全量訓練": "全參數訓練", "這檔": "這個級距", "每一檔": "每個級距",
    "第三檔": "第三個級距",
    # a second reading: 本地 of one's own machine, 按 of "according to", colloquialisms, terms
    "本地": "本機", "按顯示記憶體": "依顯示記憶體", "按下表": "依下表", "按設定": "依設定", "按需": "視需要",
    "按權重": "依權重", "按 bf16": "依 bf16", "按呼叫方": "依呼叫方", "是否按": "是否依照", "按 Elo": "依 Elo",
    "沒法": "沒辦法", "好折騰": "可玩性高", "省心": "最省事", "的坑": "先避開的雷", "體量": "規模更大",
    "批量": "大量產出", "榜單與生態": "排行榜與生態系", "門控": "閘控", "條形圖": "長條圖", "首幀": "開場畫面",
    "吊銷": "撤銷", "驅動、": "驅動程式、", "可擴展": "可擴充", "公眾號": "社群貼文封面", "主圖": "節慶主視覺",
    "瞭解": "了解", "窗臺": "窗台", "平臺": "平台", "映象": "鏡像", "跳到正文": "跳到主要內容",
}
# what is said once, at its first use: 魔搭 is ModelScope, 卸載 is offloading (not "uninstall")
FIRST_USE = {"魔搭（ModelScope）": 1, "卸載（offload）": 1}


def _prose(doc) -> str:
    """The text a reader meets (JSON-LD, the readable attributes and the comments of code included),
    without code and without what is quoted in its own language (the prompts as the model received
    them)."""
    comments = " ".join(c.text_content() for c in doc.xpath(COMMENTS))
    for node in doc.xpath("//pre|//code|//style|//script[not(@type='application/ld+json')]"
                          "|//body//*[@lang and not(ancestor::nav)]"):
        node.drop_tree()
    return doc.text_content() + " ".join(doc.xpath("//@alt|//@title|//@aria-label|//meta/@content")) + comments


def test_the_derived_page_reads_as_taiwan_writes(built):
    """None of the mainland words is left in the prose of /zh-hant/, each has Taiwan's word in its
    place, and the Simplified page keeps its own wording (the glossary is the derived page's)."""
    hant = _prose(_doc(built / "zh-hant" / "index.html"))
    left = {word: hant.count(word) for word in MAINLAND if word in hant}
    assert left == {}, f"mainland wording on /zh-hant/: {left}"
    assert all(taiwan in hant for taiwan in MAINLAND.values()), [t for t in MAINLAND.values() if t not in hant]
    assert {said: hant.count(said) for said in FIRST_USE} == FIRST_USE
    # a visual contrast in a sentence stays 對比; 按 "press" is not a mainland word, but none is left
    assert "對比" not in hant and "按" not in hant.replace("按下", "").replace("按鈕", "")
    zh = _prose(_doc(built / "index.html"))
    for simplified in ("踩坑", "催更", "爆显存", "档位", "C 盘", "鉴权", "限流", "削峰", "关注", "本地", "按显存",
                       "好折腾", "门控", "吊销", "公众号", "了解", "跳到正文"):
        assert simplified in zh, simplified  # the source says it: the check above is not empty


def _prompts(doc):
    """(label, lang, text, the copy button's text) of every prompt quoted on the page."""
    found = []
    for q in doc.xpath("//q[preceding-sibling::*[1][contains(@class, 'zimg__key')]]"):
        label = q.xpath("preceding-sibling::*[1]")[0].text_content()
        copy = q.xpath("following::button[contains(@class, 'copy')][1]/@data-copy")
        found.append((label, q.get("lang"), q.text_content(), copy[0] if copy else None))
    return found


def test_the_derived_page_shows_each_prompt_as_sent_and_says_so(built):
    """The model received Simplified prompts: /zh-hant/ quotes them unconverted, marked zh-Hans,
    labelled as the Simplified original; its copy buttons copy what the model received. The
    Simplified page labels the same prompts plainly, and an English prompt is a plain prompt."""
    zh = _prompts(_doc(built / "index.html"))
    hant = _prompts(_doc(built / "zh-hant" / "index.html"))
    assert len(zh) == len(hant) >= 15
    han = [(z, h) for z, h in zip(zh, hant) if z[1] == "zh-Hans"]
    assert len(han) >= 13 and {z[0] for z, _ in han} == {"提示词"}
    for z, h in han:
        assert h == ("提示詞（簡體中文原文）", "zh-Hans", z[2], z[3]), h
        assert h[3] == h[2]  # the button copies the prompt as quoted, as sent
    assert any(c in h[2] for _, h in han for c in "这们说为时发这图") # Simplified characters: not converted
    latin = [h for h in hant if h[1] == "en"]
    assert latin and {h[0] for h in latin} == {"提示詞"}
    en = _prompts(_doc(built / "en" / "index.html"))
    assert {p[1] for p in en} == {"zh-Hans", "en"} and "提示詞（簡體中文原文）" not in {p[0] for p in en}


def test_a_string_given_for_the_derived_language_replaces_the_converted_one():
    """The converter writes a UI string's own text for the derived language in the element marked
    with its key, escaped, its content dropped; elsewhere (another language, unmarked) it converts."""
    from zimage_site.markup import STRING_ATTR

    conv = Converter("s2twp", (), (("sent", "提示詞（簡體中文原文）<&>"),))
    page = (f'<p><span class="k" {STRING_ATTR}="sent">提示词<b>粗</b></span> <q lang="zh-Hans">软件</q>'
            f'<span {STRING_ATTR}="other">软件</span><i lang="en" {STRING_ATTR}="sent">Prompt</i></p>')
    out = conv.html(f'<html lang="zh-Hant">{page}</html>', "zh-Hant")
    assert out == ('<html lang="zh-Hant"><p><span class="k" data-string="sent">提示詞（簡體中文原文）&lt;&amp;&gt;</span>'
                   ' <q lang="zh-Hans">软件</q><span data-string="other">軟體</span>'
                   '<i lang="en" data-string="sent">Prompt</i></p></html>')


def test_the_strings_given_for_the_derived_language_come_from_templates_i18n(tmp_path):
    from zimage_site.derive import given_strings

    (tmp_path / "templates" / "i18n").mkdir(parents=True)
    (tmp_path / "templates" / "i18n" / "a.yaml").write_text(
        "x: {zh: 甲, en: A, zh-Hant: 甲乙}\ny: {zh: 乙, en: B}\n", encoding="utf-8")
    assert given_strings(tmp_path, "zh-Hant") == (("x", "甲乙"),)
    assert given_strings(tmp_path, "fr") == ()
    assert dict(given_strings(REPO, "zh-Hant"))["image_prompt_sent"] == "提示詞（簡體中文原文）"


def test_the_comments_of_code_are_converted_and_copied_as_shown():
    """In highlighted code (real Pygments) the comments are the page's prose and are converted, with
    the glossary; the code, its strings (a prompt stays as sent), a preprocessor line and a hashbang
    are not. The copy button copies the code as shown; a prompt's copy button copies it as sent."""
    from html import escape

    from zimage_site.markdown import highlight

    conv = Converter("s2twp", (("显存", "顯示記憶體"), ("“", "「"), ("”", "」")))
    python = ('#!/usr/bin/env python\nimport torch  # 从魔搭下载，显存够大见“常见问题”\n'
              'prompt = "一只猫，软件"  # 软件\n"""文档字符串"""\n')
    c = '#include "软件.h"\n/* 软件\n   数据 */\nint x = 1; // 软件\n'
    page = ""
    for source, lang in ((python, "python"), (c, "c")):
        code, known = highlight(source, lang)
        assert known
        page += (f'<div class="code"><button class="copy" data-copy="{escape(source)}" data-copied="已复制">复制</button>'
                 f'<pre class="highlight"><code>{code}</code></pre></div>')
    page += '<button class="copy" data-copy="一只猫，软件 # 软件">复制提示词</button>'  # a prompt: as sent
    out = conv.html(f'<html lang="zh-Hant"><body>{page}</body></html>', "zh-Hant")
    doc = lxml.html.fromstring(out)
    blocks = doc.xpath("//div[@class='code']")
    shown = [b.xpath("string(.//pre)") for b in blocks]
    assert shown[0] == ('#!/usr/bin/env python\nimport torch  # 從魔搭下載，顯示記憶體夠大見「常見問題」\n'
                        'prompt = "一只猫，软件"  # 軟體\n"""文档字符串"""\n')
    assert shown[1] == '#include "软件.h"\n/* 軟體\n   資料 */\nint x = 1; // 軟體\n'
    assert [b.xpath("string(.//button/@data-copy)") for b in blocks] == shown  # copy = shown
    assert [b.xpath("string(.//button/@data-copied)") for b in blocks] == ["已複製", "已複製"]
    assert doc.xpath("//body/button/@data-copy") == ["一只猫，软件 # 软件"]
    # a page in another language: its code and comments as written
    other = conv.html(f'<html lang="zh-CN"><body>{page}</body></html>', "zh-Hant")
    assert other == f'<html lang="zh-CN"><body>{page}</body></html>'


def test_the_derived_page_copies_its_code_as_shown(built):
    """On /zh-hant/ the comments of the code blocks are Traditional Chinese (the glossary applied)
    and each copy button copies its block as shown; the Chinese page's comments are its own."""
    hant, zh = _doc(built / "zh-hant" / "index.html"), _doc(built / "index.html")
    comments = [c.text_content() for c in hant.xpath(COMMENTS)]
    assert comments and len(comments) == len(zh.xpath(COMMENTS))
    assert not [c for c in comments if any(s in c for s in "从载缓显装")], comments
    text = " ".join(comments)
    assert "從魔搭下載到本機快取" in text and "中國大陸" in text and "「常見問題」" in text
    assert "从魔搭下载到本地缓存" in " ".join(c.text_content() for c in zh.xpath(COMMENTS))
    for page in (hant, zh):
        blocks = page.xpath("//div[@class='code']")
        assert blocks and all(b.xpath("string(.//button/@data-copy)") == b.xpath("string(.//pre)") for b in blocks)
    # the prompts in the code's strings stay as sent
    strings = lambda d: [s.text_content() for s in d.xpath("//pre//span[starts-with(@class, 's')]")]
    assert strings(hant) == strings(zh) and any("一只橘猫" in s for s in strings(hant))
