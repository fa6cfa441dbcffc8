"""The site configuration (`site.yaml` at the site root), loaded and validated once."""

from __future__ import annotations

import re
from typing import Annotated
from pathlib import Path
from urllib.parse import urlsplit

from zimage_site.errors import ConfigError, Problem, Report
from pydantic import ConfigDict, Field

from zimage_site.model import Strict, check, field, one_of, validate
from zimage_site.yamlfile import load_yaml

CONFIG_FILE = "site.yaml"


def _url(value: str) -> str | None:
    """An absolute http(s) URL, by the one URL policy (zimage_site/urls.py)."""
    from zimage_site.urls import URLError, absolute_url

    try:
        absolute_url(value)
    except URLError as exc:
        return str(exc)
    return None


def _link(value: str | dict) -> str | None:
    """A link of site.yaml: one URL for every language, or {lang: URL} (the languages are
    checked against languages: once they are known, in load_config)."""
    if isinstance(value, str):
        return _url(value)
    if not value:
        return "an empty mapping: give a URL, or one URL per language ({zh: …, en: …})"
    for lang, url in value.items():
        if not isinstance(url, str):
            return f"{lang}: expected a URL, got {type(url).__name__}"
        problem = _url(url)
        if problem:
            return f"{lang}: {problem}"
    return None


def _static_file(value: str) -> str | None:
    """A file under static/, named by a plain relative path: no .., no absolute path."""
    parts = value.replace("\\", "/").split("/")
    if value.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", value) or ".." in parts or "" in parts \
            or any(p in (".",) or p.startswith(".") for p in parts) or "\x00" in value:
        return f"{value!r} is not a plain path under static/ (no leading /, no .., no hidden folders)"
    return None


def _base_url(value: str) -> str | None:
    from zimage_site.urls import URLError, base_url

    try:
        base_url(value)
    except URLError as exc:
        return str(exc)
    return None


GLOSSARY_DIR = "content/i18n/"  # where glossaries live (an input kind of their own: inputs.KINDS)


def _glossary_file(value: str) -> str | None:
    if not value.startswith(GLOSSARY_DIR) or not value.endswith(".yaml"):
        return f"{value!r} is not a .yaml file under {GLOSSARY_DIR}"
    return _static_file(value)


def _color(value: str) -> str | None:
    return None if re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", value) else f"{value!r} is not a #rgb or #rrggbb colour"


