"""Images: every <img> has alt text (decorative ones: alt="" with role="presentation" or
aria-hidden), and on a page whose language site.yaml writes in Han characters the alt text holds them. Every generated image shown carries
its labels: the visible "AI-generated" mark in its figure, and in each of its files the XMP packet
with GB 45438-2025's AIGC label (Label "1", producer, propagator, their IDs) and IPTC's
trainedAlgorithmicMedia (zimage_site/images/xmp.py)."""

from __future__ import annotations

import os
import re
import stat

from zimage_site.check.context import BuiltSite
from zimage_site.check.model import Page

# Han ideographs (with extensions A and B and the compatibility block).
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")


def check_page(site: BuiltSite, page: Page) -> None:
    language = site.language_of(page)
    han = language is not None and language.han  # site.yaml: script Hans, Hant or Jpan
    for attrs, line in page.images:
        site.result.images += 1
        alt = attrs.get("alt")
        src = attrs.get("src") or "(no src)"
        decorative = (attrs.get("role") or "").strip().lower() in ("presentation", "none") or \
            (attrs.get("aria-hidden") or "").strip().lower() == "true"
        if alt is None:
            site.error("alt", f"image {src} has no alt attribute", file=page.display, line=line,
                       fix='describe the image in alt="…" (content/images.yaml), or mark a decorative '
                           'image alt="" role="presentation"')
        elif not alt.strip():
            if not decorative:
                site.error("alt", f"image {src} has empty alt text", file=page.display, line=line,
                           fix='describe the image in its alt text, or mark it decorative with role="presentation"')
        elif han and not _CJK.search(alt):
            site.error("alt-lang", f"image {src} has alt text in another language on the {language.name} page "
                                   f"({language.locale}, written in Han characters): {alt!r}", file=page.display, line=line,
                       fix=f"give the image alt text in that language (alt.{language.text_lang} in content/images.yaml)")


_MAX_IMAGE = 64 << 20  # no published variant comes near this; a larger "image" is not read
_LABEL_FIX = ("build the site again (zimage-site build writes the labels into every variant); a file "
              "edited, re-encoded or optimised after the build loses them")


def check_labels(site: BuiltSite) -> None:
    """Every generated image on every page: its visible label, and the labels in each of its files
    (each file read once, whatever the number of pages showing it)."""
    from zimage_site.images.xmp import find_packet, read_label

    seen: set[str] = set()
    for page in site.pages.values():
        for image in page.generated:
            if not image.labelled:
                site.error("ai-label", f"the generated image {image.id!r} has no visible AI label",
                           file=page.display, line=image.line,
                           fix="templates/blocks/figure.html shows it (markup.AI_LABEL_ATTR); "
                               "keep it in the figure of every generated image")
            for url in image.urls:
                status, value = site.resolve(url, page)
                if status != "ok" or value[0] is None or value[0] in seen:
                    continue  # a missing file is the links rule's finding
                relpath = value[0]
                seen.add(relpath)
                path = site.out / relpath
                try:
                    info = os.stat(path)
                    if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_IMAGE:
                        site.error("aigc", f"{relpath} is not an image file of a sane size",
                                   file=site.display(relpath), fix=_LABEL_FIX)
                        continue
                    with open(path, "rb") as f:
                        data = f.read(_MAX_IMAGE)
                except OSError as exc:
                    site.error("aigc", f"{relpath} cannot be read ({exc.strerror or exc})",
                               file=site.display(relpath), fix=_LABEL_FIX)
                    continue
                label = read_label(find_packet(data))
                problems = list(label.problems)
                if label.aigc is not None and not problems and label.aigc.get("PropagateID") != relpath:
                    problems.append(f"its label names another file ({label.aigc.get('PropagateID')!r})")
                if problems:
                    site.error("aigc", f"the generated image {relpath} lacks its AI-content labels: "
                                       + "; ".join(problems),
                               file=site.display(relpath), fix=_LABEL_FIX, subject=image.id)
