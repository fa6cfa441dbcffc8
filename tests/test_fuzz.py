"""Fuzzing the build: generated site.yaml, front matter and Markdown with blocks, facts.yaml,
content/images.yaml and raw bytes, each through the real build, in-process.

The property, for every input: the build succeeds, or raises one SiteError whose problems all name
a file (and a line, for YAML that does not parse); it ends within a time limit; and a failed
build leaves the previous output exactly as it was.

By default the examples are derandomized (the same inputs on every run, so CI is repeatable) and
few (about a minute in all on a 2-core machine). ZIMAGE_SLOW=1 runs many more, randomly, with
Hypothesis' example database in .hypothesis/. Inputs that once failed are kept below as explicit
cases (`FOUND`).
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis", reason="needs the pip package hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from helpers import make_site  # noqa: E402
from zimage_site.errors import SiteError  # noqa: E402
from zimage_site.site import build_site  # noqa: E402

SLOW = os.environ.get("ZIMAGE_SLOW") == "1"
EXAMPLES = int(os.environ.get("ZIMAGE_FUZZ_EXAMPLES", 500 if SLOW else 50))
TIME_LIMIT = 120  # seconds: a guard against a build that hangs (one takes about 0.1 s), not a measure
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not SLOW,
                database=None if not SLOW else settings.default.database,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])

MANIFEST = """\
sets:
  pair:
    section: faq
    varies: steps
    title: {zh: 步数, en: Steps}
images:
  - id: cover
    section: intro
    prompt: 国风茶馆木质招牌
    caption: {zh: 招牌, en: A sign}
    alt: {zh: 招牌, en: A sign}
    seed: 42
    width: 1344
    height: 768
  - id: pair-4
    set: pair
    label: {zh: 4 步, en: 4 steps}
    prompt: 一碗面
    caption: {zh: 面, en: Noodles}
    alt: {zh: 一碗面, en: A bowl of noodles}
    seed: 1
    steps: 4
    width: 512
    height: 512
  - id: pair-8
    set: pair
    label: {zh: 8 步, en: 8 steps}
    prompt: 一碗面
    caption: {zh: 面, en: Noodles}
    alt: {zh: 一碗面, en: A bowl of noodles}
    seed: 1
    width: 512
    height: 512
"""

FILES = ("site.yaml", "content/data/facts.yaml", "content/images.yaml", "content/en/01-intro.md",
         "content/zh/02-faq.md")


class Timeout(Exception):
    pass


@contextmanager
def time_limit(seconds: int):
    def expire(signum, frame):
        raise Timeout(f"the build took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def assert_links_stay(out: Path) -> None:
    """Every href and src the build published, resolved as a browser does (ada, the WHATWG URL
    parser), is an http(s) URL; one not written as http(s)://… stays on the site's own host."""
    import re

    from ada_url import URL, join_url
    from lxml import html

    for page in out.rglob("*.html"):
        base = "https://fixture.example.org/" + page.relative_to(out).as_posix()
        for el in html.fromstring(page.read_bytes()).iter():
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is None:
                    continue
                url = URL(join_url(base, value))
                assert url.protocol in ("http:", "https:"), (page, value)
                if not re.match(r"(?i)https?://", value):
                    assert url.hostname == "fixture.example.org", (page, value)


