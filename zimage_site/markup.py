"""The names in the page's markup that `zimage-site check` and the live preview rely on.

Templates reach these through the Jinja global `markup` (`{{ markup.FACT_ATTR }}`); the checks in
`zimage_site/check/` read the built pages with the same names. Renaming one here renames it on both
sides; a literal copy of one of these strings anywhere else is a bug waiting to happen.
"""

from __future__ import annotations

# Facts: a number that comes from content/data/facts.yaml carries its key in this attribute
# (`<span class="fact" data-fact="params">`, a stat card `<div class="stat" data-fact="params">`).
FACT_ATTR = "data-fact"
# An inline fact (its text must be the value the data gives; stat cards are not compared).
FACT_CLASS = "fact"
# The citation after a fact: `<sup class="fact-src"><a href="#source-ID">[n]</a></sup>`.
FACT_SRC_CLASS = "fact-src"

# The facts a chart shows, by key, space-separated (`<div class="chart-block" data-facts="a b">`).
FACTS_ATTR = "data-facts"
# The day a fact was last checked ({checked}`key`): `<time datetime="2026-12-06" data-checked="KEY">`.
CHECKED_ATTR = "data-checked"
# The line under the source list saying when the page's facts were checked.
CHECKED_LINE_CLASS = "sources-checked"

# The page's source list: `<ol class="sources"><li id="source-ID"><a href="URL">…`.
SOURCES_CLASS = "sources"
SOURCE_ID_PREFIX = "source-"

# An image of content/images.yaml: `<figure data-image="ID">`, with `data-pending` while it has not
# been generated yet (a placeholder is shown).
IMAGE_ATTR = "data-image"
PENDING_ATTR = "data-pending"
# The visible "AI-generated" label inside the figure of a generated image (`<span data-ai-label>`).
AI_LABEL_ATTR = "data-ai-label"

# A UI string that a derived language gives a text of its own (templates/i18n `zh-Hant: …`): its
# element carries the string's key (`<span data-string="image_prompt_sent">`), and the converter of
# the derived page writes that text in its place (zimage_site/derive.py).
STRING_ATTR = "data-string"

# The element of the live preview's error page that holds the build error.
BUILD_ERROR_ID = "zimage-site-build-error"


def source_id(source: str) -> str:
    """The id of a source's entry in the source list (`source-ID`)."""
    return SOURCE_ID_PREFIX + source

