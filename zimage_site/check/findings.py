"""What `zimage-site check` reports: findings (one problem each) and the result of a run."""

from __future__ import annotations

from dataclasses import dataclass, field

from zimage_site.errors import Problem


@dataclass
class Finding:
    """One problem found in the built site. `level` is "error" or "warning"; `rule` names the check."""

    level: str
    rule: str
    problem: Problem
    subject: str | None = None  # what the finding is about, where it has an id (an image, a fact)

    @property
    def file(self) -> str | None:
        return self.problem.file

    @property
    def line(self) -> int | None:
        return self.problem.line

    @property
    def message(self) -> str:
        return self.problem.message

    def format(self) -> str:
        return self.problem.format(self.level)

    def annotation(self) -> str:
        """The finding as a GitHub Actions workflow command (`::error file=…,line=…::…`)."""
        return self.problem.annotation(self.level, title=f"zimage-site check: {self.rule}")


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pages: int = 0
    links: int = 0
    images: int = 0
    seconds: float = 0.0
    # printed facts by volatility class: (how many the pages print, how many of them are stale)
    facts_by_class: dict[str, tuple[int, int]] = field(default_factory=dict)
    external: str | None = None  # the summary of the external link check, when it ran
    # printed facts that go stale within DUE_DAYS: "fact … (source …) goes stale on DATE"
    due_soon: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def summary(self) -> str:
        return (f"checked {plural(self.pages, 'page')}, {plural(self.links, 'link')}, "
                f"{plural(self.images, 'image')}: {plural(len(self.errors), 'error')}, "
                f"{plural(len(self.warnings), 'warning')}")


    def stale_summary(self) -> str | None:
        """"stale facts: 2 of 34 volatile, 0 of 1 reported, 0 of 41 stable", or None when the
        facts are not dated."""
        if not self.facts_by_class:
            return None
        stale = sum(n for _, n in self.facts_by_class.values())
        parts = ", ".join(f"{n} of {total} {cls}" for cls, (total, n) in self.facts_by_class.items())
        return f"stale facts: {stale} ({parts})"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
