"""Errors and warnings that reach the user.

Every problem a user can cause is a `SiteError`: it names the file (and line or key where known),
says what is wrong and how to fix it. The CLI prints it and exits 1, never a traceback (unless
--debug). Soft problems are warnings, collected in a `Report`; `--strict` turns them into errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Problem:
    """One problem: where, what, and how to fix it."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None
    fix: str | None = None
    context: str | None = None  # an excerpt of the source, already formatted
    kind: str | None = None     # e.g. "placeholder": warnings that --allow-placeholders tolerates

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.line:
            parts.append(f"line {self.line}")
        if self.key:
            parts.append(f'key "{self.key}"')
        return ", ".join(parts)

    def format(self, level: str = "error") -> str:
        where = self.location()
        head = f"{level}: {where}: {self.message}" if where else f"{level}: {self.message}"
        lines = [head]
        if self.context:
            lines.extend("    " + ln for ln in self.context.rstrip("\n").splitlines())
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)

    def annotation(self, level: str = "warning", title: str | None = None) -> str:
        """The problem as a GitHub Actions workflow command (`::warning file=…,line=…::…`), which
        the Actions log shows as an annotation on the run's summary."""
        props = [f"file={_escape_property(self.file)}"] if self.file else []
        if self.line:
            props.append(f"line={self.line}")
        if title:
            props.append(f"title={_escape_property(title)}")
        text = self.message + (f" (fix: {self.fix})" if self.fix else "")
        head = f"{level} {','.join(props)}" if props else level
        return f"::{head}::{escape_annotation(text)}"


def escape_annotation(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return escape_annotation(text).replace(":", "%3A").replace(",", "%2C")


class SiteError(Exception):
    """One or more problems that stop the build (or another command).

    Raise it `from exc` when it translates another exception: the message stays one problem with
    its file, line and fix, and `--debug` shows the original traceback as its cause. The
    subclasses below say which part of the site the problem is in; catch `SiteError` for all.
    """

    def __init__(self, problems: Problem | list[Problem] | str, **kwargs):
        if isinstance(problems, str):
            problems = Problem(problems, **kwargs)
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(p.format("error") for p in self.problems)


class ConfigError(SiteError):
    """site.yaml, command-line options, the output folder."""


class ContentError(SiteError):
    """Sections, data files (facts), static files."""


class TemplateError(SiteError):
    """Templates and their UI strings."""


class ImageError(SiteError):
    """The image manifest, the image store and its variant cache."""


class GenerationError(SiteError):
    """Generating images with the model."""


def rel(path: Path | str, root: Path | None = None) -> str:
    """A path as the user should read it: relative to the site root when inside it."""
    path = Path(path)
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


@dataclass
class Report:
    """Warnings collected during a command, deduplicated, in the order they were first seen."""

    warnings: list[Problem] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def warn(self, message: str | Problem, **kwargs) -> None:
        problem = message if isinstance(message, Problem) else Problem(message, **kwargs)
        text = problem.format("warning")
        if text not in self._seen:
            self._seen.add(text)
            self.warnings.append(problem)

    def __len__(self) -> int:
        return len(self.warnings)
