"""The persistent cache of rendered sections (.cache/): each kind of input invalidates exactly the
sections it feeds, a later process reuses the rest, and the output is the cold build's, byte for byte."""

from __future__ import annotations

import shutil

from zimage_site import inputs
from zimage_site.site import Site

from helpers import apply, cold_copy, edit, new_site, outcome, tree

SECTIONS = 4  # the fixture: two sections in two languages


def test_each_kind_of_input_invalidates_what_it_feeds(tmp_path, monkeypatch):
    root = new_site(tmp_path)
    options = dict(allow_placeholders=True)
    first = Site(root, **options).build(tmp_path / "out")
    assert (first.rendered, first.reused) == (SECTIONS, 0)

    def build_in_a_new_process(expected: int, what: str) -> None:
        result = Site(root, **options).build(tmp_path / "out")
        total = sum(result.sections.values())
        assert (result.rendered, result.reused) == (expected, total - expected), what
        cold = outcome(Site(cold_copy(root, tmp_path / "cold"), **options), tmp_path / "cold-out")
        assert cold == ("built", tree(tmp_path / "out"), sorted(w.format("warning") for w in result.warnings)), what

    build_in_a_new_process(0, "nothing changed")
    edit(root / "content/en/02-faq.md", "", "\n\nOne more line.\n")
    build_in_a_new_process(1, "one section file")
    (root / "content/zh/03-more.md").write_text("---\nid: more\norder: 3\ntitle: 更多\n---\n\n"
                                                 "又一节，引用 {fact}`score`。\n", encoding="utf-8")
    build_in_a_new_process(1, "a new section file")
    edit(root / "content/zh/01-intro.md", "这个模型有 {fact}`params` 参数", "这个模型有 {fact}`score` 分")
    build_in_a_new_process(3, "the first source cited changes: the numbers of the sections after it change")
    for kind in ("data", "templates", "strings", "manifest", "store", "config"):
        apply(root, (kind, 1, 5))
        build_in_a_new_process(SECTIONS + 1, kind)
    edit(root / "static/css/20-blocks.css", "", "\n.x { color: red; }\n")
    build_in_a_new_process(SECTIONS + 1, "the stylesheet's hashed URL changes")
    edit(root / "static/js/site.js", "", "\n// nothing\n")
    build_in_a_new_process(SECTIONS + 1, "the script's hashed URL changes")
    monkeypatch.setattr(inputs, "engine_digest", lambda: "another version of the engine")
    build_in_a_new_process(SECTIONS + 1, "the engine")


def test_unhashed_assets_do_not_invalidate_sections(tmp_path):
    """The live preview serves assets under fixed names: a stylesheet edit re-renders nothing."""
    root = new_site(tmp_path)
    Site(root, hash_assets=False).build(tmp_path / "out")
    edit(root / "static/css/20-blocks.css", "", "\n.x { color: red; }\n")
    site = Site(root, hash_assets=False)
    result = site.build(tmp_path / "out")
    assert result.rendered == 0
    assert ".x { color: red; }" in (tmp_path / "out/assets/site.css").read_text(encoding="utf-8")


def test_a_damaged_or_missing_cache_is_rebuilt(tmp_path):
    root = new_site(tmp_path)
    Site(root).build(tmp_path / "out")
    before = tree(tmp_path / "out")
    (root / ".cache/sections.marshal").write_bytes(b"not a cache")
    assert Site(root).build(tmp_path / "out").rendered == SECTIONS
    assert tree(tmp_path / "out") == before
    shutil.rmtree(root / ".cache")
    assert Site(root).build(tmp_path / "out").rendered == SECTIONS
    assert tree(tmp_path / "out") == before


def test_a_pool_of_processes_renders_what_one_process_renders(tmp_path, monkeypatch):
    """Workers write a mark where a source's number goes; the page puts its numbers there (the
    sources of sections 7 and 8 are cited in another order than the worker saw them). A section
    whose marks do not add up (one is in its text) is rendered again, in order: either way the
    output is the one-process output."""
    import os
    import subprocess
    import sys
    import threading

    from zimage_site import render_sections

    if threading.active_count() > 1:  # the engine forks only a single-threaded process: run in a fresh one
        assert os.environ.get("ZIMAGE_POOL_TEST") != "1", "threads started in a fresh test process"
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"{__file__}::test_a_pool_of_processes_renders_what_one_process_renders"],
                              env={**os.environ, "ZIMAGE_POOL_TEST": "1"}, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        return
    root = new_site(tmp_path)
    for lang in ("zh", "en"):
        for n in range(3, 13):
            first, second = ("score", "steps") if n in (7, 8) else ("steps", "score")
            body = f"Cites {{fact}}`{first}`, then {{fact}}`{second}`." if n % 3 else "No source here."
            fence = "\n\n```nosuchlanguage\nx\n```\n" if n == 9 else ""
            fence += "\n\nA mark-like text: \ue0001\ue001.\n" if n == 11 else ""
            (root / f"content/{lang}/{n:02d}-s{n}.md").write_text(
                f"---\nid: s{n}\norder: {n}\ntitle: S{n}\n---\n\n{body}{fence}\n", encoding="utf-8")
    monkeypatch.setattr(render_sections, "POOL_MIN_SECTIONS", 4)
    verdicts = []
    numbered = render_sections._numbered
    monkeypatch.setattr(render_sections, "_numbered",
                        lambda *a: verdicts.append(numbered(*a) is not None) or numbered(*a))

    def build(processes: int, out: str):
        (root / ".cache/sections.marshal").unlink(missing_ok=True)
        return outcome(Site(root, processes=processes), tmp_path / out)

    one = build(1, "one")
    assert verdicts == []
    pool = build(4, "pool")  # this process renders the first run of each page; three workers the others
    assert pool == one and one[0] == "built"
    assert any("no syntax highlighting for code language 'nosuchlanguage'" in w for w in one[2])
    assert True in verdicts and False in verdicts, verdicts  # both paths were taken
    assert "A mark-like text: \ue0001\ue001." in one[1]["en/index.html"].decode()
    edit(root / "content/en/10-s10.md", "{fact}`steps`", "{fact}`stepz`")
    assert build(4, "pool-error") == build(1, "one-error")
    assert "unknown fact 'stepz'" in build(4, "pool-error")[1]
