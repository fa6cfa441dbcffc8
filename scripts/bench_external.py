#!/usr/bin/env python3
"""Wall time of `zimage-site check --external` on the real site, whole processes, medians.

    python scripts/bench_external.py [--repeat 5] [--no-network]

Builds the site into a temporary folder, then runs `zimage-site check --external
--no-html-validator` --repeat times and prints the median wall time, the exit status and the
command's summary lines. With --no-network each run is made inside a new network namespace
(`unshare -n`, Linux, root or user namespaces), where no host resolves: the figure is how long the
check takes to say the network is unavailable. Without it, the runs use whatever network the
machine has (on a machine without one, the same figure). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-network", action="store_true", help="run each check in a namespace without network")
    args = parser.parse_args()
    if args.no_network and shutil.which("unshare") is None:
        print("unshare is not installed (util-linux)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-external-") as tmp:
        out = Path(tmp) / "build"
        subprocess.run([sys.executable, "-m", "zimage_site", "build", "--root", str(ROOT), "--out", str(out)],
                       check=True, capture_output=True, cwd=ROOT)
        command = [sys.executable, "-m", "zimage_site", "check", "--root", str(ROOT), "--out", str(out),
                   "--external", "--no-html-validator", "--no-cache"]
        if args.no_network:
            command = ["unshare", "-n", *command]
        times, last = [], None
        for _ in range(args.repeat):
            start = time.perf_counter()
            last = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
        assert last is not None
        print(f"check --external{' (no network)' if args.no_network else ''}: median {statistics.median(times):.2f} s "
              f"wall over {len(times)} runs (min {min(times):.2f}, max {max(times):.2f}); exit status {last.returncode}")
        for line in last.stdout.splitlines():
            if line.startswith(("error: the network", "external links:", "checked ")):
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
