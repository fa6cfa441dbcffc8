"""Blocks on a fixture site: the HTML each renders, parsed, and the errors authors meet."""

from __future__ import annotations

import json

import lxml.html

from zimage_site.cli import main

DETAILS = """---
id: hello
order: 1
title: 你好
---

只有一段文字。

::: details 展开 **全部** 参数 <b>x</b>
正文有 `code` 和 [链接](#hello)。

- 一项
:::

:::: details 外层
::: note tip
里面的提示。
:::
::::
"""


def _build(site_factory, capsys, text: str):
    root = site_factory("minimal")
    (root / "content/zh/01-hello.md").write_text(text, encoding="utf-8")
    code = main(["build", "--root", str(root)])
    out, err = capsys.readouterr()
    return root, code, err


def test_details_block_renders_a_folded_panel_without_faq_data(site_factory, capsys):
    root, code, err = _build(site_factory, capsys, DETAILS)
    assert code == 0, err
    doc = lxml.html.fromstring((root / "build/index.html").read_bytes())
    panels = doc.xpath('//section[@id="hello"]//details[@class="details"]')
    assert len(panels) == 2
    summary = panels[0].xpath("./summary")[0]
    assert summary.get("class") == "details__summary"
    # the summary is inline Markdown, raw HTML in it is escaped text
    assert [el.tag for el in summary] == ["strong"]
    assert summary.text_content() == "展开 全部 参数 <b>x</b>"
    body = panels[0].xpath('./div[@class="details__body"]')[0]
    assert body.xpath(".//code")[0].text == "code"
    assert body.xpath(".//a")[0].get("href") == "#hello"
    assert body.xpath(".//li")[0].text == "一项"
    assert not panels[0].get("open")
    # blocks nest inside it
    assert panels[1].xpath('.//aside[contains(@class, "note--tip")]/p')[-1].text == "里面的提示。"
    # no FAQPage structured data, unlike ::: faq
    graph = [json.loads(s.text) for s in doc.xpath('//script[@type="application/ld+json"]')]
    assert "FAQPage" not in json.dumps(graph)


def test_details_block_needs_a_summary(site_factory, capsys):
    _, code, err = _build(site_factory, capsys, DETAILS.replace("::: details 展开 **全部** 参数 <b>x</b>", "::: details"))
    assert code != 0
    assert "error: content/zh/01-hello.md, line 9: ::: details has no summary" in err
    assert "fix: write ::: details followed by the text of its summary line" in err


def test_details_summary_links_are_checked(site_factory, capsys):
    _, code, err = _build(site_factory, capsys, DETAILS.replace("展开 **全部**", "展开 [别处](#nowhere)"))
    assert code != 0
    assert "nowhere" in err
