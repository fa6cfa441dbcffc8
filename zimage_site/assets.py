"""Static assets: one stylesheet bundle, scripts, and everything else under static/.

CSS (the widths of content/data/layout.yaml as custom properties, every static/css/*.css in
name order with its breakpoint names replaced by their queries, then the Pygments styles:
zimage_site/layout.py) becomes one file,
`assets/site.<hash>.css`, the page's only render-blocking request. Scripts are copied as
`assets/js/<name>.<hash>.js`. Content hashes in the names let browsers cache them forever.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

from pygments.formatters import HtmlFormatter

from zimage_site.errors import ContentError, Problem
from zimage_site.layout import expand_css, load_layout

STATIC_DIR = Path("static")
CODE_STYLE_LIGHT = "default"
CODE_STYLE_DARK = "github-dark"


def code_css() -> str:
    light = HtmlFormatter(style=CODE_STYLE_LIGHT).get_style_defs(".highlight")
    dark = HtmlFormatter(style=CODE_STYLE_DARK).get_style_defs(".highlight")
    return (f"/* code: Pygments {CODE_STYLE_LIGHT} / {CODE_STYLE_DARK} */\n{light}\n"
            f"@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n")


def _hashed(name: str, content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()[:10]
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"


def static_files(root: Path) -> list[Path]:
    """The files under static/ that the site publishes, in name order: regular files, not hidden.

    Symbolic links are followed only when they stay inside static/: a link to anything else
    (`env.txt -> /proc/self/environ`, a key in the home folder) would publish it, so the build
    refuses it. Sockets, pipes and devices are refused too (reading a pipe would wait forever)."""
    static = root / STATIC_DIR
    if not static.is_dir():
        return []
    inside = static.resolve()
    found: list[Path] = []
    for parent, dirs, files in os.walk(static, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(parent, d))]:
            if name.startswith("."):
                continue
            path = Path(parent) / name
            shown = path.relative_to(root).as_posix()
            real = path.resolve()
            if path.is_symlink() and not real.is_relative_to(inside):
                raise ContentError(Problem(
                    f"a symbolic link to {os.readlink(path)!r}, outside static/: the build publishes every "
                    "file of static/, so it refuses links that lead elsewhere", file=shown,
                    fix="copy the file into static/ instead of linking to it, or remove the link"))
            mode = real.stat().st_mode if real.exists() else 0
            if stat.S_ISDIR(mode):
                continue  # a link to a folder inside static/: its files are listed under their own path
            if not stat.S_ISREG(mode):
                raise ContentError(Problem("not a regular file (a broken link, a pipe, a socket or a device)",
                                           file=shown, fix="remove it from static/"))
            found.append(path)
    return sorted(found)


def build_assets(root: Path, out: Path, base_path: str, *, hash_names: bool = True) -> dict[str, str]:
    """Write assets under out/assets; return {logical name → URL}. Logical names are paths
    relative to static/ ("css/site.css" names the bundle, "js/site.js", "favicon.svg")."""
    static = root / STATIC_DIR
    target = out / "assets"
    target.mkdir(parents=True, exist_ok=True)
    urls: dict[str, str] = {}
    layout = load_layout(root)
    css_parts = [layout.css()] if layout is not None else []
    for path in static_files(root):
        logical = path.relative_to(static).as_posix()
        if logical.startswith("css/") and path.suffix == ".css":
            try:
                css = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise ContentError(Problem(f"the stylesheet is not UTF-8 text ({exc.reason})", file=f"static/{logical}",
                                           fix="save it as UTF-8")) from exc
            css_parts.append(f"/* {logical} */\n" + expand_css(css, f"static/{logical}", layout))
            continue
        content = path.read_bytes()
        name = _hashed(logical, content) if hash_names and path.suffix in (".js", ".css") else logical
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        urls[logical] = f"{base_path}assets/{name}"
    bundle = ("\n".join(css_parts) + "\n" + code_css()).encode("utf-8")
    name = _hashed("site.css", bundle) if hash_names else "site.css"
    (target / name).write_bytes(bundle)
    urls["css/site.css"] = f"{base_path}assets/{name}"
    return urls
