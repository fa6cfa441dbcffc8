"""Rendering: one Jinja2 environment (autoescape on), UI strings, pages, sitemap.

`PageContext` is everything one language's page needs while its sections and blocks render:
the language, the data, the images, URL helpers, and the `Citations` registry that numbers the
sources in the order the page first cites them (sections render in page order, so a number is
final when it is written).
"""

from __future__ import annotations

import json
from html import escape as _html_escape
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup, escape

from zimage_site.data import Data, Fact, text
from zimage_site import markup
from zimage_site.errors import Problem, Report, SiteError, TemplateError, rel
from zimage_site.fragments import SectionState
from zimage_site.model import Texts, language_problems, validate_all
from zimage_site.yamlfile import load_yaml

if TYPE_CHECKING:
    from zimage_site.config import Config
    from zimage_site.fragments import Question, SectionHTML
    from zimage_site.images import ImageCatalog

TEMPLATES_DIR = Path("templates")
I18N_DIR = TEMPLATES_DIR / "i18n"


# --------------------------------------------------------------------------- UI strings

class UIText(str):
    """A UI string that knows where it is written (templates/i18n/<file>.yaml, its line and key),
    so that a mistake in it is reported there, not where it is used: `format` with a field the
    caller does not fill (a `{price}` added to a chart's string) is an error naming the file,
    line and key, and the fields that can be used."""

    __slots__ = ("file", "line", "key", "lang")

    def format(self, *args: Any, **fields: Any) -> str:
        try:
            return str.format(self, *args, **fields)
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            import string

            usable = ", ".join("{" + k + "}" for k in fields) or "none"
            try:
                unknown = [f for _, f, _, _ in string.Formatter().parse(self) if f is not None and f not in fields]
            except ValueError:
                unknown = []
            what = (f"the field {{{unknown[0]}}}, which is not filled here" if unknown
                    else f"braces that are not a field ({exc})")
            raise TemplateError(Problem(
                f"the {self.lang} text of {self.key!r} has {what}", file=self.file, line=self.line, key=f"{self.key}.{self.lang}",
                fix=f"use only these fields: {usable}; write {{{{ and }}}} for a brace as such")) from exc


def load_strings(root: Path, languages: list[str]) -> dict[str, dict[str, str]]:
    """Merge templates/i18n/*.yaml ({key: {zh: …, en: …}}: `dict[str, model.Texts]`) into
    {lang: {key: text}}. A key missing a language, an empty text, or a key defined twice, is an error."""
    strings: dict[str, dict[str, str]] = {lang: {} for lang in languages}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    folder = root / I18N_DIR
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        shown = rel(path, root)
        raw, lines = load_yaml(path, shown, error=TemplateError, root=root)
        if not isinstance(raw, dict):
            problems.append(Problem("expected a mapping of keys", file=shown, line=1,
                                    fix=f'write each string as key: {{{", ".join(f"{code}: …" for code in languages)}}}'))
            continue
        texts, found, bad = validate_all(raw, dict[str, Texts], shown, lines)  # {key: {lang: text}}
        problems.extend(found)
        fix = f'write {{key}}: {{{{{", ".join(f"{code}: …" for code in languages)}}}}}'
        for key, value in raw.items():
            if key in where:
                problems.append(Problem(f"the string {key!r} is already defined in {where[key]}", file=shown,
                                        line=lines.get(key), key=key, fix="keep one definition of each key"))
                continue
            where[key] = shown
            if texts is None and any(b[:1] == (key,) for b in bad):
                continue  # reported above
            value = texts[key] if texts is not None else value
            missing = language_problems(value, languages, shown, lines, str(key), key_at_text=True, unknown=False,
                                        missing=lambda _, lang: (f"missing the {lang} text", None))
            for problem in missing:
                problem.fix = fix.format(key=key)
            problems.extend(missing)
            for lang in languages:
                if lang in value:
                    text_ = strings[lang][key] = UIText(value[lang])
                    text_.file, text_.line, text_.key, text_.lang = shown, lines.get(f"{key}.{lang}", lines.get(key)), key, lang
    if problems:
        raise SiteError(problems)
    return strings


def format_date(day, strings: dict[str, str]) -> str:
    """A date as a page prints it: its language's `date_format` and `month_names` UI strings
    (templates/i18n/core.yaml): "2026-12-06", "6 December 2026"."""
    names = strings["month_names"].split()
    return strings["date_format"].format(year=day.year, month=day.month, day=day.day,
                                         month_name=names[day.month - 1] if len(names) == 12 else day.month)


