"""How the build's cost grows with hostile repetition in one section: prints seconds per size.

    python scripts/bench_scaling.py            # 1,000 / 4,000 / 16,000 of each
    python scripts/bench_scaling.py 500 2000   # other sizes

Each size builds a fresh copy of the test fixture with one section holding N repeated elements
(`### same` headings, `::: note` blocks, `::: details` blocks, links), in one process
(processes=1), and prints the wall-clock seconds of the whole build and the ratio to the size
before. Linear growth shows as a ratio close to the size ratio. The tests check the same
property exactly, by counting the lines run (tests/test_engine.py::test_the_cost_of_a_section_grows_linearly).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers import make_site  # noqa: E402
from zimage_site.site import build_site  # noqa: E402

ELEMENTS = {
    "### same": "\n### same\n\ntext\n",
    "::: note": "\n::: note\nA note.\n:::\n",
    "::: details": "\n::: details More\nHidden *text*.\n:::\n",
    "links": "\n[a](#faq) [b](/x) [c](https://ok.example/)\n",
}


def main(sizes: list[int]) -> None:
    print(f"{'element':<14}" + "".join(f"{n:>12,}" for n in sizes) + "   (seconds; ×: to the size before)")
    for name, text in ELEMENTS.items():
        cells, before = [], None
        for n in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                root = make_site(Path(tmp), "bilingual")
                intro = root / "content/en/01-intro.md"
                intro.write_text(intro.read_text(encoding="utf-8") + text * n, encoding="utf-8")
                start = time.perf_counter()
                build_site(root, Path(tmp) / "out", processes=1)
                seconds = time.perf_counter() - start
            cells.append(f"{seconds:6.2f}" + (f" ×{seconds / before:4.1f}" if before else "      "))
            before = seconds
        print(f"{name:<14}" + "".join(f"{c:>12}" for c in cells))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 4000, 16000])
