"""The build engine on fixture sites: structure of the output, parsed, and the errors users meet."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import lxml.html
import pytest

from helpers import REPO, new_site
from zimage_site.cli import main
from zimage_site.site import build_site

SECTION_IDS = ["intro", "faq"]


def parse(path: Path):
    return lxml.html.fromstring(path.read_bytes())


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- good sites

def test_minimal_site(site_factory, capsys):
    root = site_factory("minimal")
    code, out, err = run_cli(capsys, "build", "--root", str(root))
    assert code == 0, err
    assert re.fullmatch(r"built zh \(1 pages, 1 sections each\), 0 images \(0 placeholders\), 0 warnings in \d+\.\d\d s → .*build\n", out)
    doc = parse(root / "build/index.html")
    assert doc.get("lang") == "zh-CN"
    assert [s.get("id") for s in doc.xpath("//main/section")] == ["hello"]
    assert not (root / "build/en").exists()
    assert (root / "build/404.html").exists() and (root / "build/.nojekyll").exists()


@pytest.fixture
def bilingual(site_factory):
    root = site_factory("bilingual")
    result = build_site(root)
    return root, result


def test_bilingual_pages_structure(bilingual):
    root, result = bilingual
    assert result.warnings == []
    pages = {"zh": root / "build/index.html", "en": root / "build/en/index.html"}
    for lang, path in pages.items():
        doc = parse(path)
        assert doc.get("lang") == {"zh": "zh-CN", "en": "en"}[lang]
        assert [s.get("id") for s in doc.xpath("//main/section")] == SECTION_IDS
        alts = {link.get("hreflang"): link.get("href") for link in doc.xpath('//link[@rel="alternate"]')}
        assert alts == {"zh-CN": "https://fixture.example.org/", "en": "https://fixture.example.org/en/",
                        "x-default": "https://fixture.example.org/"}
        canonical = doc.xpath('//link[@rel="canonical"]/@href')
        assert canonical == [alts["zh-CN" if lang == "zh" else "en"]]
        meta = {m.get("property") or m.get("name"): m.get("content") for m in doc.xpath("//meta")}
        assert meta["og:locale"] == {"zh": "zh_CN", "en": "en_US"}[lang]
        assert meta["og:image"] == "https://fixture.example.org/assets/img/og.png"
        assert meta["twitter:card"] == "summary_large_image"
        assert meta["theme-color"] == "#112233"
        assert meta["description"]
        assert doc.xpath('//link[@rel="icon"]/@type') == ["image/svg+xml"]
        # JSON-LD: WebPage, SoftwareApplication and the FAQ from the faq block
        [script] = doc.xpath('//script[@type="application/ld+json"]')
        graph = {node["@type"]: node for node in json.loads(script.text)["@graph"]}
        assert set(graph) == {"WebPage", "SoftwareApplication", "FAQPage"}
        questions = [q["name"] for q in graph["FAQPage"]["mainEntity"]]
        assert questions == {"zh": ["需要多大显存？", "能商用吗？"], "en": ["How much memory?", "Commercial use?"]}[lang]
        answers = [q["acceptedAnswer"]["text"] for q in graph["FAQPage"]["mainEntity"]]
        assert answers[0].startswith("16 GB")
        assert answers[1] in ("可以，Apache-2.0。", "Yes, Apache-2.0."), "no [n] marks of footnotes in JSON-LD"
        # the language switch points at the other page
        switch = doc.xpath("//a[@data-lang-switch]/@href")
        assert switch == [{"zh": "/en/", "en": "/"}[lang]]
        # no live-reload script in a build
        assert "livereload" not in path.read_text()


def test_facts_link_to_numbered_sources(bilingual):
    root, _ = bilingual
    doc = parse(root / "build/index.html")
    facts = doc.xpath('//span[@class="fact"]')
    assert [f.get("data-fact") for f in facts] == ["params", "steps", "score"]
    assert facts[0].text == "60 亿" and facts[1].text == "8"
    refs = [(a.get("href"), a.text) for a in doc.xpath('//sup[@class="fact-src"]/a')]
    # readme is cited first, so it is [1]; the report second
    assert refs[:2] == [("#source-readme", "[1]"), ("#source-readme", "[1]")]
    # one marker per source and paragraph: "60 亿[1] 参数，只需 8 步" (steps shares params' readme)
    paragraph = facts[0].getparent()
    assert [a.get("href") for a in paragraph.xpath('.//sup[@class="fact-src"]/a')] == ["#source-readme"]
    nxt = facts[1].getnext()
    assert nxt is None or nxt.tag != "sup", "the second readme fact of the paragraph has no marker of its own"
    assert ("#source-report", "[2]") in refs
    sources = doc.xpath('//ol[@class="sources"]/li')
    assert [(li.get("id"), li.get("value"), li.xpath("a/@href")[0]) for li in sources] == [
        ("source-readme", "1", "https://github.com/example/model"),
        ("source-report", "2", "https://arxiv.org/abs/0000.00000")]
    assert sources[1].xpath("a")[0].text == "技术报告"
    stats = doc.xpath('//div[@class="stat"]')
    assert [s.get("data-fact") for s in stats] == ["params", "score"]
    assert "测试得分" in stats[1].text_content()


def test_blocks_render_through_partials(bilingual):
    root, _ = bilingual
    doc = parse(root / "build/index.html")
    buttons = doc.xpath('//div[@class="cta"]/a')
    assert [(b.get("href"), b.get("class")) for b in buttons] == [
        ("https://github.com/Tongyi-MAI/Z-Image", "button button--primary"), ("#faq", "button button--secondary")]
    details = doc.xpath('//div[@class="faq"]/details')
    assert [d.xpath("summary")[0].text_content() for d in details] == ["需要多大显存？", "能商用吗？"]
    assert details[0].xpath("summary/strong")[0].text == "显存", "question titles are Markdown, rendered"
    assert doc.xpath('//aside[contains(@class, "note--warning")]//strong')[0].text == "bf16"
    assert [h.text for h in doc.xpath('//div[@class="cards"]/article/h3')] == ["Turbo", "Edit"]
    # {data} role
    assert "下载页面" in doc.xpath('//section[@id="intro"]')[0].text_content()
    # heading ids are prefixed with their section, footnotes are unique per section
    assert doc.xpath('//section[@id="faq"]//h3')[0].get("id") == "faq-小节标题"
    assert doc.xpath('//*[starts-with(@id, "fn-faq-")]')


def test_code_is_highlighted_with_classes_and_escaped(bilingual):
    root, _ = bilingual
    html = (root / "build/index.html").read_text()
    doc = parse(root / "build/index.html")
    [pre] = doc.xpath('//pre[@class="highlight"]')
    assert pre.xpath(".//span[@class]"), "Pygments should mark tokens with classes"
    assert not doc.xpath("//pre//*[@style]")
    assert "<script>\")" not in html and "&lt;script&gt;" in html
    css = next((root / "build/assets").glob("site.*.css")).read_text()
    assert ".highlight .k" in css and "prefers-color-scheme: dark" in css


def test_sitemap_robots_and_hashed_assets(bilingual):
    root, _ = bilingual
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    tree = ET.parse(root / "build/sitemap.xml")
    urls = tree.findall("s:url", ns)
    assert [u.find("s:loc", ns).text for u in urls] == ["https://fixture.example.org/", "https://fixture.example.org/en/"]
    for url in urls:
        alts = {link.get("hreflang"): link.get("href") for link in url.findall("x:link", ns)}
        assert alts == {"zh-CN": "https://fixture.example.org/", "en": "https://fixture.example.org/en/",
                        "x-default": "https://fixture.example.org/"}
    robots = (root / "build/robots.txt").read_text()
    assert "Sitemap: https://fixture.example.org/sitemap.xml" in robots
    doc = parse(root / "build/index.html")
    [css] = doc.xpath('//link[@rel="stylesheet"]/@href')
    [js] = doc.xpath("//script[@src]/@src")
    assert re.fullmatch(r"/assets/site\.[0-9a-f]{10}\.css", css)
    assert re.fullmatch(r"/assets/js/site\.[0-9a-f]{10}\.js", js)
    assert (root / "build" / css.lstrip("/")).is_file() and (root / "build" / js.lstrip("/")).is_file()


def test_sub_path_base_url(site_factory):
    root = site_factory("bilingual")
    build_site(root, base_url="https://example.github.io/repo/")
    for page in ("index.html", "en/index.html", "404.html"):
        doc = parse(root / "build" / page)
        for el in doc.xpath("//*[@href or @src]"):
            url = el.get("href") or el.get("src")
            if url.startswith(("http://", "https://", "#")):
                continue
            assert url.startswith("/repo/"), f"{page}: {url}"
            target = root / "build" / url.removeprefix("/repo/")
            assert target.exists() or (target / "index.html").exists(), f"{page}: {url}"
    doc = parse(root / "build/en/index.html")
    assert doc.xpath('//link[@rel="canonical"]/@href') == ["https://example.github.io/repo/en/"]
    assert doc.xpath("//a[@data-lang-switch]/@href") == ["/repo/"]
    assert "https://example.github.io/repo/sitemap.xml" in (root / "build/robots.txt").read_text()


def test_stale_files_disappear_and_rebuild_is_identical(site_factory):
    root = site_factory("bilingual")
    build_site(root)
    (root / "build/stale.html").write_text("old")
    first = (root / "build/index.html").read_bytes()
    build_site(root)
    assert not (root / "build/stale.html").exists()
    assert (root / "build/index.html").read_bytes() == first
    assert not [p for p in root.iterdir() if p.name.startswith(".build-")]


def test_missing_translation_is_a_warning_and_strict_fails(site_factory, capsys):
    root = site_factory("bilingual")
    (root / "content/en/02-faq.md").unlink()
    (root / "content/en/01-intro.md").write_text(
        (root / "content/en/01-intro.md").read_text().replace("[FAQ](#faq)", "FAQ").replace('"#faq"', '"#intro"'))
    code, out, err = run_cli(capsys, "build", "--root", str(root))
    assert code == 0
    assert "warning: content/zh/02-faq.md: section 'faq' has no en translation; the en page leaves it out" in err
    assert "1 warning in" in out
    code, out, err = run_cli(capsys, "build", "--root", str(root), "--strict", "--out", str(root / "strict-out"))
    assert code == 1
    assert "error: content/zh/02-faq.md: section 'faq' has no en translation" in err
    assert "this is an error because of --strict" in err
    assert not (root / "strict-out").exists()


def test_output_folder_that_would_destroy_sources_is_refused(site_factory, capsys):
    root = site_factory("minimal")
    code, _, err = run_cli(capsys, "build", "--root", str(root), "--out", str(root))
    assert code == 1
    assert "is the site folder or contains it" in err
    assert (root / "content/zh/01-hello.md").exists()


def test_user_content_is_escaped_and_unsafe_attributes_dropped(site_factory):
    root = site_factory("minimal")
    page = root / "content/zh/01-hello.md"
    page.write_text(page.read_text().replace("title: 你好", 'title: "<img src=x onerror=alert(1)>"')
                    + "\n[链接](https://example.org){style=\"position:fixed;inset:0\" .big #here}\n"
                    + "\n<script>alert(1)</script>\n\n[坏链接](javascript:alert(1))\n")
    build_site(root)
    html = (root / "build/index.html").read_text()
    doc = parse(root / "build/index.html")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    [link] = doc.xpath('//a[@href="https://example.org"]')
    assert (link.get("class"), link.get("id"), link.get("style")) == ("big", "here", None)
    assert "<script>alert(1)</script>" not in html
    assert 'href="javascript:' not in html


# --------------------------------------------------------------------------- broken sites

def build_broken(capsys, root: Path) -> tuple[int, str]:
    """Build once (good), break the site, build again: return (code, stderr); assert build/ survived."""
    before = (root / "build/index.html").read_bytes()
    code, out, err = run_cli(capsys, "build", "--root", str(root))
    assert (root / "build/index.html").read_bytes() == before, "a failed build must leave build/ untouched"
    assert "Traceback" not in err and out == ""
    assert err.rstrip().endswith("build/ was left unchanged.")
    return code, err


@pytest.fixture
def built(site_factory, capsys):
    root = site_factory("bilingual")
    assert main(["build", "--root", str(root)]) == 0
    capsys.readouterr()
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_bad_front_matter_yaml(built, capsys):
    edit(built / "content/zh/02-faq.md", "title: 常见问题", "title: [常见问题")
    code, err = build_broken(capsys, built)
    assert code == 1
    assert err.startswith(
        "error: content/zh/02-faq.md, line 4: this is not valid YAML\n"
        "    title: [常见问题\n"
        "           ^ while parsing a flow sequence that starts here: did not find expected ',' or ']'\n"
        "  fix: check the indentation and quoting on that line;")


def test_bad_front_matter_keys(built, capsys):
    edit(built / "content/en/01-intro.md", "order: 1", "order: first\ntitel: typo")
    code, err = build_broken(capsys, built)
    assert code == 1
    assert ('error: content/en/01-intro.md, line 4, key "titel": unknown key\n'
            "  fix: remove it or correct the spelling; known keys here: id, order, title, nav, description, layout") in err
    assert 'error: content/en/01-intro.md, line 3, key "order": expected a whole number, got a string' in err


def test_missing_front_matter(built, capsys):
    path = built / "content/en/02-faq.md"
    path.write_text(path.read_text().split("---", 2)[2])
    code, err = build_broken(capsys, built)
    assert "error: content/en/02-faq.md, line 1: the file has no front matter\n  fix: start the file with a YAML block" in err


def test_unknown_block(built, capsys):
    edit(built / "content/zh/02-faq.md", "::: note warning", "::: gallary")
    code, err = build_broken(capsys, built)
    assert code == 1
    assert err.startswith("error: content/zh/02-faq.md, line 21: unknown block ::: gallary\n"
                          "  fix: use one of: stats, cta, faq, details, cards, note, figure, gallery, compare, chart")


def test_unknown_chart(built, capsys):
    edit(built / "content/zh/02-faq.md", "::: note warning", "::: chart arena")
    code, err = build_broken(capsys, built)
    assert code == 1
    assert err.startswith("error: content/zh/02-faq.md, line 21: unknown chart 'arena'\n"
                          "  fix: use one of the charts of zimage_site/charts.py: architecture, arena-elo, model-size"), err


def test_duplicate_section_id(built, capsys):
    edit(built / "content/zh/02-faq.md", "id: faq", "id: intro")
    code, err = build_broken(capsys, built)
    assert "error: content/zh/02-faq.md, line 2, key \"id\": duplicate section id 'intro', also used by content/zh/01-intro.md" in err


def test_link_to_missing_anchor(built, capsys):
    edit(built / "content/en/02-faq.md", "[above](#intro)", "[above](#intor)")
    code, err = build_broken(capsys, built)
    assert code == 1
    assert err.startswith("error: content/en/02-faq.md, line 15: link to #intor: no section or heading on the page has that id\n"
                          "  fix: link to an existing id, e.g. a section: intro, faq")


def test_unknown_fact_and_data_keys(built, capsys):
    edit(built / "content/zh/01-intro.md", "{fact}`steps`", "{fact}`stepz`")
    code, err = build_broken(capsys, built)
    assert err.startswith("error: content/zh/01-intro.md, line 10: unknown fact 'stepz' in {fact}`stepz`\n"
                          "  fix: add it to content/data/facts.yaml or use one of: params, score, steps")
    edit(built / "content/zh/01-intro.md", "{fact}`stepz`", "{data}`links.nothing`")
    code, err = build_broken(capsys, built)
    assert "error: content/zh/01-intro.md, line 10: no data at 'links.nothing' in {data}`links.nothing`" in err


def test_the_data_role_reads_the_facts_model_by_the_keys_the_file_writes(site_factory, capsys):
    """{data}`facts.…` walks the typed facts file (a field by its key in the file, a text in the
    page's language); other files of content/data/ are read as written; a path to a group of
    values is an error naming the line."""
    root = site_factory("bilingual")
    edit(root / "content/en/01-intro.md", "{data}`links.download.en`",
         "{data}`links.download.en`, {data}`facts.sources.readme.title`, {data}`facts.facts.score.value`, "
         "{data}`facts.facts.steps.verdict`")
    assert main(["build", "--root", str(root)]) == 0, capsys.readouterr().err
    intro = parse(root / "build/en/index.html").xpath('//section[@id="intro"]')[0].text_content()
    assert "Model README, 0.8585, verified" in intro
    before = (root / "build/en/index.html").read_bytes()
    edit(root / "content/en/01-intro.md", "{data}`facts.facts.score.value`", "{data}`facts.facts.score`")
    code, out, err = run_cli(capsys, "build", "--root", str(root))
    assert code == 1 and (root / "build/en/index.html").read_bytes() == before
    assert err.startswith("error: content/en/01-intro.md, line 10: {data}`facts.facts.score` is a group of values, "
                          "not a single value\n  fix: point the path at one value"), err
    edit(root / "content/en/01-intro.md", "{data}`facts.facts.score`", "{data}`facts.facts.score.nope`")
    code, out, err = run_cli(capsys, "build", "--root", str(root))
    assert "error: content/en/01-intro.md, line 10: no data at 'facts.facts.score.nope'" in err
    assert "fix: the path starts with a file of content/data/ (facts, layout, links) then its keys" in err


def test_unknown_fact_in_stats_block(built, capsys):
    edit(built / "content/en/01-intro.md", "- fact: score", "- fact: scor")
    code, err = build_broken(capsys, built)
    assert "error: content/en/01-intro.md, line 22: unknown fact 'scor' in ::: stats" in err


def test_bad_yaml_in_block_body(built, capsys):
    edit(built / "content/en/01-intro.md", "  style: secondary", "  style: tertiary")
    code, err = build_broken(capsys, built)
    assert ("error: content/en/01-intro.md, line 17, key \"::: cta [1].style\": 'tertiary' is not one of: primary, secondary"
            in err)


def test_site_config_problems_are_reported_together(built, capsys):
    edit(built / "site.yaml", "theme_color: \"#112233\"", "theme_color: blue\ncolour: red")
    edit(built / "site.yaml", "  publisher: Example Lab\n", "")
    edit(built / "site.yaml", "nav: [intro, faq]", "nav: intro")
    code, err = build_broken(capsys, built)
    assert code == 1
    assert "error: site.yaml, line 20, key \"nav\": expected a list, got a string" in err
    assert "error: site.yaml, line 21, key \"theme_color\": 'blue' is not a #rgb or #rrggbb colour" in err
    assert "error: site.yaml, line 22, key \"colour\": unknown key" in err
    assert "error: site.yaml, line 29, key \"model.publisher\": missing value" in err


def test_missing_ui_translation(built, capsys):
    (built / "templates/i18n/extra.yaml").write_text("new_key: {zh: 新}\n")
    code, err = build_broken(capsys, built)
    assert err.startswith('error: templates/i18n/extra.yaml, line 1, key "new_key": missing the en text')


def test_template_syntax_error(built, capsys):
    edit(built / "templates/blocks/note.html", "{{ body | safe }}", "{{ body | safe }")
    code, err = build_broken(capsys, built)
    assert err.startswith("error: templates/blocks/note.html, line 3: template syntax error:")


def test_debug_shows_the_traceback(built, capsys):
    edit(built / "content/zh/02-faq.md", "::: note warning", "::: nope")
    code = main(["--debug", "build", "--root", str(built)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" in err and "unknown block ::: nope" in err


def test_console_script_version_and_help():
    out = subprocess.run([sys.executable, "-m", "zimage_site", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and re.fullmatch(r"zimage-site \d+\.\d+\.\d+\n", out.stdout)
    out = subprocess.run([sys.executable, "-m", "zimage_site", "build", "--help"], capture_output=True, text=True)
    for flag in ("--root", "--out", "--base-url", "--strict", "--allow-placeholders", "--generate"):
        assert flag in out.stdout


# --------------------------------------------------------------------------- the real site

REAL_SECTIONS = ["intro", "models", "technology", "use-cases", "quick-start", "reviews", "faq", "roadmap", "cta",
                 "summary"]


def test_the_real_site_has_the_ten_sections_in_order(tmp_path):
    repo = Path(__file__).resolve().parent.parent
    result = build_site(repo, tmp_path / "build", allow_placeholders=True)
    assert result.sections == {"zh": 10, "en": 10, "zh-Hant": 10}
    assert all(w.kind == "placeholder" for w in result.warnings), [w.format() for w in result.warnings]
    for page, lang in (("index.html", "zh-CN"), ("en/index.html", "en")):
        doc = parse(tmp_path / "build" / page)
        assert doc.get("lang") == lang
        assert [s.get("id") for s in doc.xpath("//main/section")] == REAL_SECTIONS
        [script] = doc.xpath('//script[@type="application/ld+json"]')
        graph = json.loads(script.text)["@graph"]
        assert [node["@type"] for node in graph] == ["WebPage", "SoftwareApplication", "FAQPage"]
        answers = " ".join(q["acceptedAnswer"]["text"] for q in graph[2]["mainEntity"])
        assert "1024×1024" in answers and "[" not in answers  # facts keep their value, lose their [n] mark


@pytest.mark.parametrize("href, message", [
    ("javascript:alert(document.domain)", "'javascript:alert(document.domain)' is not a link this page can use"),
    ("//evil.example/x", "'//evil.example/x' is not a link this page can use"),
    ("@nope", "no link named 'nope' in site.yaml links (known: github)"),
])
def test_unsafe_or_unknown_button_links_are_refused(built, capsys, href, message):
    edit(built / "content/en/01-intro.md", 'href: "@github"', f'href: "{href}"')
    code, err = build_broken(capsys, built)
    assert code == 1
    assert err.startswith(f"error: content/en/01-intro.md, line 14: {message}")


def test_markdown_links_to_named_and_site_paths(built, capsys):
    edit(built / "content/en/02-faq.md", "16 GB. See [above](#intro).",
         "16 GB. See [the repo](@github) and [the Chinese page](/).")
    assert main(["build", "--root", str(built), "--base-url", "https://example.github.io/repo/"]) == 0
    capsys.readouterr()
    doc = parse(built / "build/en/index.html")
    hrefs = [a.get("href") for a in doc.xpath('//div[@class="faq"]//a')]
    assert "https://github.com/Tongyi-MAI/Z-Image" in hrefs and "/repo/" in hrefs
    edit(built / "content/en/02-faq.md", "(@github)", "(@gitlab)")
    code, err = build_broken(capsys, built)
    assert err.startswith("error: content/en/02-faq.md, line 15: no link named 'gitlab' in site.yaml links")


def test_an_output_folder_that_is_not_a_build_is_never_replaced(site_factory, tmp_path, capsys):
    root = site_factory("minimal")
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    code, _, err = run_cli(capsys, "build", "--root", str(root), "--out", str(precious))
    assert code == 1 and "holds files that are not a zimage-site build" in err
    assert (precious / "thesis.txt").read_text() == "years of work"
    code, _, err = run_cli(capsys, "build", "--root", str(root), "--out", str(precious / "thesis.txt"))
    assert code == 1 and "is a file, not a folder" in err
    code, _, err = run_cli(capsys, "build", "--root", str(root), "--out", "/proc/no/such/place")
    assert code == 1 and "cannot write beside the output folder" in err and "Traceback" not in err
    # the site's own build/ is always the generator's (pip install . leaves setuptools files there)
    (root / "build/bdist.linux-x86_64").mkdir(parents=True)
    assert run_cli(capsys, "build", "--root", str(root))[0] == 0
    assert not (root / "build/bdist.linux-x86_64").exists()
    # an empty folder, and a previous build, are fine
    (tmp_path / "empty").mkdir()
    assert run_cli(capsys, "build", "--root", str(root), "--out", str(tmp_path / "empty"))[0] == 0
    assert run_cli(capsys, "build", "--root", str(root), "--out", str(tmp_path / "empty"))[0] == 0


def test_the_swap_keeps_the_output_in_place(site_factory, tmp_path):
    from zimage_site.output import swap_in

    out, new = tmp_path / "out", tmp_path / "new"
    out.mkdir()
    (out / "old.html").write_text("old")
    new.mkdir()
    (new / "new.html").write_text("new")
    swap_in(new, out)
    assert sorted(p.name for p in out.iterdir()) == ["new.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no folder left behind"


def test_recursive_yaml_alias_is_an_error(built, capsys):
    (built / "content/data/loop.yaml").write_text("a: &x\n  - *x\n")
    code, err = build_broken(capsys, built)
    assert err.startswith("error: content/data/loop.yaml, line 1: an alias (*name) refers to the value that contains it")


def test_an_unknown_breakpoint_in_a_stylesheet_names_the_file_the_line_and_the_fix(built, capsys):
    css = built / "static/css/20-blocks.css"
    line = css.read_text(encoding="utf-8").count("\n") + 2
    css.write_text(css.read_text(encoding="utf-8") + "\n@media (--huge) { .x { color: red; } }\n", encoding="utf-8")
    code, err = build_broken(capsys, built)
    assert code == 1
    assert err.startswith(f"error: static/css/20-blocks.css, line {line}: unknown breakpoint (--huge)\n"
                          "  fix: use one of: --narrow, --phone, --small, --tablet, --desktop, --wide (or --below-<name>), "
                          "declared in content/data/layout.yaml"), err


def test_a_layout_value_that_is_not_a_length_names_the_file_the_line_and_the_fix(built, capsys):
    layout = built / "content/data/layout.yaml"
    lines = layout.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("  wide: "))
    group = lines.index("breakpoints:") + 1
    edit(layout, "  wide: 80em", "  wide: 80px")
    code, err = build_broken(capsys, built)
    assert code == 1
    assert err.startswith(f'error: content/data/layout.yaml, line {line}, key "breakpoints.wide": \'80px\' is not '
                          "a length in em above 0 (e.g. 60em)\n"), err
    assert "fix: breakpoints: {small: 40em, tablet: 48em, desktop: 60em, wide: 80em, …}; see docs/content.md" in err
    edit(layout, "  wide: 80px", "  huge: 80em")
    code, err = build_broken(capsys, built)
    assert err.startswith(f'error: content/data/layout.yaml, line {group}, key "breakpoints": wide missing: the '
                          "images' sizes are made from small, tablet, desktop, wide\n"), err


def test_a_breakpoint_moved_in_layout_yaml_moves_the_stylesheet_and_the_image_sizes(tmp_path):
    """One source: the stylesheet's media queries and widths and the `sizes` of an image change
    together when layout.yaml changes."""
    root = new_site(tmp_path)

    def built() -> tuple[str, str]:
        build_site(root, tmp_path / "out")
        css = next((tmp_path / "out/assets").glob("site.*.css")).read_text(encoding="utf-8")
        sources = parse(tmp_path / "out/index.html").xpath('//figure[@data-image="pic-a"]//source')
        assert sources and len({s.get("sizes") for s in sources}) == 1
        return css, sources[0].get("sizes")

    css, sizes = built()  # pic-a is the hero: two columns from the desktop breakpoint, 34rem once the page stops growing
    assert not re.search(r"@media[^{]*\(--", css)  # every breakpoint name replaced by its query
    assert "@media (min-width: 60em)" in css and "@media (max-width: 59.99em)" in css
    assert "--wrap: 72rem" in css and "--wrap-wide: 88rem" in css
    assert sizes == "(min-width: 72rem) 34rem, (min-width: 60em) 47vw, calc(100vw - 2rem)"
    edit(root / "content/data/layout.yaml", "  desktop: 60em", "  desktop: 62em")
    edit(root / "content/data/layout.yaml", "  wrap: 72rem", "  wrap: 70rem")
    css, sizes = built()
    assert "@media (min-width: 62em)" in css and "@media (max-width: 61.99em)" in css and "60em" not in css
    assert "--wrap: 70rem" in css and "72rem" not in css
    assert sizes == "(min-width: 70rem) 33rem, (min-width: 62em) 47vw, calc(100vw - 2rem)"



def test_the_site_stylesheets_name_their_breakpoints():
    """static/css writes no width of its own in a media query: each names a breakpoint of
    content/data/layout.yaml, so that moving one moves every rule and image size that depends on it."""
    raw = [f"{path.name}:{n}: {line.strip()}" for path in sorted((REPO / "static/css").glob("*.css"))
           for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
           if (query := re.match(r"\s*@media([^{]*)", line)) and re.search(r"(min|max)-width", query[1])]
    assert raw == [], "name a breakpoint of content/data/layout.yaml instead: @media (--name) or (--below-name)"

# --------------------------------------------------------------------------- the package's shape

def test_build_imports_only_what_building_needs(site_factory):
    root = site_factory("minimal")
    code = ("import sys, runpy; sys.argv = ['zimage-site', 'build', '--root', sys.argv[1]]\n"
            "try:\n    runpy.run_module('zimage_site', run_name='__main__')\nexcept SystemExit as e:\n"
            "    assert e.code == 0, e.code\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith(('zimage_site', 'tornado', 'livereload', 'lxml', 'torch')))))")
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True)
    modules = set(out.stdout.split("\n")[-2].split())
    assert "zimage_site.site" in modules and "zimage_site.markdown" in modules
    assert not modules & {"zimage_site.serve", "zimage_site.check", "zimage_site.images.cli", "tornado",
                          "livereload", "lxml", "torch"}, modules
    out = subprocess.run([sys.executable, "-c", "import sys; from zimage_site.cli import main\n"
                          "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
                          "print(sorted(m for m in sys.modules if m.startswith('zimage_site')))"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "['zimage_site', 'zimage_site.cli', 'zimage_site.errors']"


def test_the_package_has_no_import_circle():
    """Imports between the package's modules form no cycle: those at module level and those inside
    functions (made when a command runs) alike; only TYPE_CHECKING imports (annotations) are left out."""
    import ast

    def imports(tree: ast.AST):
        typing_only = {id(n) for node in ast.walk(tree)
                       if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                       for n in ast.walk(node)}
        return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in typing_only]

    package = Path(__file__).resolve().parent.parent / "zimage_site"
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
        deps = graph.setdefault(name, set())
        for node in imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("zimage_site"):
                # `from package import submodule` depends on the submodule, not on the package itself
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    is_module = (package.parent / sub.replace(".", "/")).with_suffix(".py").is_file() or \
                        (package.parent / sub.replace(".", "/") / "__init__.py").is_file()
                    deps.add(sub if is_module else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("zimage_site"))
    assert "zimage_site.charts" in graph["zimage_site.blocks"], "function-level imports are counted"

    def visit(name: str, path: list[str]) -> None:
        for dep in graph.get(name, ()):
            assert dep not in path, " → ".join(path[path.index(dep):] + [dep])
            visit(dep, path + [dep])

    for name in graph:
        visit(name, [name])


def test_no_module_of_the_package_is_over_500_lines():
    package = Path(__file__).resolve().parent.parent / "zimage_site"
    long = {path.relative_to(package).as_posix(): n for path in package.rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}, "split these modules by what they do"


# --------------------------------------------------------------------------- linear cost

# The code whose work grows with a section's Markdown: its lines are counted (not timed) while
# a section of n and of 4n repeated elements renders. A cost that grows linearly quadruples; a
# quadratic one grows sixteen-fold. The count is exact and repeatable, so the bound cannot flake.
_COUNTED = ("markdown_it", "mdit_py_plugins", f"zimage_site{'/'}markdown.py", f"zimage_site{'/'}blocks.py",
            f"zimage_site{'/'}render.py")
SCALING = {
    "repeated headings": "\n### same\n\ntext\n",
    "note blocks": "\n::: note\nA note.\n:::\n",
    "headings and their slugs": "\n### same 1\n\n### same\n\n#### same-1\n",
    "details blocks": "\n::: details More\nHidden *text*.\n:::\n",
    "links": "\n[a](#faq) [b](/x) [c](https://ok.example/) {fact}`params`\n",
}


def counted_lines(root: Path, out: Path) -> int:
    count = 0

    def local(frame, event, arg):
        nonlocal count
        count += event == "line"
        return local

    def call(frame, event, arg):
        name = frame.f_code.co_filename
        return local if any(part in name for part in _COUNTED) else None

    sys.settrace(call)
    try:
        build_site(root, out, processes=1)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("what", sorted(SCALING))
def test_the_cost_of_a_section_grows_linearly(tmp_path, what):
    from helpers import make_site

    counts = {}
    for n in (0, 150, 600):  # a fresh site each (no cache): the same work but for the section
        root = make_site(tmp_path / str(n), "bilingual")
        intro = root / "content/en/01-intro.md"
        intro.write_text(intro.read_text(encoding="utf-8") + SCALING[what] * n, encoding="utf-8")
        counts[n] = counted_lines(root, tmp_path / f"out{n}")
    ratio = (counts[600] - counts[0]) / (counts[150] - counts[0])
    print(f"{what}: {counts[150] - counts[0]:,} → {counts[600] - counts[0]:,} lines run (×{ratio:.2f} for ×4 input)")
    assert ratio < 5, counts