# --------------------------------------------------------------------------- Jinja

def template_problem(exc: Exception, root: Path) -> Problem:
    """A Jinja error as a Problem pointing at the template file and line."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        file = rel(exc.filename, root) if exc.filename else (exc.name or "template")
        return Problem(f"template syntax error: {exc.message}", file=file, line=exc.lineno,
                       fix="correct the Jinja2 syntax on that line")
    if isinstance(exc, jinja2.TemplateNotFound):
        return Problem("the template is not found (or is not a regular file)", file=(TEMPLATES_DIR / exc.name).as_posix(),
                       fix=f"create {(TEMPLATES_DIR / exc.name).as_posix()} as a file")
    file = line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        name = frame.f_code.co_filename
        if name.endswith((".html", ".xml", ".txt")) and str(TEMPLATES_DIR) in name:
            file, line = rel(name, root), lineno
    return Problem(f"template error: {exc}", file=file or str(TEMPLATES_DIR), line=line,
                   fix="check the variable or filter used on that line")


class _SignedBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's cache of compiled templates, each file signed with this user's key (cache.sign):
    compiled templates are code (and Jinja reads their header with pickle), so one planted in
    .cache/jinja/ is ignored, never run."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        from zimage_site.cache import read_signed

        data = read_signed(Path(self._get_cache_filename(bucket)), limit=64 << 20)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        from zimage_site.cache import write_signed

        try:
            write_signed(Path(self._get_cache_filename(bucket)), bucket.bytecode_to_string(), ".jinja-")
        except OSError:
            pass


def _bytecode_cache(root: Path) -> jinja2.BytecodeCache | None:
    """Compiled templates kept in .cache/jinja/ (ignored by git): a build skips compiling them again."""
    folder = root / ".cache" / "jinja"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only checkout builds without the cache
        return None
    return _SignedBytecodeCache(str(folder))


def make_environment(root: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root / TEMPLATES_DIR)),
        bytecode_cache=_bytecode_cache(root),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # the environment is made anew when any template changes (it is a part keyed on them), so
        # a template need not be checked for changes each time a partial is rendered
        auto_reload=False,
    )
    env.filters["text"] = text
    env.globals["markup"] = markup  # the names checks rely on (zimage_site/markup.py)
    return env


def json_ld(data: Any) -> Markup:
    """JSON for a <script type="application/ld+json">: cannot close the script element."""
    dumped = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(dumped.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


# --------------------------------------------------------------------------- pages

@dataclass(frozen=True)
class Source:
    """One entry of the page's source list."""

    n: int
    id: str
    title: str
    url: str


@dataclass
class Citations:
    """The page's sources, numbered in the order they are first cited."""

    order: dict[str, int] = field(default_factory=dict)

    def number(self, source_id: str) -> int:
        return self.order.setdefault(source_id, len(self.order) + 1)

    def sources(self, data: Data, lang: str) -> list[Source]:
        sources = data.facts_file.sources
        return [Source(n, sid, text(sources[sid].title, lang), sources[sid].url) for sid, n in self.order.items()]


# The markup of an inline fact and of its citation, with the names the checks rely on (markup.py)
_FACT_OPEN = f'<span class="{markup.FACT_CLASS}" {markup.FACT_ATTR}="'
_CITE_OPEN = f'<sup class="{markup.FACT_SRC_CLASS}"><a href="#{markup.SOURCE_ID_PREFIX}'


