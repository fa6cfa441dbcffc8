"""The rules of `zimage-site check`, one module per family. A page rule is called with each page,
a site rule once; each reports through BuiltSite.error/warning. To add a rule: a function in the
module of its family (or a new module), listed here."""

from __future__ import annotations

from zimage_site.check.rules import error_page, facts, images, links, pages, placeholders, sitemap, translations

PAGE_RULES = (pages.check_page, links.check_page, images.check_page, placeholders.check_page)
SITE_RULES = (links.check_css, translations.check, error_page.check, sitemap.check, facts.check,
              images.check_labels)
