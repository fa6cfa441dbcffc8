"""Placeholders: images not generated yet (data-pending) and "TODO", "TBD", "FIXME", "lorem ipsum"
in visible text."""

from __future__ import annotations

from zimage_site import markup
from zimage_site.check.context import BuiltSite
from zimage_site.check.model import Page


def check_page(site: BuiltSite, page: Page) -> None:
    for tag, image, line in page.pending:
        what = f'image "{image}"' if image else f"<{tag}>"
        site.warning("placeholder", f"{what} is a placeholder ({markup.PENDING_ATTR}): it has not been "
                                    "generated yet", file=page.display, line=line,
                     fix="generate it on a GPU machine (zimage-site generate) and commit images/",
                     subject=image or None)
    for word, line in page.placeholder_text:
        site.warning("placeholder-text", f'placeholder text "{word}" in the page', file=page.display, line=line,
                     fix="replace it with the real text in content/")