@dataclass
class PageContext:
    lang: str
    config: "Config"
    data: Data
    images: "ImageCatalog | None"
    report: Report
    strings: dict[str, str]
    jinja: jinja2.Environment
    assets: dict[str, str]
    root: Path
    sections: list["SectionHTML"] = field(default_factory=list)
    citations: Citations = field(default_factory=Citations)
    state: SectionState = field(default_factory=SectionState)  # of the section rendering now

    @property
    def text_lang(self) -> str:
        """The language whose text the page reads: its own, or its source's when it is derived
        (site.yaml `from:`; zimage_site/derive.py converts the page afterwards). Sections render
        in the text language, so a derived page reuses its source's rendered sections."""
        return self.config.languages[self.lang].text_lang

    # -- helpers available to templates as well
    def t(self, key: str) -> str:
        try:
            return self.strings[key]
        except KeyError as exc:
            codes = ", ".join(f"{code}: …" for code, lang in self.config.languages.items() if not lang.source)
            raise SiteError(Problem(f"unknown UI string {key!r}", file=str(I18N_DIR),
                                    fix=f"add {key}: {{{codes}}} to a file in {I18N_DIR}/")) from exc

    def url(self, path: str = "") -> str:
        """A root-relative URL under the site's base path."""
        return self.config.base_path + path.lstrip("/")

    def absolute(self, path: str = "") -> str:
        return self.config.base_url + path.lstrip("/")

    def asset(self, logical: str) -> str:
        try:
            return self.assets[logical]
        except KeyError as exc:
            raise SiteError(Problem(f"unknown asset {logical!r}", file="static/",
                                    fix=f"add static/{logical}, or use one of: {', '.join(sorted(self.assets))}")) from exc

    def link(self, href: str) -> str:
        """Resolve an author's link by the one URL policy (zimage_site/urls.py): @name → site.yaml
        links, /path → under the base path, #id and http(s) URLs as they are; anything else
        (javascript:, data:, mailto:, //host, /\\host…) raises ValueError saying why."""
        from zimage_site.urls import site_link

        return site_link(href, self.config.base_path, self._links)

    @cached_property
    def _links(self) -> dict[str, str]:
        """The links of site.yaml in this page's language (made once per page, not per link)."""
        return {name: urls[self.text_lang] for name, urls in self.config.links.items()}

    def cite(self, source_id: str) -> Markup:
        source = self.data.facts_file.sources[source_id]
        self.state.cited.setdefault(source_id)
        # escape() as Markup.format would, without its formatter (a hot path: every {fact})
        return Markup(f'{_CITE_OPEN}{escape(source_id)}" '
                      f'title="{escape(text(source.title, self.text_lang))}">[{self.citations.number(source_id)}]</a></sup>')

    def printed(self, key: str) -> Fact:
        """The fact `key`, recorded as printed by the section rendering now; a fact the page
        prints must be dated once the data declares volatility classes."""
        fact = self.data.facts_file.facts[key]
        if key not in self.state.facts:
            undated = self.data.require_dated(key)
            if undated is not None:
                raise SiteError(undated)
            self.state.facts[key] = None
        return fact

    def fact_html(self, key: str, cite: bool = True) -> Markup:
        """The fact as printed, followed by its footnote marker (`cite=False`: the marker of its
        source already stands earlier in the same paragraph)."""
        fact = self.printed(key)
        value = escape(self.data.fact_display(key, self.text_lang))
        return Markup(f'{_FACT_OPEN}{escape(key)}">{value}</span>{self.cite(fact.source) if cite else ""}')

    def checked_html(self, key: str) -> Markup:
        """The day the fact was last checked, in the page's language: `<time datetime="…"
        data-checked="KEY">6 December 2026</time>` (the {checked} role)."""
        day = self.printed(key).checked
        if day is None:
            raise SiteError(Problem(f'fact "{key}" has no checked: date', file="content/data/facts.yaml",
                                    key=f"facts.{key}.checked", fix="add checked: YYYY-MM-DD"))
        return Markup(f'<time datetime="{day.isoformat()}" {markup.CHECKED_ATTR}="{escape(key)}">'
                      f'{escape(format_date(day, self.strings))}</time>')

    def checked_range(self) -> tuple[Any, Any] | None:
        """The oldest and newest check dates of the facts the page prints (its sections, rendered
        or from the cache), or None when none is dated."""
        facts = self.data.facts_file.facts
        days = [day for key in dict.fromkeys(k for s in self.sections for k in s.facts)
                if key in facts and (day := facts[key].checked) is not None]
        return (min(days), max(days)) if days else None

    def checked_line(self) -> Markup:
        """"数据核对于 2026-12-06" / "Facts checked 6 December 2026", or a range from the oldest
        check to the newest when they differ; empty when the page prints no dated fact."""
        span = self.checked_range()
        if span is None:
            return Markup("")
        start, end = span
        def day(d) -> str:
            return f'<time datetime="{d.isoformat()}">{escape(format_date(d, self.strings))}</time>'
        if start == end:
            return Markup(str(escape(self.t("facts_checked"))).replace("{date}", day(start)))
        line = str(escape(self.t("facts_checked_range")))
        return Markup(line.replace("{start}", day(start)).replace("{end}", day(end)))

    def fact_card(self, key: str, label: str | None = None) -> dict:
        fact = self.printed(key)
        return {
            "key": key,
            "value": self.data.fact_display(key, self.text_lang),
            "label": label or text(fact.label, self.text_lang),
            "note": text(fact.note, self.text_lang) if fact.note else "",
            "as_of": str(fact.as_of or ""),
            "verdict": fact.verdict,
            "cite": self.cite(fact.source),
        }

    def sources(self) -> list[Source]:
        """The sources cited so far (all of them once the sections are rendered)."""
        return self.citations.sources(self.data, self.text_lang)

    def source_list(self) -> Markup:
        """The page's numbered source list (templates/sources.html); the footer shows it after
        the sections, when every source has its number."""
        return Markup(self.partial("sources.html", sources=self.sources(), checked=self.checked_line()))

    def globals(self) -> dict[str, Any]:
        return {"page": self, "lang": self.lang, "t": self.t, "url": self.url, "asset": self.asset,
                "cite": self.cite, "config": self.config, "data": self.data.files,
                "language": self.config.languages[self.lang]}

    def partial(self, name: str, **context: Any) -> str:
        try:
            return self.jinja.get_template(name).render(**self.globals(), **context)
        except SiteError:
            raise
        except Exception as exc:  # a syntax error, or one while rendering: {{ 1 + "a" }}
            raise TemplateError(template_problem(exc, self.root)) from exc


