"""What serve adds to pages: the live-reload script (printed before </body> in serve mode only, never
by `zimage-site build`) and the in-page error view. The HTML and JavaScript are files beside this
module: connect.js, keep-place.js, error.html."""

from __future__ import annotations

import html
from importlib.resources import files
from string import Template

from zimage_site import markup


def _read(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def _script(*names: str) -> str:
    return "<script>" + "".join(_read(n) for n in names) + "</script>"


# Loads livereload.js from this server, and keeps the reader on the section they were reading.
LIVE_RELOAD_SCRIPT = _script("connect.js", "keep-place.js")
# The error page only needs to reload.
RELOAD_ONLY_SCRIPT = _script("connect.js")
_ERROR_PAGE = Template(_read("error.html"))


def error_page(message: str, title: str = "The build failed",
               hint: str = "Fix it and save: this page reloads by itself.") -> str:
    """The page shown instead of every page while the build is failing; everything is escaped."""
    return _ERROR_PAGE.substitute(error_id=markup.BUILD_ERROR_ID, title=html.escape(title),
                                  message=html.escape(message), hint=html.escape(hint),
                                  script=RELOAD_ONLY_SCRIPT)
