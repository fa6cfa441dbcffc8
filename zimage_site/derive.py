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

The comments of highlighted code are prose of the page too: the comment tokens Pygments marks
(`<span class="c1">` inside `<pre>`: _comment_classes) are converted like text, and a copy button
whose `data-copy` holds that code copies it as shown; the code itself, its strings (a prompt in
a string stays as sent) and commands are left as they are.

A UI string may give the derived language a text of its own (templates/i18n: a text under the
derived language's code beside those of the languages written by hand): where a template marks the
string's element with its key (markup.STRING_ATTR), the converter writes that text in place of the
converted one. The source page shows its own text; only the derived page says, for instance, that a
prompt is the Simplified original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape, unescape
from pathlib import Path

from zimage_site.errors import ConfigError, Problem
from zimage_site.files import read_bytes
from zimage_site.markup import STRING_ATTR
from zimage_site.model import NonEmpty, Strict, field, validate

# A text given for the derived language itself (site.yaml's title of zh-Hant) is marked with these
# two private-use characters until the page is converted, which keeps it as written and drops them.
KEEP_START, KEEP_END = "\ue000", "\ue001"
_KEPT = re.compile(f"{KEEP_START}(.*?){KEEP_END}", re.S)

# the UI strings of the site (render.I18N_DIR), read here for the texts given to a derived language
STRINGS_DIR = "templates/i18n"

GLOSSARY_FIX = 'a mapping terms: {SOURCE TERM: CONVERTED TERM}, e.g. terms: {参数: 參數, 显存: 顯存}'


@dataclass(frozen=True)
class Converter:
    """OpenCC with a glossary: the glossary's terms are cut out of the text first and replaced as
    written; OpenCC converts the text between them. `strings`: the UI strings given for the derived
    language ({key: text}), written in the elements marked with their key."""

    profile: str
    terms: tuple[tuple[str, str], ...] = ()
    strings: tuple[tuple[str, str], ...] = ()

    def text(self, value: str) -> str:
        if not value or value.isascii():
            return value
        if KEEP_START in value:  # a translation given for the derived language: as written
            parts = _KEPT.split(value)
            return "".join(part if i % 2 else self.text(part) for i, part in enumerate(parts))
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

    def html(self, page: str, locale: str) -> str:
        """Convert the text of an HTML page made by the engine: the text and the readable
        attributes of the elements in `locale` (from the nearest `lang` attribute: the whole page
        when <html> has it, else the parts marked with it, as on the 404 page), except code,
        scripts other than JSON-LD and styles, whose comments only are converted (see the
        module's docstring)."""
        out: list[str] = []
        # open elements: (name, converted, replaced: the content of a UI string given for the
        # language, in the locale: the text around them is the language's)
        stack: list[tuple[str, bool, bool, bool]] = [("", False, False, False)]
        convert_attrs = lambda m: m.group(1) + self.text(m.group(2)) + '"'
        given = dict(self.strings)
        # the code of each <pre> whose comments were converted: {as written: as shown}
        blocks: dict[str, str] = {}
        code: tuple[list[str], list[str]] | None = None  # the text of the open <pre>: (as written, as shown)
        for match in _TOKEN.finditer(page):
            token = match.group()
            if match.group("text") is not None:
                if not stack[-1][2]:
                    shown = self.text(token) if stack[-1][1] else token
                    out.append(shown)
                    if code is not None:
                        code[0].append(token)
                        code[1].append(shown)
                continue
            name = (match.group("name") or "").lower()
            if not name:  # a comment, a doctype, a lone <
                out.append(token if not stack[-1][2] else "")
                continue
            if token.startswith("</"):
                for depth in range(len(stack) - 1, 0, -1):
                    if stack[depth][0] == name:
                        if stack[depth - 1][2]:  # inside a replaced element: dropped with its content
                            token = ""
                        del stack[depth:]
                        break
                if name == "pre" and code is not None and not any(entry[0] == "pre" for entry in stack):
                    written, shown = (unescape("".join(part)).strip("\n") for part in code)
                    if written != shown:
                        blocks[written] = shown
                    code = None
                out.append(token)
                continue
            if stack[-1][2]:  # an element inside a replaced one
                if name not in _VOID and not token.endswith("/>"):
                    stack.append((name, False, True, False))
                continue
            converted, in_locale = stack[-1][1], stack[-1][3]
            lang = _LANG.search(token)
            if lang:
                converted = in_locale = lang.group(1) == locale
            if name in _KEEP or (name == "script" and "application/ld+json" not in token):
                converted = False
            elif in_locale and name == "span" and any(entry[0] in _CODE for entry in stack):
                classes = _CLASS.search(token)
                converted = bool(classes) and not _comment_classes().isdisjoint(classes.group(1).split())
            if name == "pre" and in_locale and code is None:
                code = ([], [])
            out.append(_ATTR.sub(convert_attrs, token) if converted or (lang and lang.group(1) == locale) else token)
            key = _STRING.search(token) if converted else None
            replaced = bool(key) and key.group(1) in given
            if replaced:
                out.append(escape(given[key.group(1)], quote=False))
            if name not in _VOID and not token.endswith("/>"):
                stack.append((name, converted, replaced, in_locale))
        html = "".join(out)
        if not blocks:
            return html

        def copy_as_shown(match: re.Match) -> str:
            value = unescape(match.group(2))
            written = value.strip("\n")
            if written not in blocks:
                return match.group()
            return match.group(1) + escape(value.replace(written, blocks[written], 1)) + '"'

        return _COPY.sub(copy_as_shown, html)


_TOKEN = re.compile(r"<!--.*?-->|<![^>]*>|</?(?P<name>[A-Za-z][A-Za-z0-9:-]*)(?:\"[^\"]*\"|'[^']*'|[^'\">])*>"
                    r"|(?P<text>[^<]+)|<", re.S)
# the attributes people read; everything else (href, src, id, data-copy, class) stays
_ATTR = re.compile(r'(\s(?:alt|title|aria-label|aria-description|content|placeholder|data-copied|data-failed)=")'
                   r'([^"]*)"')
_KEEP = frozenset({"pre", "code", "kbd", "samp", "style", "textarea"})
_CODE = frozenset({"pre", "code"})  # highlighted code, whose comment tokens are converted
# the code a copy button copies (templates/blocks/code.html), made to copy the code as shown
_COPY = re.compile(r'(\sdata-copy=")([^"]*)"')
_CLASS = re.compile(r'\sclass="([^"]*)"')
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr"})
_LANG = re.compile(r'\slang="([^"]*)"')
_STRING = re.compile(rf'\s{STRING_ATTR}="([^"]*)"')


@lru_cache(maxsize=1)
def _comment_classes() -> frozenset[str]:
    """The classes Pygments gives the comments of highlighted code (markdown.highlight): comments,
    single-line, multiline and special ones; not Comment.Preproc and Comment.PreprocFile (#include:
    code), nor Comment.Hashbang (#!/usr/bin/env: a command)."""
    from pygments.token import STANDARD_TYPES, Comment

    return frozenset(STANDARD_TYPES[t] for t in (Comment, Comment.Single, Comment.Multiline, Comment.Special))


@lru_cache(maxsize=None)
def _opencc(profile: str):
    import opencc

    return opencc.OpenCC(f"{profile}.json" if not profile.endswith(".json") else profile)


@lru_cache(maxsize=64)
def _terms_pattern(terms: tuple[tuple[str, str], ...]):
    if not terms:
        return None
    return re.compile("|".join(re.escape(t) for t, _ in sorted(terms, key=lambda t: -len(t[0]))))


class Glossary(Strict):
    """A glossary of a derived language (content/i18n/CODE.glossary.yaml): terms kept as written."""

    terms: dict[str, NonEmpty] = field(fix=GLOSSARY_FIX)


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
    if not isinstance(raw, dict):
        raise ConfigError(Problem("expected a mapping with one key, terms:", file=name, line=1, key="terms",
                                  fix=GLOSSARY_FIX))
    terms = validate(raw, Glossary, name, lines, error=ConfigError).terms
    problems = [Problem(f"the term {source!r} needs a text on each side", file=name, line=lines.get(f"terms.{source}"),
                        key=f"terms.{source}", fix=GLOSSARY_FIX) for source in terms if not source.strip()]
    if problems:
        raise ConfigError(problems)
    return tuple(sorted(terms.items()))


def given_strings(root: Path, code: str) -> tuple[tuple[str, str], ...]:
    """The UI strings of templates/i18n that give the derived language `code` a text of its own
    (the files are checked when the strings are loaded: render.load_strings)."""
    from zimage_site.yamlfile import parse_yaml

    found: dict[str, str] = {}
    folder = root / STRINGS_DIR
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        shown = f"{STRINGS_DIR}/{path.name}"
        text = read_bytes(root, path, shown, error=ConfigError).decode("utf-8", errors="replace")
        if code not in text:  # most files give it nothing: not parsed
            continue
        raw, _ = parse_yaml(text, shown, error=ConfigError)
        for key, texts in raw.items() if isinstance(raw, dict) else ():
            if isinstance(texts, dict) and isinstance(texts.get(code), str) and texts[code].strip():
                found[str(key)] = texts[code]
    return tuple(sorted(found.items()))


def converter(root: Path, language) -> Converter:
    return Converter(language.convert, load_glossary(root, language.glossary), given_strings(root, language.code))


def derive_language(root: Path, language, source):
    """The derived language of site.yaml, its titles taken from its source where not given (its
    page is converted as a whole; a title given for it is marked to be kept as written)."""
    converter(root, language)  # the glossary is checked with the configuration
    return language.model_copy(update={key: f"{KEEP_START}{getattr(language, key)}{KEEP_END}" if getattr(language, key)
                                else getattr(source, key) for key in ("title", "description", "site_name")})