def structured_data(page: PageContext, faq: list["Question"]) -> Markup:
    cfg, lang = page.config, page.config.languages[page.lang]
    page_url = cfg.page_url(page.lang)
    graph: list[dict] = [
        {"@type": "WebPage", "@id": page_url + "#webpage", "url": page_url, "name": lang.title,
         "description": lang.description, "inLanguage": lang.locale,
         "isPartOf": {"@type": "WebSite", "name": lang.site_name, "url": cfg.base_url},
         "primaryImageOfPage": page.absolute("assets/" + cfg.social_image),
         "about": {"@id": page_url + "#software"}},
        {"@type": "SoftwareApplication", "@id": page_url + "#software", "name": cfg.model.name,
         "url": cfg.model.url, "downloadUrl": cfg.model.download_url,
         "applicationCategory": cfg.model.category, "operatingSystem": cfg.model.operating_system,
         "license": cfg.license.url, "isAccessibleForFree": True,
         "offers": {"@type": "Offer", "price": "0", "priceCurrency": "USD"},
         "publisher": {"@type": "Organization", "name": cfg.model.publisher},
         **({"softwareVersion": cfg.model.version} if cfg.model.version else {}),
         **({"datePublished": cfg.model.date_published} if cfg.model.date_published else {})},
    ]
    if faq:
        graph.append({"@type": "FAQPage", "@id": page_url + "#faq", "inLanguage": lang.locale,
                      "mainEntity": [{"@type": "Question", "name": q.question,
                                      "acceptedAnswer": {"@type": "Answer", "text": q.answer}} for q in faq]})
    return json_ld({"@context": "https://schema.org", "@graph": graph})


def alternates(config: "Config") -> list[dict]:
    items = [{"hreflang": lang.locale, "href": config.page_url(code), "path": config.page_path(code),
              "name": lang.name, "code": code} for code, lang in config.languages.items()]
    items.append({"hreflang": "x-default", "href": config.page_url(config.default_language),
                  "path": config.page_path(config.default_language), "name": "", "code": config.default_language})
    return items


def xml_escape(text: str) -> str:
    """Text for XML, in an element or an attribute: & < > " ' escaped (as xml.sax.saxutils would,
    with quotes too, without importing urllib with it)."""
    return _html_escape(text, quote=True)


def sitemap(config: "Config", lastmod: str | None = None) -> str:
    """sitemap.xml: every value that comes from site.yaml is escaped (a locale or a URL cannot
    end an attribute or open an element)."""
    alts = alternates(config)
    links = "".join(f'\n    <xhtml:link rel="alternate" hreflang="{xml_escape(a["hreflang"])}" href="{xml_escape(a["href"])}"/>'
                    for a in alts)
    stamp = f"\n    <lastmod>{xml_escape(lastmod)}</lastmod>" if lastmod else ""
    urls = "".join(f"\n  <url>\n    <loc>{xml_escape(config.page_url(code))}</loc>{stamp}{links}\n  </url>"
                   for code in config.languages)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:xhtml="http://www.w3.org/1999/xhtml">' + urls + "\n</urlset>\n")


def robots(config: "Config") -> str:
    return f"User-agent: *\nAllow: /\n\nSitemap: {config.base_url}sitemap.xml\n"