class Fuzzed:
    """One fixture site and its previous output, reused by every example of a test."""

    def __init__(self, tmp: Path):
        self.root = make_site(tmp, "bilingual")
        (self.root / "content/images.yaml").write_text(MANIFEST, encoding="utf-8")
        edit = self.root / "content/en/01-intro.md"
        edit.write_text(edit.read_text(encoding="utf-8") + "\n::: figure cover\n:::\n", encoding="utf-8")
        self.out = tmp / "out"
        self.outside = tmp / "outside.txt"  # a file outside the site, which no build may read
        self.outside.write_text("secret: hunter2\n", encoding="utf-8")
        build_site(self.root, self.out)
        self.original = {name: (self.root / name).read_bytes() for name in FILES}
        self.before = digest(self.out)
        self.results = {"ok": 0, "error": 0}
        # the error lines the builds printed: all, those without a line number in a file that has
        # lines (YAML, Markdown, templates), those without a fix
        self.lines = {"errors": 0, "no line": 0, "no fix": 0}
        self.missing: list[str] = []

    def audit(self, exc: SiteError) -> None:
        for problem in exc.problems:
            self.lines["errors"] += 1
            path = self.root / (problem.file or "")
            has_lines = (problem.file or "").endswith((".yaml", ".md", ".html", ".json", ".txt", ".css")) \
                and path.is_file() and not path.is_symlink()  # (a pipe named like a file has no lines)
            if has_lines and not problem.line:
                self.lines["no line"] += 1
                self.missing.append(problem.format())
            if not problem.fix:
                self.lines["no fix"] += 1
                self.missing.append(problem.format())
        # every error says how to fix it, and where in a file that has lines
        assert not self.missing, "an error without its line or its fix:\n" + "\n".join(self.missing)

    def check(self, name: str, content: bytes) -> None:
        """Write one file, build, check the property, put the file back."""
        path = self.root / name
        path.write_bytes(content)
        try:
            with time_limit(TIME_LIMIT):
                try:
                    build_site(self.root, self.out)
                except SiteError as exc:
                    assert exc.problems, "a SiteError without a problem"
                    self.audit(exc)
                    for problem in exc.problems:
                        assert problem.file, f"a problem without its file:\n{exc.format()}"
                        if problem.message.startswith("this is not valid YAML"):
                            assert problem.line, f"a YAML error without its line:\n{exc.format()}"
                    after = digest(self.out)
                    assert after == self.before, "a failed build changed the previous output"
                    self.results["error"] += 1
                    return
            assert_links_stay(self.out)
            self.before = digest(self.out)
            self.results["ok"] += 1
        finally:
            path.write_bytes(self.original[name])


    def check_special(self, name: str, kind: str, rng_name: str = "") -> None:
        """Put a special file (or link) named `name` in place, build, check the property: the
        build ends in one SiteError naming it (or, for a name the build does not read, succeeds),
        never hangs, never reads outside the site; then put everything back."""
        import shutil
        import stat

        path = self.root / name
        saved = path.with_name(path.name + ".saved-by-fuzz")
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path):
            os.rename(path, saved)
        try:
            if kind == "fifo":
                os.mkfifo(path)
            elif kind == "device":
                os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))
            elif kind == "zero-link":
                os.symlink("/dev/zero", path)
            elif kind == "folder":
                os.mkdir(path)
            elif kind == "broken-link":
                os.symlink("nowhere", path)
            elif kind == "link-loop":
                os.symlink(path.name, path)
            elif kind == "outside-link":
                os.symlink(self.outside, path)
            elif kind == "link-to-parent":
                os.symlink("..", path)
            with time_limit(TIME_LIMIT):
                try:
                    build_site(self.root, self.out)
                except SiteError as exc:
                    self.audit(exc)
                    assert all(p.file for p in exc.problems), exc.format()
                    assert digest(self.out) == self.before, "a failed build changed the previous output"
                    assert "hunter2" not in exc.format()
                    self.results["error"] += 1
                    return
            assert_links_stay(self.out)
            assert b"hunter2" not in b"".join(p.read_bytes() for p in self.out.rglob("*") if p.is_file())
            self.before = digest(self.out)
            self.results["ok"] += 1
        finally:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
            if os.path.lexists(saved):
                os.rename(saved, path)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    site = Fuzzed(tmp_path_factory.mktemp("fuzz"))
    start = time.perf_counter()
    yield site
    n = site.results["ok"] + site.results["error"]
    print(f"\nfuzz: {n} builds ({site.results['ok']} succeeded, {site.results['error']} ended in one SiteError) "
          f"in {time.perf_counter() - start:.1f} s; {site.lines['errors']} error lines, {site.lines['no line']} "
          f"without a line number where the file has lines, {site.lines['no fix']} without a fix")
    for text in sorted(set(site.missing))[:40]:
        print("  " + text.replace("\n", "\n  "))


# --------------------------------------------------------------------------- strategies

