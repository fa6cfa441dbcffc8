"""Crash safety of `build`: SIGKILL `python -m zimage_site build` at random moments.

After every kill the output folder is whole: exactly the previous build or exactly the new one,
never a mix or a part. The next build completes and removes what the killed ones left (their
`.build-new-*` and `.build-old-*` folders). A few kills by default; ZIMAGE_SLOW=1 for many.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from zimage_site.site import build_site

REPO = Path(__file__).resolve().parent.parent
KILLS = 60 if os.environ.get("ZIMAGE_SLOW") == "1" else 6


def digest(folder: Path) -> str | None:
    if not folder.is_dir():
        return None
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in [*root.iterdir(), *(root / "build").iterdir()]
                  if p.name.startswith((".build-new-", ".build-old-")))


def test_a_killed_build_leaves_the_output_whole_and_the_next_one_cleans_up(site_factory, tmp_path):
    root = site_factory("bilingual")
    intro = root / "content/en/01-intro.md"
    versions = [intro.read_text(encoding="utf-8")]
    versions.append(versions[0].replace("A test model", "A test model, edited"))
    expected = []  # the whole output of each version
    for i, text in enumerate(versions):
        intro.write_text(text, encoding="utf-8")
        build_site(root, tmp_path / f"ref{i}")
        expected.append(digest(tmp_path / f"ref{i}"))
    assert expected[0] != expected[1]

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "zimage_site", "build", "--root", str(root)]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    full = time.perf_counter() - start
    current = 1
    assert digest(root / "build") == expected[current]

    rng = random.Random(12)
    outcomes = {"previous": 0, "new": 0}
    for _ in range(KILLS):
        target = 1 - current
        intro.write_text(versions[target], encoding="utf-8")
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.1) * full)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        got = digest(root / "build")
        assert got in (expected[current], expected[target]), "a killed build left a partial output"
        if got == expected[target]:
            outcomes["new"] += 1
            current = target
        else:
            outcomes["previous"] += 1
    print(f"{KILLS} kills (one build takes {full:.2f} s): the output was the previous build after "
          f"{outcomes['previous']}, the new one after {outcomes['new']}")

    intro.write_text(versions[1 - current], encoding="utf-8")
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert digest(root / "build") == expected[1 - current]
    assert leftovers(root) == []
