"""Derived languages: a page converted at build time from another language's page by OpenCC.

site.yaml declares one as a language with `from:` (the language written by hand), `convert:`
(an OpenCC profile, e.g. s2twp: Simplified to Traditional Chinese with Taiwan's phrases) and
`glossary:` (a YAML file of the site whose `terms:` override OpenCC where its phrase tables
over-convert: 参数 is a model's 參數, not a function's 引數). The derived page reads every text of
its source (sections, UI strings, captions, alt text, facts) and its HTML is converted as a
whole: text and the human-readable attributes only. Code (`<pre>`, `<code>`), scripts other than
JSON-LD, URLs, ids, anchors and any element that declares its own `lang` (a prompt quoted as it
was written, the language switch) are left as they are, so links and anchors of the source page
keep working on the derived one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from zimage_site.errors import ConfigError, Problem
from zimage_site.files import read_bytes

GLOSSARY_FIX = 'a mapping terms: {SOURCE TERM: CONVERTED TERM}, e.g. terms: {参数: 參數, 显存: 顯存}'


@dataclass(frozen=True)
class Converter:
    """OpenCC with a glossary: the glossary's terms are cut out of the text first and replaced as
    written; OpenCC converts the text between them."""

    profile: str
    terms: tuple[tuple[str, str], ...] = ()

    def text(self, value: str) -> str:
        if not value or value.isascii():
            return value
        convert = _opencc(self.profile).convert
        pattern = _terms_pattern(self.terms)
        if pattern is None:
            return convert(value)
        table = dict(self.terms)
        out, pos = [], 0
        for match in pattern.finditer(value):
            out.append(convert(value[pos:match.start()]) if match.start() > pos else "")
            out.append(table[match.group()])
            pos = match.end()
        out.append(convert(value[pos:]) if pos < len(value) else "")
        return "".join(out)

    def html(self, page: str) -> str:
        """Convert the text of an HTML page made by the engine (see the module's docstring)."""
        out: list[str] = []
        skip: list[str] = []  # the open elements whose content is left as it is (innermost last)
        for match in _TOKEN.finditer(page):
            token = match.group()
            if match.group("text") is not None:
                out.append(token if skip else self.text(token))
                continue
            name = (match.group("name") or "").lower()
            if not name:  # a comment, a doctype
                out.append(token)
                continue
            closing = token.startswith("</")
            if skip:
                if name == skip[-1]:
                    if closing:
                        skip.pop()
                    elif not token.endswith("/>"):
                        skip.append(name)
                out.append(token)
                continue
            if closing:
                out.append(token)
                continue
            if _keeps_content(name, token) and not token.endswith("/>") and name not in _VOID:
                skip.append(name)
                out.append(_ATTR.sub(lambda m: m.group(1) + self.text(m.group(2)) + '"', token)
                           if name == "meta" else token)
                continue
            out.append(_ATTR.sub(lambda m: m.group(1) + self.text(m.group(2)) + '"', token))
        return "".join(out)


_TOKEN = re.compile(r"<!--.*?-->|<![^>]*>|</?(?P<name>[A-Za-z][A-Za-z0-9:-]*)(?:\"[^\"]*\"|'[^']*'|[^'\">])*>"
                    r"|(?P<text>[^<]+)|<", re.S)
# the attributes people read; everything else (href, src, id, data-copy, class) stays
_ATTR = re.compile(r'(\s(?:alt|title|aria-label|aria-description|content|placeholder|data-copied|data-failed)=")'
                   r'([^"]*)"')
_KEEP = frozenset({"pre", "code", "kbd", "samp", "style", "textarea"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr"})
_LANG = re.compile(r"\slang=")


def _keeps_content(name: str, tag: str) -> bool:
    if name in _KEEP or (name == "script" and "application/ld+json" not in tag):
        return True
    return bool(_LANG.search(tag)) and name != "html"


@lru_cache(maxsize=None)
def _opencc(profile: str):
    import opencc

    return opencc.OpenCC(f"{profile}.json" if not profile.endswith(".json") else profile)


@lru_cache(maxsize=64)
def _terms_pattern(terms: tuple[tuple[str, str], ...]):
    if not terms:
        return None
    return re.compile("|".join(re.escape(t) for t, _ in sorted(terms, key=lambda t: -len(t[0]))))


def load_glossary(root: Path, name: str | None) -> tuple[tuple[str, str], ...]:
    """The glossary's terms, checked: every key and value a non-empty text."""
    if not name:
        return ()
    from zimage_site.yamlfile import load_yaml

    path = root / name
    if not path.is_file():
        raise ConfigError(Problem(f"the glossary {name} does not exist", file="site.yaml",
                                  fix=f"create {name} ({GLOSSARY_FIX}) or correct glossary: in site.yaml"))
    read_bytes(root, path, name, error=ConfigError)
    raw, lines = load_yaml(path, name, error=ConfigError, root=root)
    terms = raw.get("terms") if isinstance(raw, dict) else None
    problems = []
    if not isinstance(raw, dict) or set(raw) - {"terms"} or not isinstance(terms, dict):
        problems.append(Problem("expected a mapping with one key, terms:", file=name, line=1, key="terms",
                                fix=GLOSSARY_FIX))
        raise ConfigError(problems)
    for source, target in terms.items():
        if not isinstance(source, str) or not source.strip() or not isinstance(target, str) or not target.strip():
            problems.append(Problem(f"the term {source!r} needs a text on each side", file=name,
                                    line=lines.get(f"terms.{source}"), key=f"terms.{source}", fix=GLOSSARY_FIX))
    if problems:
        raise ConfigError(problems)
    return tuple(sorted(terms.items()))


def converter(root: Path, language) -> Converter:
    return Converter(language.convert, load_glossary(root, language.glossary))


def derive_language(root: Path, language, source):
    """The derived language of site.yaml with its titles converted from its source's where not given."""
    conv = converter(root, language)
    return replace(language, **{key: getattr(language, key) or conv.text(getattr(source, key))
                                for key in ("title", "description", "site_name")})