# A well-formed BCP 47 language tag (RFC 5646 section 2.1: language, script, region, variants,
# extensions, private use), or a private-use tag. The sitemap, hreflang and lang= attributes
# carry it, so only its letters, digits and dashes ever reach them.
_BCP47 = re.compile(
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[xX](?:-[A-Za-z0-9]{1,8})+")


def _locale(value: str) -> str | None:
    if _BCP47.fullmatch(value) and value.lower() != "x-default":
        return None
    return f"{value!r} is not a BCP 47 language tag (letters, digits and dashes: zh-CN, zh-Hans, en, en-GB)"


def _og_locale(value: str) -> str | None:
    if re.fullmatch(r"[a-z]{2,3}_[A-Z]{2}", value):
        return None
    return f"{value!r} is not an Open Graph locale (language_TERRITORY: zh_CN, en_US)"


def _lang_path(value: str) -> str | None:
    if value == "" or re.fullmatch(r"[a-z0-9-]+/", value):
        return None
    return f'{value!r} must be "" (the site root) or a folder name ending in / (e.g. "en/")'


def _label_text(value: str) -> str | None:
    if not value.strip():
        return "the text is empty"
    if len(value) > 200:
        return f"{len(value)} characters; at most 200 (a name or a code, not a sentence)"
    if re.search(r"[\x00-\x1f\x7f]", value):
        return "holds a control character"
    return None


_LABEL_TEXT = check(_label_text)


class Aigc(Strict):
    """Who generated the site's images and who publishes them (GB 45438-2025's ContentProducer and
    ContentPropagator): the implicit label of the generated images (zimage_site/images/xmp.py).
    Required as soon as a generated image is published."""

    producer: Annotated[str, _LABEL_TEXT] = field(
        fix="the name (or registered code) of whoever generated the images, e.g. the site's owner: "
            "producer: example.github.io")
    propagator: Annotated[str, _LABEL_TEXT] = field(
        fix="the name (or registered code) of whoever publishes them, e.g. the site: propagator: example.github.io")


AIGC_FIX = "aigc: {producer: …, propagator: …} (see docs/images.md, “AI-content labels”)"
AIGC_MISSING_FIX = ("add to site.yaml:\n  aigc:\n    producer: NAME   # who generated the images (GB 45438-2025 "
                    "ContentProducer)\n    propagator: NAME # who publishes them (ContentPropagator)\n"
                    "  (see docs/images.md, “AI-content labels”)")

# The writing systems a language may declare (ISO 15924). Han scripts get the rules of CJK text: a
# prompt with Han characters is attributed to a Han-script language, a Han page's alt text must
# hold Han characters, and a long prompt is shorter in characters.
SCRIPTS = ("Hans", "Hant", "Latn", "Cyrl", "Grek", "Arab", "Hebr", "Deva", "Jpan", "Kore", "Thai")
HAN_SCRIPTS = ("Hans", "Hant", "Jpan")
# OpenCC's conversion profiles (zimage_site/derive.py): from Simplified to Traditional Chinese and back.
PROFILES = ("s2t", "s2tw", "s2twp", "s2hk", "t2s", "tw2s", "tw2sp", "hk2s")


class Language(Strict):
    """A language of site.yaml (`languages: {CODE: …}`); `code` is its key there."""

    code: str = ""
    locale: Annotated[str, check(_locale)] = field(fix='the BCP 47 tag, e.g. "zh-CN" or "en"')
    og_locale: Annotated[str, check(_og_locale)] = field(fix='the Open Graph locale, e.g. "zh_CN" or "en_US"')
    name: str = field(fix='the label of the language switch, e.g. "中文" or "EN"')
    path: Annotated[str, check(_lang_path)]
    # title, description and site_name are required, except in a derived language (converted from
    # its source's when not given): load_config checks them.
    title: str = field("", fix="the page title shown in search results")
    description: str = field("", fix="one or two sentences for the meta description")
    site_name: str = field("", fix="the site's name in this language")
    script: Annotated[str, one_of(*SCRIPTS)] = field(
        "Latn", fix=f"the writing system of the language (ISO 15924): {', '.join(SCRIPTS)}")
    # A derived language: its page is made from the `from` language's sources by OpenCC.
    source: str | None = field(None, alias="from", fix="the code of the language this page is converted from, e.g. zh")
    convert: Annotated[str, one_of(*PROFILES)] | None = field(
        None, fix=f"an OpenCC profile: {', '.join(PROFILES)} (s2twp: Taiwan, with its phrases)")
    glossary: Annotated[str, check(_glossary_file)] | None = field(
        None, fix="a YAML file of the site, e.g. content/i18n/zh-Hant.glossary.yaml")

    @property
    def text_lang(self) -> str:
        """The language whose text this page reads (its source when derived)."""
        return self.source or self.code

    @property
    def han(self) -> bool:
        """Written in Han characters (Chinese, Japanese): the CJK rules apply."""
        return self.script in HAN_SCRIPTS


_URL_FIX = "an absolute http(s) URL, e.g. https://github.com/Tongyi-MAI/Z-Image (percent-encode spaces and quotes)"
_URL = check(_url)


class License(Strict):
    name: str = field(fix="the license's name, e.g. Apache-2.0")
    url: Annotated[str, _URL] = field(fix=_URL_FIX)


class Model(Strict):
    """The model the page presents (its SoftwareApplication in JSON-LD)."""

    name: str = field(fix="the model's name")
    url: Annotated[str, _URL] = field(fix=_URL_FIX)
    download_url: Annotated[str, _URL] = field(fix=_URL_FIX)
    publisher: str = field(fix="who publishes the model, e.g. Alibaba Tongyi-MAI")
    category: str = "MultimediaApplication"
    operating_system: str = "Linux, Windows, macOS"
    version: str | None = None
    date_published: str | None = None


class SiteFile(Strict):
    """site.yaml as written."""

    base_url: Annotated[str, check(_base_url)] = field(
        fix='the absolute URL the site is served from, e.g. "https://example.github.io/repo/"')
    default_language: str
    languages: dict[str, Language]
    nav: list[str] = field(fix="a list of section ids shown in the header navigation")
    theme_color: Annotated[str, check(_color)]
    social_image: Annotated[str, check(_static_file)] = field(fix="a PNG or JPEG under static/, e.g. img/og.png")
    favicon: Annotated[str, check(_static_file)] = field(fix="an SVG under static/, e.g. favicon.svg")
    repository: Annotated[str, _URL] = field(fix="the URL of this site's source repository")
    # a URL, or one URL per language; Config.links holds one per language
    links: dict[str, Annotated[str | dict[str, str], check(_link)]] = field(
        {}, fix="a URL, or one URL per language: {zh: https://…, en: https://…}")
    license: License
    model: Model
    aigc: Aigc | None = field(None, fix=AIGC_FIX)


class _AigcOnly(Strict):
    model_config = ConfigDict(extra="ignore")
    aigc: Aigc | None = field(None, fix=AIGC_FIX)


class _LanguagesOnly(Strict):
    model_config = ConfigDict(extra="ignore")
    languages: dict[str, Language]


def aigc_missing(line: int | None = None) -> ConfigError:
    return ConfigError(Problem("the site publishes generated images, but site.yaml does not say who made and "
                               "publishes them (the `aigc:` block of their AI-content labels)",
                               file=CONFIG_FILE, line=line, key="aigc", fix=AIGC_MISSING_FIX))


def load_aigc(root: Path) -> Aigc:
    """Only the `aigc:` block of root/site.yaml (for the image catalog used on its own)."""
    path = root / CONFIG_FILE
    if not path.exists():
        raise aigc_missing()
    raw, lines = load_yaml(path, CONFIG_FILE, error=ConfigError)
    data = validate(raw if isinstance(raw, dict) else {}, _AigcOnly, CONFIG_FILE, lines, error=ConfigError)
    if data.aigc is None:
        raise aigc_missing()
    return data.aigc


def _with_codes(languages: dict[str, Language]) -> dict[str, Language]:
    return {code: lang.model_copy(update={"code": code}) for code, lang in languages.items()}


def load_languages(root: Path) -> dict[str, Language]:
    """Only the languages of root/site.yaml (for the image catalog used on its own); none when the
    file has no languages: block."""
    path = root / CONFIG_FILE
    if not path.exists():
        return {}
    raw, lines = load_yaml(path, CONFIG_FILE, error=ConfigError)
    if not isinstance(raw, dict) or not isinstance(raw.get("languages"), dict):
        return {}
    if {"base_url", "default_language"} <= set(raw):
        return load_config(root).languages
    return _with_codes(validate(raw, _LanguagesOnly, CONFIG_FILE, lines, error=ConfigError).languages)


class Config(SiteFile):
    """The site configuration: site.yaml, its languages' codes set and derived languages made,
    its links resolved to one URL per language."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    root: Path
    links: dict[str, dict[str, str]] = {}  # name -> {language code: URL}; the same URL for each unless site.yaml differs
    lines: dict = Field(default_factory=dict, repr=False, exclude=True)  # key path → line of site.yaml

    @property
    def base_path(self) -> str:
        """The URL path the site lives under: "/" or "/repo/"."""
        return urlsplit(self.base_url).path or "/"

    def with_base_url(self, base_url: str) -> "Config":
        problem = _base_url(base_url)
        if problem:
            raise ConfigError(Problem(problem, key="--base-url",
                                    fix="pass an absolute URL ending in /, e.g. --base-url https://example.github.io/repo/"))
        return self.model_copy(update={"base_url": base_url})

    def link(self, name: str, lang: str) -> str:
        """The URL of the link `name` of site.yaml for a page in `lang` (KeyError when unknown)."""
        return self.links[name][lang]

    def page_path(self, lang: str) -> str:
        return self.base_path + self.languages[lang].path

    def page_url(self, lang: str) -> str:
        return self.base_url + self.languages[lang].path


def load_config(root: Path, report: Report | None = None) -> Config:
    path = root / CONFIG_FILE
    if not path.exists() and not path.is_symlink():
        raise ConfigError(Problem(f"no {CONFIG_FILE} in {root}", file=str(root),
                                fix=f"run the command in the site folder or pass --root DIR (the folder holding {CONFIG_FILE})"))
    raw, lines = load_yaml(path, CONFIG_FILE, report=report, error=ConfigError, root=root)
    data = validate(raw, SiteFile, CONFIG_FILE, lines, error=ConfigError)
    problems = []

    def add(key: str, message: str, fix: str) -> None:  # (a missing key: the line of its parent)
        line = lines.get(key, lines.get(key.rsplit(".", 1)[0]))
        problems.append(Problem(message, file=CONFIG_FILE, line=line, key=key, fix=fix))

    languages = _with_codes(data.languages)
    for code, lang in languages.items():
        if lang.source is None:
            for key in ("title", "description", "site_name"):
                if key not in lang.model_fields_set:
                    add(f"languages.{code}.{key}", "missing value", f"add {key}: … to languages.{code}")
            if lang.convert or lang.glossary:
                add(f"languages.{code}", "convert: and glossary: belong to a derived language",
                    f"add from: CODE (the language to convert from), or remove them")
        elif lang.convert is None:
            add(f"languages.{code}", "a derived language needs a conversion profile",
                f"add convert: s2twp (one of {', '.join(PROFILES)})")
    for code, lang in languages.items():
        if lang.source is not None and (lang.source not in languages or languages[lang.source].source):
            add(f"languages.{code}.from", f"{lang.source!r} is not a language written by hand",
                f"use one of: {', '.join(c for c, l in languages.items() if not l.source)}")
    if data.default_language not in languages:
        add("default_language", f"{data.default_language!r} is not one of the languages",
            f"use one of: {', '.join(languages)}")
    elif languages[data.default_language].path != "":
        add(f"languages.{data.default_language}.path", "the default language must be served at the site root",
            'set its path to ""')
    paths: dict[str, str] = {}
    for code, lang in languages.items():
        if lang.path in paths:
            add(f"languages.{code}.path", f"the same path as language {paths[lang.path]!r}", "give each language its own path")
        paths[lang.path] = code
    links: dict[str, dict[str, str]] = {}
    for name, value in data.links.items():
        if isinstance(value, str):
            links[name] = {code: value for code in languages}
            continue
        unknown = [code for code in value if code not in languages]
        # a derived language reads its source's link unless it has its own
        missing = [code for code in languages if code not in value and languages[code].source is None]
        if unknown:
            add(f"links.{name}.{unknown[0]}", f"{unknown[0]!r} is not one of the languages",
                f"use the languages of languages:: {', '.join(languages)}")
        elif missing:
            add(f"links.{name}", f"no URL for {', '.join(missing)}",
                f"give a URL for every language ({', '.join(languages)}), or one URL for all")
        else:
            links[name] = {code: value.get(code, value.get(lang.text_lang)) for code, lang in languages.items()}
    if problems:
        raise ConfigError(problems)
    if any(lang.source for lang in languages.values()):
        from zimage_site.derive import derive_language

        languages = {code: derive_language(root, lang, languages[lang.source]) if lang.source else lang
                     for code, lang in languages.items()}
    return Config(root=root, **{**dict(data), "languages": languages, "links": links}, lines=lines)
