"""Print the bytes of the published images of a full-store build, by format, and what their XMP
labels add.

    python scripts/bench_image_bytes.py [--out DIR]

Builds the site with the tests' fixture store (tests/fixture_store.py: one test image for every
entry of content/images.yaml, in a temporary copy of the site) and sums the files under img/. The
"XMP" column is the size of the packets found in the files (`<x:xmpmeta>…</x:xmpmeta>`) plus the
container's framing of about 20 bytes each; "one page" is what a browser that takes AVIF loads at
most for one language's page (the largest AVIF of every image; the real figure depends on `sizes`).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None, help="build here (default: a temporary folder)")
    args = ap.parse_args()
    from fixture_store import build_with_fixture_store

    with tempfile.TemporaryDirectory(prefix="zimage-bytes-") as tmp:
        out = args.out or Path(tmp) / "out"
        build_with_fixture_store(REPO, out, Path(tmp) / "work")
        files = sorted((out / "img").iterdir())
        by_fmt: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # files, bytes, xmp bytes
        largest: dict[str, int] = {}
        for path in files:
            data = path.read_bytes()
            m = re.search(rb"<x:xmpmeta.*?</x:xmpmeta>", data, re.S)
            fmt = path.suffix.lstrip(".")
            row = by_fmt[fmt]
            row[0] += 1
            row[1] += len(data)
            row[2] += len(m.group(0)) + 20 if m else 0
            if fmt == "avif":
                image_id = path.name.split(".", 1)[0]
                largest[image_id] = max(largest.get(image_id, 0), len(data))
        total = sum(r[1] for r in by_fmt.values())
        xmp = sum(r[2] for r in by_fmt.values())
        print(f"{len(files)} files under img/, {total:,} bytes in all, of which XMP labels {xmp:,} bytes "
              f"({100 * xmp / total:.2f} %)")
        for fmt, (n, size, x) in sorted(by_fmt.items()):
            print(f"  {fmt:<5} {n:4d} files  {size:>12,} bytes  XMP {x:>9,} bytes"
                  + (f"  ({x // n} per file)" if n and x else ""))
        print(f"one page (largest AVIF of each of {len(largest)} images): {sum(largest.values()):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
