"""Images: every <img> has alt text (decorative ones: alt="" with role="presentation" or
aria-hidden), and on a Chinese page the alt text is Chinese."""

from __future__ import annotations

import re

from zimage_site.check.context import BuiltSite
from zimage_site.check.model import Page

# Han ideographs (with extensions A and B and the compatibility block).
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")


def check_page(site: BuiltSite, page: Page) -> None:
    zh = (page.lang or "").lower().startswith("zh")
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
        elif zh and not _CJK.search(alt):
            site.error("alt-lang", f"image {src} has alt text in another language on the Chinese page: {alt!r}",
                       file=page.display, line=line,
                       fix="give the image a Chinese alt text (alt.zh in content/images.yaml)")