TRICKY = ["", " ", "#x", " #16", "'", '"', "\\", "<script>alert(1)</script>", "javascript:alert(1)",
          "../../etc/passwd", "/etc/passwd", "https://ok.example/", "https://ok.example/\nDisallow: /",
          "http://", "zh", "en", "intro", "faq", "params", "readme", "pair", "cover", "*alias", "&a",
          "{fact}`params`", "{fact}`nope`", "@github", "#faq", "\x00", "\u2028", "\ufeff", "🙂", "造相",
          "1e400", "2024-02-30", "0x1F", "yes", "null", "~", "-1", "99999999999999999999999"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=20),
                    st.sampled_from(TRICKY))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.sampled_from(TRICKY), st.text(max_size=6), st.integers(-3, 3)), inner,
                    max_size=3)), max_leaves=6)

SNIPPETS = ["a: &x [*x]", "*nope", "k: 1\nk: 2", "- x", "  : ", "\t", "[", "{", "}", "]", "!!python/object/apply:os.system ['id']",
            "? [a, b]\n: c", "a: &x 1\nb: *x", "<<: {a: 1}", "%YAML 1.1", "---", "...", "'", '"', "|", ">",
            "x: 参见 issue #16", "date: 2024-02-30", "n: 1" + "0" * 5000, "a: " + "[" * 200, "? " * 3,
            "b0: &b0 [x]\nb1: &b1 [*b0, *b0, *b0, *b0, *b0, *b0, *b0, *b0]\nb2: &b2 [*b1, *b1, *b1, *b1, *b1, *b1, *b1, *b1]"]


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


@st.composite
def mutated_yaml(draw, text: str) -> str:
    """The YAML text with a few structural changes (replace, delete, add a value), or text snippets
    inserted at random lines."""
    if draw(st.booleans()):
        data = yaml.safe_load(text)
        for _ in range(draw(st.integers(1, 3))):
            paths = [p for p in _paths(data) if p]
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            parent = data
            for part in path[:-1]:
                parent = parent[part]
            action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
            if action == "replace":
                parent[path[-1]] = draw(values)
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.one_of(st.sampled_from(TRICKY), st.integers(0, 3)))] = draw(values)
            else:
                parent.append(draw(values))
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines)))
        snippet = draw(st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=30)))
        indent = draw(st.sampled_from(["", "  ", "    "]))
        lines.insert(at, indent + snippet)
    return "\n".join(lines) + "\n"


BLOCKS = {
    "cta": "- label: Try it\n  href: \"@github\"\n- label: FAQ\n  href: \"#faq\"\n  style: secondary",
    "stats": "- fact: params\n- fact: score\n  label: Test score",
    "faq": "### A question?\nAn answer with {fact}`steps`.",
    "note": "A note.",
    "cards": "### A card\nIts text.",
    "figure": "", "gallery": "", "compare": "", "chart": "", "bogus": "x: 1",
}
BLOCK_ARGS = ["", " cover", " pair", " nope", " pairs", " warning", " model-size", " cover pair-4"]
INLINE = ["{fact}`params`", "{fact}`nope`", "{data}`links.download.en`", "{data}`nope.x`", "{data}`facts`",
          "{bogus}`x`", "[a](#faq)", "[a](#nowhere)", "[a](@github)", "[a](@nope)", "[a](/x)", "[a](javascript:alert(1))",
          "[a](//evil.example)", "<script>alert(1)</script>", "**bold**", "`code`", "{#id .cls onclick=x}",
          "[^1]", "\\", "*", "_", "<", "&amp;", "造相"]


@st.composite
def markdown_body(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["text", "heading", "block", "fence", "list"]))
        if kind == "text":
            words = draw(st.lists(st.one_of(st.sampled_from(INLINE), st.text(max_size=12)), max_size=6))
            parts.append(" ".join(words))
        elif kind == "heading":
            parts.append(draw(st.sampled_from(["#", "##", "###", "####"])) + " " + draw(st.text(max_size=10)))
        elif kind == "block":
            name = draw(st.sampled_from(sorted(BLOCKS)))
            body = BLOCKS[name]
            if body and draw(st.booleans()):
                body = draw(mutated_yaml(body)) if name in ("cta", "stats", "bogus") else body + draw(st.text(max_size=10))
            close = draw(st.sampled_from([":::", ":::", "", "::::"]))
            parts.append(f"::: {name}{draw(st.sampled_from(BLOCK_ARGS))}\n{body}\n{close}")
        elif kind == "fence":
            parts.append(f"```{draw(st.sampled_from(['', 'python', 'nope', 'bash']))}\n{draw(st.text(max_size=20))}\n```")
        else:
            parts.append("\n".join(f"- {draw(st.sampled_from(INLINE))}" for _ in range(draw(st.integers(1, 3)))))
    return "\n\n".join(parts) + "\n"


