"""Static assets: one stylesheet bundle, scripts, and everything else under static/.

CSS (every static/css/*.css in name order, then the Pygments styles) becomes one file,
`assets/site.<hash>.css`, the page's only render-blocking request. Scripts are copied as
`assets/js/<name>.<hash>.js`. Content hashes in the names let browsers cache them forever.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from pygments.formatters import HtmlFormatter

from zimage_site.errors import Problem, SiteError

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


def build_assets(root: Path, out: Path, base_path: str, *, hash_names: bool = True) -> dict[str, str]:
    """Write assets under out/assets; return {logical name → URL}. Logical names are paths
    relative to static/ ("css/site.css" names the bundle, "js/site.js", "favicon.svg")."""
    static = root / STATIC_DIR
    target = out / "assets"
    target.mkdir(parents=True, exist_ok=True)
    urls: dict[str, str] = {}
    css_parts = []
    for path in sorted(static.rglob("*")) if static.is_dir() else []:
        if not path.is_file() or path.name.startswith("."):
            continue
        logical = path.relative_to(static).as_posix()
        if logical.startswith("css/") and path.suffix == ".css":
            try:
                css_parts.append(f"/* {logical} */\n" + path.read_text(encoding="utf-8"))
            except UnicodeDecodeError as exc:
                raise SiteError(Problem(f"the stylesheet is not UTF-8 text ({exc.reason})", file=f"static/{logical}",
                                        fix="save it as UTF-8")) from None
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
