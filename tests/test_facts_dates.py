"""Dated facts: volatility classes, check dates, the page's computed "as of" line, the {checked}
role, and stale facts in the build's warnings and in `zimage-site check` (--today, --strict, the
summary by class, the weekly report)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import REPO, make_site
from zimage_site.check import run_checks
from zimage_site.check.report import MARKER, write_report
from zimage_site.data import load_data
from zimage_site.errors import SiteError
from zimage_site.site import Site, build_site

CLASSES = """classes:
  stable:   {max_age_days: 1095, label: {zh: 架构、许可与发布日期, en: "Architecture, licence and release dates"}}
  volatile: {max_age_days: 90,   label: {zh: 版本、显存报告、发布状态与排名, en: "Versions, memory reports, release status and ranks"}}
  reported: {max_age_days: 60,   label: {zh: 用户报告的问题, en: User-reported issues}}
"""
SOURCES = """sources:
  readme: {title: Model README, url: "https://github.com/example/model", read: 2026-11-20}
  report: {title: {zh: 技术报告, en: Technical report}, url: "https://arxiv.org/abs/0000.00000", read: 2026-10-15}
"""
FACTS = """facts:
  params: {value: 6, display: {zh: 60 亿, en: 6B}, label: {zh: 参数量, en: Parameters}, source: readme, verdict: verified, class: stable, checked: 2026-11-20}
  steps: {value: 8, label: {zh: 步数, en: Steps}, source: readme, verdict: verified, class: volatile, checked: 2026-11-01}
  score: {value: 0.8585, label: {zh: 得分, en: Score}, source: report, verdict: secondary, class: reported, checked: 2026-10-15}
  unused: {value: 1, source: readme, verdict: verified, class: volatile, checked: 2020-01-01}