@st.composite
def section_file(draw) -> str:
    front = {"id": "intro", "order": 1, "title": "A test model", "nav": "Intro", "layout": "hero"}
    text = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    if draw(st.booleans()):
        text = draw(mutated_yaml(text))
    body = draw(markdown_body())
    return f"---\n{text}---\n\n{body}"


@st.composite
def raw_bytes(draw, original: bytes) -> bytes:
    data = original
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["bom", "crlf", "cr", "nul", "invalid", "truncate", "bytes"]))
        at = draw(st.integers(0, len(data)))
        if kind == "bom":
            data = b"\xef\xbb\xbf" + data
        elif kind == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif kind == "cr":
            data = data.replace(b"\n", b"\r")
        elif kind == "nul":
            data = data[:at] + b"\x00" + data[at:]
        elif kind == "invalid":
            data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\x80"])) + data[at:]
        elif kind == "truncate":
            data = data[:at]
        else:
            data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    return data


# --------------------------------------------------------------------------- the fuzz tests

@FUZZ
@given(data=st.data())
def test_fuzz_site_yaml(fuzzed, data):
    text = data.draw(mutated_yaml(fuzzed.original["site.yaml"].decode()))
    fuzzed.check("site.yaml", text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(data=st.data())
def test_fuzz_facts(fuzzed, data):
    text = data.draw(mutated_yaml(fuzzed.original["content/data/facts.yaml"].decode()))
    fuzzed.check("content/data/facts.yaml", text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(data=st.data())
def test_fuzz_image_manifest(fuzzed, data):
    text = data.draw(mutated_yaml(MANIFEST))
    fuzzed.check("content/images.yaml", text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(text=section_file())
def test_fuzz_front_matter_and_markdown(fuzzed, text):
    fuzzed.check("content/en/01-intro.md", text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(data=st.data())
def test_fuzz_raw_bytes(fuzzed, data):
    name = data.draw(st.sampled_from(FILES))
    fuzzed.check(name, data.draw(raw_bytes(fuzzed.original[name])))


# Inputs the fuzzer found while this suite was written, kept as explicit cases.
FOUND = [
    ("content/images.yaml", MANIFEST.replace("seed: 42", "seed: [1]")),
    ("content/images.yaml", MANIFEST.replace("varies: steps", "varies: [steps]")),
    ("content/images.yaml", MANIFEST.replace("steps: 4", "steps: 4\n    guidance: high")),
    ("content/images.yaml", MANIFEST.replace("  pair:\n", "  0:\n")),
    ("content/images.yaml", "\x1f\n" + MANIFEST),  # a control character: YAML's error had no line
    ("content/images.yaml", MANIFEST.replace("seed: 42", "seed: 1" + "0" * 5000)),  # too many digits for int()
    ("content/images.yaml", MANIFEST.replace("seed: 42", "seed: 42\n    seed: 43")),  # a duplicate key
]


@pytest.mark.parametrize("name, text", FOUND, ids=[f"found-{i}" for i in range(len(FOUND))])
def test_found_by_the_fuzzer(fuzzed, name, text):
    fuzzed.check(name, text.encode("utf-8"))


# --------------------------------------------------------------------------- special files, links, URLs

# Where the build reads (every kind of input), and names beside them it must refuse or ignore.
SPECIAL_PLACES = ["site.yaml", "content/data/facts.yaml", "content/data/more.yaml", "content/images.yaml",
                  "content/en/01-intro.md", "content/zh/09-new.md", "content/en", "content/data",
                  "templates/i18n/core.yaml", "templates/base.html", "templates/partials", "static/favicon.svg",
                  "static/css", "static/new.js", "images/x.json", "images/x.png", "content/drafts/x.md"]
SPECIAL_KINDS = ["fifo", "zero-link", "folder", "broken-link", "link-loop", "outside-link", "link-to-parent"] + (
    ["device"] if os.geteuid() == 0 else [])


@FUZZ
@given(place=st.sampled_from(SPECIAL_PLACES), kind=st.sampled_from(SPECIAL_KINDS))
def test_fuzz_special_files(fuzzed, place, kind):
    fuzzed.check_special(place, kind)


@FUZZ
@given(folder=st.sampled_from(["content/en", "content/data", "templates/i18n", "static", "static/css", "images"]),
       name=st.binary(min_size=1, max_size=6).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")))
def test_fuzz_file_names(fuzzed, folder, name):
    """Any bytes as a file name (not UTF-8 ones included): one SiteError naming it, or a build."""
    path = os.path.join(os.fsencode(fuzzed.root / folder), name + b".md")
    with open(path, "wb") as f:
        f.write(b"---\nid: x\n---\n")
    try:
        with time_limit(TIME_LIMIT):
            try:
                build_site(fuzzed.root, fuzzed.out)
            except SiteError as exc:
                fuzzed.audit(exc)
                assert all(p.file for p in exc.problems), exc.format()
                exc.format().encode("utf-8")  # printable
                fuzzed.results["error"] += 1
                return
        fuzzed.results["ok"] += 1
    finally:
        os.unlink(path)
        fuzzed.before = digest(fuzzed.out)


# A link, spelled as a hostile author would: pieces a browser reads differently from how they look.
URL_PIECES = st.tuples(
    st.sampled_from(["", " ", "\t", "\n", "\x00", "\u2028"]),
    st.sampled_from(["", "http:", "https:", "HTTPS:", "hTtP:", "mailto:", "MAILTO:", "ftp:", "javascript:", "JaVaScRiPt:",
                     "java\tscript:", "data:", "vbscript:", "file:", "tel:", "@", "#", "?"]),
    st.sampled_from(["", "/", "//", "///", "\\", "/\\", "\\/", "/\t/", "/\n/", "/\r\n/", "/ /", "%2f%2f"]),
    st.sampled_from(["", "evil.example", "[::1", "[::1]", "[evil.example]", "github", "nope", "faq", "x@evil.example",
                     "fixture.example.org", "evil.example:99999", "evil.example:-1", "ｅｖｉｌ.example", "xn--"]),
    st.sampled_from(["", "/", "/a", "/..", "/%2e%2e/", "/a/../../b", "?q=1", "#faq", "\"", "'", "<", ">", " x"]),
)
urls = st.one_of(URL_PIECES.map("".join), st.text(max_size=20))


@FUZZ
@given(href=urls, where=st.sampled_from(["cta", "markdown", "image", "site-link", "base-url", "source"]))
def test_fuzz_links_and_urls(fuzzed, href, where):
    """Every place a link comes from: the build refuses it with its file (and line), or publishes
    only links that stay on http(s) and, unless written http(s)://…, on the site's host."""
    name, old = {
        "cta": ("content/en/01-intro.md", 'href: "@github"'),
        "markdown": ("content/en/01-intro.md", "[FAQ](#faq)"),
        "image": ("content/en/01-intro.md", "[FAQ](#faq)"),
        "site-link": ("site.yaml", "github: https://github.com/Tongyi-MAI/Z-Image"),
        "base-url": ("site.yaml", "base_url: https://fixture.example.org/"),
        "source": ("content/data/facts.yaml", "url: https://"),
    }[where]
    import json

    quoted = json.dumps(href)
    new = {"cta": f"href: {quoted}", "markdown": f"[FAQ](<{href}>)", "image": f"![FAQ](<{href}>)",
           "site-link": f"github: {quoted}", "base-url": f"base_url: {quoted}", "source": f"url: {json.dumps(href + 'x')}"}[where]
    text = fuzzed.original[name].decode("utf-8")
    if old not in text:
        return
    fuzzed.check(name, text.replace(old, new, 1).encode("utf-8", "surrogatepass"))
