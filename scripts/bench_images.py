"""Benchmark the responsive variants: encoding throughput cold (empty cache) and cached.

    python scripts/bench_images.py [--images 8] [--size 1024]

Stores N synthetic test drawings in a temporary site (marked as test images, never the real
store), publishes them twice and prints images/s and encoded files for each pass.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()

    from helpers import store_test_image

    from zimage_site.errors import Report
    from zimage_site.images import ImageCatalog
    from zimage_site.writer import Writer

    root = Path(tempfile.mkdtemp(prefix="zimage-bench-images-"))
    (root / "content").mkdir()
    items = "".join(
        f"  - id: img-{i}\n    section: s\n    prompt: p{i}\n    caption: {{zh: 图, en: Image}}\n"
        f"    alt: {{zh: 图, en: Image}}\n    seed: {i}\n    width: {args.size}\n    height: {args.size}\n"
        for i in range(args.images))
    (root / "content" / "images.yaml").write_text("images:\n" + items, encoding="utf-8")
    (root / "site.yaml").write_text("aigc: {producer: bench, propagator: bench}\n", encoding="utf-8")
    for i in range(args.images):
        store_test_image(root, f"img-{i}")

    print(f"{args.images} images of {args.size}×{args.size}, {os.cpu_count()} cores")
    for label in ("cold", "cached"):
        catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
        t = time.perf_counter()
        Writer(root / f"out-{label}").files(catalog.prepare("/", Report()).files)
        s = time.perf_counter() - t
        print(f"{label:<7} {s:7.3f} s  {args.images / s:8.1f} images/s  "
              f"encoded {catalog.cache.encoded} files, reused {catalog.cache.reused} variant sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
