"""The one URL policy: which links the site may publish, decided as a browser would read them.

Every URL the site publishes passes here: `base_url` and the other URLs of `site.yaml` (its
`links:`, the repository, the model's and license's), facts' sources, Markdown links and images,
the `href` of `::: cta` buttons. A browser reads a URL by the WHATWG URL Standard, not as it is
written: it drops tabs and newlines anywhere, reads `\\` as `/`, takes `//host` and `/\\host` as
another host, and schemes in any case. So:

- **Absolute URLs** (`absolute_url`) are parsed by ada (the WHATWG parser that Node.js uses):
  the scheme must be `http` or `https` (in any case; published in lower case), with a host; a
  URL the standard cannot parse (`https://[::1/`) is an error, never a crash. Whitespace,
  control characters, quotes, `<`, `>` and backslashes are refused as written (percent-encode
  them): what is published is then exactly what a browser reads.
- **Links of the content** (`site_link`) are `#id`, `/path` (under the site's base path),
  `@name` (a link of site.yaml) or such an absolute URL. `//host`, `/\\host`, a path holding a
  tab or newline, relative paths, `..` above the base path and every other scheme are refused:
  `javascript:` and `data:` run code; `mailto:`, `tel:` and `ftp:` are refused on purpose (the
  page links to web pages; write an address as text).
"""

from __future__ import annotations

import re

# Characters a URL may not hold as written: whitespace and control characters (a browser drops
# tabs and newlines, a newline would add lines to robots.txt), quotes and angle brackets (they end
# an attribute or a tag), backslashes (a browser reads them as /), and those no URL holds as such.
UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\"'<>\\`{}|^\u2028\u2029]")
# In links of the content, which the renderer escapes for HTML, quotes and braces are harmless.
LINK_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\"<>\\\u2028\u2029]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
WEB_SCHEMES = ("http", "https")


class URLError(ValueError):
    """A URL the policy refuses; its message says why (the caller adds the file, line and fix)."""


def _unsafe(value: str, pattern: re.Pattern = UNSAFE) -> None:
    bad = pattern.search(value)
    if bad:
        raise URLError(f"{value!r} holds {bad.group()!r}, which a URL cannot hold as it is "
                       "(a browser would read it differently; percent-encode it)")


def absolute_url(value: str, schemes: tuple[str, ...] = WEB_SCHEMES, unsafe: re.Pattern = UNSAFE) -> str:
    """`value` checked as an absolute http(s) URL; returned with its scheme in lower case."""
    from ada_url import URL  # the WHATWG URL parser

    _unsafe(value, unsafe)
    match = _SCHEME.match(value)
    scheme = match.group(1).lower() if match else ""
    if scheme not in schemes:
        raise URLError(f"{value!r} is not an absolute {'/'.join(schemes)} URL")
    if not value[len(scheme) + 1:].startswith("//"):
        raise URLError(f"{value!r} is not written {scheme}://host/… (a browser would guess the host)")
    try:
        parsed = URL(value)
    except ValueError as exc:
        hint = " (an IPv6 address is written in brackets: https://[::1]/)" if "[" in value else ""
        raise URLError(f"{value!r} is not a valid URL{hint}") from exc
    if not parsed.hostname:
        raise URLError(f"{value!r} has no host name")
    return scheme + value[len(scheme):]


def base_url(value: str) -> str:
    """The site's base URL: absolute, ending in /, and a path without empty segments, `.` or `..`
    (every root-relative URL of the site starts with this path: `https://x.example//` would make
    them `//assets/…`, which a browser loads from the host `assets`)."""
    value = absolute_url(value)
    if not value.endswith("/"):
        raise URLError(f"{value!r} must end with /")
    if "?" in value or "#" in value:
        raise URLError(f"{value!r} holds a query or a fragment: the base URL is a folder")
    path = "/" + value.split("//", 1)[1].partition("/")[2]
    segments = path.split("/")[1:-1]
    if any(s in ("", ".", "..") or s.lower() in ("%2e", "%2e%2e", ".%2e", "%2e.") for s in segments):
        raise URLError(f"{value!r} has an empty, . or .. folder in its path ({path}): the site's links "
                       "would start with it")
    return value


def site_link(href: str, base_path: str, links: dict[str, str]) -> str:
    """The URL to publish for a link of the content, by the policy above; URLError when refused."""
    if href.startswith("@"):
        if href[1:] not in links:
            raise URLError(f"no link named {href[1:]!r} in site.yaml links "
                           f"(known: {', '.join(sorted(links)) or 'none'})")
        return absolute_url(links[href[1:]])
    try:
        return _site_link(href, base_path)
    except URLError as exc:
        raise URLError(f"{href!r} is not a link this page can use: {exc}") from exc


def _site_link(href: str, base_path: str) -> str:
    if href.startswith("#"):
        _unsafe(href, LINK_UNSAFE)
        return href
    if href.startswith("//") or href.startswith("/\\") or re.match(r"/[\t\n\r]*[/\\]", href):
        raise URLError("it leads to another host (a browser reads //host and /\\host as one): "
                       "write https://host/… for another site, or /path for a page of this one")
    _unsafe(href, LINK_UNSAFE)
    if href.startswith("/"):
        path = href.partition("#")[0].partition("?")[0]
        if any(s in ("..", ".") or s.lower() in ("%2e", "%2e%2e", ".%2e", "%2e.") for s in path.split("/")):
            raise URLError("it holds a . or .. folder: write the path of the page itself")
        return base_path + href[1:]
    match = _SCHEME.match(href)
    if match is None:
        raise URLError("a relative path depends on the page it is on: "
                       "write #section-id, /path, @name (a link of site.yaml) or an http(s) URL")
    scheme = match.group(1).lower()
    if scheme in WEB_SCHEMES:
        return absolute_url(href, unsafe=LINK_UNSAFE)
    if scheme in ("mailto", "tel", "ftp", "ftps", "sms"):
        raise URLError(f"{scheme}: links are refused on purpose (the page links only to web pages): "
                       "write the address as text, or link to a web page")
    raise URLError(f"the scheme {scheme}: is refused (only http and https; javascript: and data: "
                   "would run code)")


def malformed_web_url(value: str) -> bool:
    """True for an http(s) URL that the WHATWG parser refuses (`https://[::1/`): the Markdown
    renderer keeps it as written (rather than "repairing" it), so that the policy refuses it."""
    match = _SCHEME.match(value)
    if match is None or match.group(1).lower() not in WEB_SCHEMES:
        return False
    from ada_url import URL

    try:
        URL(value)
    except ValueError:
        return True
    return False
