"""Print the reading figures of built pages: how much a reader passes before the first thing they
can run or choose, where the page's links go, and how much visible text it holds.

    python scripts/page_figures.py BUILD_DIR            # the pages BUILD_DIR/index.html and BUILD_DIR/en/index.html

Measured with lxml on the built HTML, in reading order inside <main>:

- before first step: CJK characters (zh) or English words (en) of visible text before the first
  runnable or choosable thing: a code block (<pre>), a route table (a <table> whose header names GPU
  memory), or an element marked data-start (the "ways to start" strip). Prose, cards, tables and
  captions count; code, SVG and collapsed <details> do not.
- links by host: every <a href> of the page (header and footer included), by host, in order of
  count; and the hosts of the primary buttons (a.button--primary), in page order.
- visible text: CJK characters / English words of <main>, leaving out code, SVG and the contents
  of <details>; and running prose, which also leaves out tables, figures and image cards (the
  measure the article tests hold to 5,000 / 3,000).

tests/test_article.py imports these functions and asserts the limits (scripts/ is not a package:
it is loaded by path there).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html

# Depth a reader does not read on the way: code, drawings, what is folded.
SKIP_TAGS = {"pre", "code", "svg", "script", "style", "template", "sup"}
ROUTE_HEADER = re.compile(r"显存|GPU memory|VRAM", re.I)
LIMITS = {"before_first_step": {"zh": 1500, "en": 850}, "prose": {"zh": 5000, "en": 3000}}


def cjk_count(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]", text))


def english_words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9][A-Za-z0-9'’.\-]*", text))


def measure(text: str, lang: str) -> int:
    return cjk_count(text) if lang == "zh" else english_words(text)


def main_of(html: str):
    main = lxml.html.fromstring(html).find(".//main")
    if main is None:
        raise ValueError("the page has no <main>")
    return main


def is_first_step(el) -> bool:
    """A thing a reader can run or choose: a code block, a route table by GPU memory, the start strip."""
    if el.tag == "pre" or el.get("data-start") is not None:
        return True
    if el.tag == "table":
        head = el.find(".//thead")
        return head is not None and bool(ROUTE_HEADER.search(head.text_content()))
    return False


def text_before_first_step(html: str) -> tuple[str, str | None]:
    """(visible text in reading order up to the first runnable step, a description of that step)."""
    parts: list[str] = []
    found: list[str] = []

    def walk(el) -> bool:  # True once the first step is reached
        if not isinstance(el.tag, str):  # comments, processing instructions
            return False
        if is_first_step(el):
            found.append(f"<{el.tag}{' data-start' if el.get('data-start') is not None else ''}> "
                         f"{' '.join(el.text_content().split())[:60]}")
            return True
        skip = el.tag in SKIP_TAGS or (el.tag == "details" and el.get("open") is None)
        if el.tag == "details" and el.get("open") is None:
            summary = el.find("summary")
            if summary is not None:
                parts.append(summary.text_content())
        if not skip:
            parts.append(el.text or "")
            for child in el:
                if walk(child):
                    return True
                parts.append(child.tail or "")
        return False

    walk(main_of(html))
    return " ".join(parts), (found[0] if found else None)


def visible_text(html: str) -> str:
    main = main_of(html)
    for el in list(main.iter()):
        if isinstance(el.tag, str) and (el.tag in SKIP_TAGS or el.tag == "details") and el.getparent() is not None:
            el.drop_tree()
    return main.text_content()


# The article tests' reading budget leaves out what a reader does not have to read either: tables,
# figures and image cards (their captions and prompts), besides code, SVG and <details>.
PROSE_SKIP = SKIP_TAGS | {"table", "figure", "details"}


def prose_text(html: str) -> str:
    """Running prose of <main>: no code, SVG, <details>, tables, figures or comparison sets."""
    main = main_of(html)
    for el in list(main.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        if el.tag in PROSE_SKIP or "zcompare" in (el.get("class") or "").split():
            el.drop_tree()
    return main.text_content()


def links_by_host(html: str) -> Counter:
    root = lxml.html.fromstring(html)
    return Counter(urlsplit(a.get("href")).netloc or "(this page)" for a in root.iter("a") if a.get("href"))


def primary_buttons(html: str) -> list[str]:
    root = lxml.html.fromstring(html)
    return [a.get("href") for a in root.iter("a") if "button--primary" in (a.get("class") or "").split()]


def first_link_hosts(html: str) -> list[str]:
    """The host of the first link of every list item, table cell and paragraph of <main> that holds
    more than one external link: which host a reader meets first where the page offers a choice."""
    firsts = []
    for el in main_of(html).iter("li", "td", "p"):
        hosts = [urlsplit(a.get("href") or "").netloc for a in el.iter("a")]
        hosts = [h for h in hosts if h]
        if len(set(hosts)) > 1:
            firsts.append(hosts[0])
    return firsts


def figures(html: str, lang: str) -> dict:
    before, step = text_before_first_step(html)
    return {
        "before_first_step": measure(before, lang),
        "first_step": step,
        "visible": measure(visible_text(html), lang),
        "prose": measure(prose_text(html), lang),
        "main_links": Counter(urlsplit(a.get("href")).netloc for a in main_of(html).iter("a")
                              if urlsplit(a.get("href") or "").netloc),
        "links": links_by_host(html),
        "primary_buttons": primary_buttons(html),
    }


def report(build: Path) -> None:
    unit = {"zh": "CJK characters", "en": "English words"}
    for lang, page in (("zh", build / "index.html"), ("en", build / "en" / "index.html")):
        html = page.read_text(encoding="utf-8")
        f = figures(html, lang)
        print(f"== {page} ({lang})")
        print(f"  before the first runnable step: {f['before_first_step']} {unit[lang]} "
              f"(limit {LIMITS['before_first_step'][lang]}); the step: {f['first_step']}")
        print(f"  visible text (no code, SVG, <details>): {f['visible']} {unit[lang]}")
        print(f"  running prose (also no tables, figures, image cards): {f['prose']} {unit[lang]} "
              f"(limit {LIMITS['prose'][lang]})")
        print("  links in <main> by host: " + ", ".join(f"{host} {n}" for host, n in f["main_links"].most_common()))
        print("  links by host: " + ", ".join(f"{host} {n}" for host, n in f["links"].most_common()))
        print("  primary buttons: " + ", ".join(f["primary_buttons"]))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    report(Path(sys.argv[1]))
