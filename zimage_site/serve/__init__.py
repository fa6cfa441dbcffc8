"""`zimage-site serve`: a live preview that rebuilds on save and reloads the browser.

The package, by job (docs/serve.md tells the user's side):

- `watch`: the sources are watched with watchfiles (the Rust notify crate), in background threads;
- `preview`: the preview state: build generations, when to build (the quiet period), the reload
  policy, the error shown while a build fails;
- `server`: HTTP: the tornado handlers, the Host allowlist, the traversal guard, livereload's
  websocket (its protocol and livereload.js; not its Server, which polls every 800 ms, drops
  reloads closer than 3 s apart and serves a fixed folder);
- `pages`: the live-reload script and the error page, from the files beside it (connect.js,
  keep-place.js, error.html);
- `cli`: the subcommand.

`zimage-site build` imports this package to register the subcommand: tornado, livereload, asyncio
and watchfiles are imported only when the server runs.
"""

from __future__ import annotations

from zimage_site.serve.cli import add_parser
from zimage_site.serve.pages import LIVE_RELOAD_SCRIPT, error_page

__all__ = ["LIVE_RELOAD_SCRIPT", "add_parser", "error_page"]