"""


def dated_site(tmp_path: Path, facts: str = FACTS, classes: str = CLASSES, sources: str = SOURCES) -> Path:
    root = make_site(tmp_path, "bilingual")
    (root / "content/data/facts.yaml").write_text(classes + sources + facts, encoding="utf-8")
    return root


def _problems(root: Path) -> list:
    with pytest.raises(SiteError) as exc:
        load_data(root)
    return exc.value.problems


# --------------------------------------------------------------------------- the data layer

def test_the_real_facts_are_dated_and_classed():
    data = load_data(REPO)
    facts = data.facts_file
    assert set(facts.classes) == {"stable", "volatile", "reported"}
    assert facts.classes["volatile"].max_age_days == 90
    assert facts.classes["stable"].label["en"] == "Architecture, licence and release dates"
    assert all(isinstance(s.read, dt.date) for s in facts.sources.values())
    for key, fact in facts.facts.items():
        assert fact.class_ in facts.classes, key
        assert isinstance(fact.checked, dt.date) and fact.checked <= facts.sources[fact.source].read, key


@pytest.mark.parametrize("edit, key, words", [
    (("checked: 2026-11-01", "checked: 2999-01-01"), "facts.steps.checked", "in the future"),
    (("checked: 2026-11-01", "checked: 2026-02-30"), None, "cannot be read"),
    (("checked: 2026-11-01", 'checked: "2026-11"'), "facts.steps.checked", "expected a date"),
    (("checked: 2026-11-01", "checked: 2026-11-01 10:00:00"), "facts.steps.checked", "a date and time"),
    (("class: volatile, checked: 2026-11-01", "class: weekly, checked: 2026-11-01"), "facts.steps.class",
     "unknown class 'weekly'"),
    (("verdict: verified, class: volatile, checked: 2026-11-01", "verdict: verified, checked: 2026-11-01"),
     "facts.steps.class", "needs a class"),
    (("checked: 2026-11-20}", "checked: 2026-11-21}"), "facts.params.checked", 'after its source "readme"'),
])
def test_bad_dates_are_refused_with_file_line_and_key(tmp_path, edit, key, words):
    old, new = edit
    assert old in FACTS
    root = dated_site(tmp_path, FACTS.replace(old, new, 1))
    problems = _problems(root)
    assert any(words in p.message for p in problems), [p.format() for p in problems]
    problem = next(p for p in problems if words in p.message)
    assert problem.file == "content/data/facts.yaml" and problem.line
    if key:
        assert problem.key == key and problem.fix


def test_a_dated_source_list_needs_every_read_date(tmp_path):
    root = dated_site(tmp_path, sources=SOURCES.replace(", read: 2026-10-15", ""))
    [problem] = _problems(root)
    assert problem.key == "sources.report.read" and "last read" in problem.message


def test_a_class_label_with_an_unquoted_comma_says_to_quote_it(tmp_path):
    root = dated_site(tmp_path, classes=CLASSES.replace('"Architecture, licence and release dates"',
                                                        "Architecture, licence and release dates"))
    problems = _problems(root)
    assert problems and all(p.key.startswith("classes.stable.label.") for p in problems)
    assert "in quotes" in problems[0].fix and problems[0].line == 2


def test_facts_without_classes_need_no_dates(tmp_path):
    """A site that does not date its facts (no classes:) builds as before."""
    root = make_site(tmp_path, "bilingual")
    result = build_site(root, root / "build")
    assert not [w for w in result.warnings if w.kind == "stale"]
    assert "sources-checked" not in (root / "build/en/index.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the pages

def test_a_printed_fact_without_a_check_date_stops_the_build(tmp_path):
    root = dated_site(tmp_path, FACTS.replace(", class: volatile, checked: 2026-11-01", ""))
    with pytest.raises(SiteError) as exc:
        build_site(root, root / "build")
    messages = [p.format() for p in exc.value.problems]
    assert any("steps" in m and "no class: and no checked:" in m for m in messages), messages
    # … while a fact the page does not print may stay undated
    build_site(dated_site(tmp_path / "b", FACTS.replace(", class: volatile, checked: 2020-01-01", "")), tmp_path / "out")


def test_the_as_of_line_spans_the_checks_of_the_printed_facts(tmp_path):
    root = dated_site(tmp_path)
    build_site(root, root / "build")
    zh = (root / "build/index.html").read_text(encoding="utf-8")
    en = (root / "build/en/index.html").read_text(encoding="utf-8")
    # printed: params (2026-11-20), steps (2026-11-01), score (2026-10-15); `unused` (2020) is not
    assert ('<p class="sources-checked">数据核对于 <time datetime="2026-10-15">2026-10-15</time> 至 '
            '<time datetime="2026-11-20">2026-11-20</time></p>') in zh
    assert ('<p class="sources-checked">Facts checked between <time datetime="2026-10-15">15 October 2026</time> '
            'and <time datetime="2026-11-20">20 November 2026</time></p>') in en


def test_one_check_date_is_one_date(tmp_path):
    root = dated_site(tmp_path, re.sub(r"checked: 2026-\d\d-\d\d", "checked: 2026-10-01", FACTS),
                      sources=SOURCES.replace("read: 2026-11-20", "read: 2026-10-01").replace("read: 2026-10-15", "read: 2026-10-01"))
    build_site(root, root / "build")
    en = (root / "build/en/index.html").read_text(encoding="utf-8")
    assert '<p class="sources-checked">Facts checked <time datetime="2026-10-01">1 October 2026</time></p>' in en


def test_the_checked_role_prints_the_date_in_the_page_language(tmp_path):
    root = dated_site(tmp_path)
    for lang, words in (("zh", "核对于 {checked}`steps`。"), ("en", "Checked {checked}`steps`.")):
        path = root / "content" / lang / "02-faq.md"
        path.write_text(path.read_text(encoding="utf-8") + f"\n{words}\n", encoding="utf-8")
    build_site(root, root / "build")
    assert '核对于 <time datetime="2026-11-01" data-checked="steps">2026-11-01</time>。' in \
        (root / "build/index.html").read_text(encoding="utf-8")
    assert 'Checked <time datetime="2026-11-01" data-checked="steps">1 November 2026</time>.' in \
        (root / "build/en/index.html").read_text(encoding="utf-8")
    findings = run_checks(root / "build", root, html_validator=False, today=dt.date(2026, 12, 6)).findings
    assert not [f for f in findings if f.rule in ("fact", "stale")], [f.format() for f in findings]
    # a page whose printed date disagrees with the data is caught by the check
    page = root / "build/en/index.html"
    page.write_text(page.read_text(encoding="utf-8").replace(">1 November 2026<", ">2 November 2026<"), encoding="utf-8")
    errors = [f for f in run_checks(root / "build", root, html_validator=False).errors if f.rule == "fact"]
    assert len(errors) == 1 and 'the check date of "steps"' in errors[0].message


def test_the_checked_role_of_an_undated_fact_names_the_section_line(tmp_path):
    root = make_site(tmp_path, "bilingual")  # no dates at all
    path = root / "content/en/02-faq.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nChecked {checked}`steps`.\n", encoding="utf-8")
    with pytest.raises(SiteError) as exc:
        build_site(root, root / "build")
    [problem] = exc.value.problems
    assert problem.file == "content/en/02-faq.md" and problem.line and "{checked}`steps`" in problem.message


# --------------------------------------------------------------------------- stale facts

def test_stale_facts_in_the_build_warnings_but_not_fatal_under_strict(tmp_path):
    root = dated_site(tmp_path)
    site = Site(root, today=dt.date(2027, 1, 15), strict=True)
    result = site.build(root / "build")  # --strict: the page is right; staleness is the check's to refuse
    stale = [w for w in result.warnings if w.kind == "stale"]
    # score (reported, 92 days > 60) is stale; steps (volatile, 75 days), params (stable) and
    # `unused` (2020, but not printed) are not
    assert [w.key for w in stale] == ["facts.score.checked"]
    [score] = [w for w in stale if w.key == "facts.score.checked"]
    assert 'fact "score" (source "report") was last checked 92 days ago (2026-10-15)' in score.message
    assert "reported facts are trusted for 60 days" in score.message and score.line
    # a second build from the caches (a new process reads .cache/) warns the same
    again = Site(root, today=dt.date(2027, 1, 15)).build(root / "build")
    assert again.rendered == 0
    assert [w.format() for w in again.warnings if w.kind == "stale"] == [w.format() for w in stale]


def test_check_reports_stale_facts_by_class(tmp_path):
    root = dated_site(tmp_path)
    build_site(root, root / "build")
    fresh = run_checks(root / "build", root, html_validator=False, today=dt.date(2026, 12, 6))
    assert not [f for f in fresh.findings if f.rule == "stale"]
    assert fresh.stale_summary() == "stale facts: 0 (0 of 1 stable, 0 of 1 volatile, 0 of 1 reported)"

    late = run_checks(root / "build", root, html_validator=False, today=dt.date(2027, 2, 15))
    stale = [f for f in late.findings if f.rule == "stale"]
    assert sorted(f.subject for f in stale) == ["score", "steps"] and all(f.level == "warning" for f in stale)
    [steps] = [f for f in stale if f.subject == "steps"]
    assert 'fact "steps" (source "readme") was last checked 106 days ago' in steps.message
    assert steps.problem.file == "content/data/facts.yaml" and steps.problem.key == "facts.steps.checked"
    assert "printed on build/" in steps.problem.context
    assert late.stale_summary() == "stale facts: 2 (0 of 1 stable, 1 of 1 volatile, 1 of 1 reported)"

    strict = run_checks(root / "build", root, html_validator=False, today=dt.date(2027, 2, 15), strict=True)
    assert sorted(f.subject for f in strict.errors if f.rule == "stale") == ["score", "steps"]


def test_the_command_takes_today_and_writes_the_weekly_report(tmp_path):
    root = dated_site(tmp_path)
    build_site(root, root / "build")
    report = tmp_path / "report.md"

    def check(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "zimage_site", "check", "--root", str(root), "--no-html-validator",
                               "--report", str(report), *args], capture_output=True, text=True, cwd=REPO, timeout=120)

    ok = check("--today", "2026-11-25", "--strict", "--allow-placeholders")
    assert "stale facts: 0 (0 of 1 stable, 0 of 1 volatile, 0 of 1 reported)\n" in ok.stdout
    assert not report.exists()
    # score (reported, checked 2026-10-15) goes stale on 2026-12-15: two weeks ahead, the report says so
    soon = check("--today", "2026-12-06", "--strict", "--allow-placeholders")
    assert soon.returncode == 0
    assert "stale facts: 0 (0 of 1 stable, 0 of 1 volatile, 0 of 1 reported); 1 more within two weeks" in soon.stdout
    text = report.read_text(encoding="utf-8")
    assert "## Going stale within two weeks (1)" in text and "## Stale facts" not in text
    assert 'fact "score" (source "report", reported, checked 2026-10-15) goes stale on 2026-12-15' in text
    late = check("--today", "2027-02-15", "--strict", "--allow-placeholders")
    assert late.returncode == 1
    assert "stale facts: 2 (0 of 1 stable, 1 of 1 volatile, 1 of 1 reported)" in late.stdout
    text = report.read_text(encoding="utf-8")
    assert text.startswith(MARKER) and "## Stale facts (2)" in text and 'fact "steps"' in text
    assert "## Broken links" not in text
    # all well again: the report goes away (the workflow closes its issue)
    check("--today", "2026-11-25")
    assert not report.exists()
    bad = check("--today", "2026-13-01")
    assert bad.returncode == 2 and "is not a date" in bad.stderr


def test_chart_facts_count_as_printed(tmp_path):
    """The real site: the arena chart's Elo facts are printed (the chart says so in data-facts)."""
    out = tmp_path / "build"
    result = Site(REPO, today=dt.date(2027, 4, 1)).build(out)
    stale = {w.key.split(".")[1] for w in result.warnings if w.kind == "stale"}
    assert "imagen4_ultra_arena_elo" in stale  # only the arena chart prints it
    check = run_checks(out, REPO, html_validator=False, today=dt.date(2027, 4, 1))
    assert {f.subject for f in check.findings if f.rule == "stale"} == stale
    data = yaml.safe_load((REPO / "content/data/facts.yaml").read_text(encoding="utf-8"))
    assert re.search(r'data-facts="[^"]*\bimagen4_ultra_arena_elo\b', (out / "index.html").read_text(encoding="utf-8"))
    assert "imagen4_ultra_arena_elo" in data["facts"]


def test_write_report_removes_an_old_report_when_all_is_well(tmp_path):
    from zimage_site.check.findings import CheckResult

    path = tmp_path / "r.md"
    path.write_text("old", encoding="utf-8")
    assert write_report(path, CheckResult()) is False and not path.exists()


def test_the_live_preview_prints_stale_facts(tmp_path, capsys):
    from zimage_site.serve.preview import Preview

    root = dated_site(tmp_path, FACTS.replace("class: reported, checked: 2026-10-15", "class: reported, checked: 2025-01-15"),
                      sources=SOURCES.replace("read: 2026-10-15", "read: 2025-01-15"))
    preview = Preview(root, None, tmp_path / "work")
    try:
        outcome = preview.build()
    finally:
        preview.executor.shutdown(wait=False)
    assert outcome.ok, outcome.message
    err = capsys.readouterr().err
    assert 'warning: content/data/facts.yaml, line 11, key "facts.score.checked": fact "score" (source "report") ' \
           "was last checked" in err
