"""Crash safety of `build`: SIGKILL `python -m zimage_site build` at random moments.

After every kill the output folder is whole: exactly the previous build or exactly the new one,
never a mix or a part. The next build completes and removes what the killed ones left (their
`.build-new-*` and `.build-old-*` folders). A few kills by default; ZIMAGE_SLOW=1 for many.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zimage_site.site import build_site

REPO = Path(__file__).resolve().parent.parent
KILLS = 60 if os.environ.get("ZIMAGE_SLOW") == "1" else 6


def digest(folder: Path) -> str | None:
    """The files a folder shows, as a web server reads them: following its links (an output on a
    mount point is links into .zimage-site/), a link that leads nowhere being no file."""
    if not folder.is_dir():
        return None
    h = hashlib.sha256()
    found = []
    for parent, dirs, files in os.walk(folder, followlinks=True):
        if Path(parent) == folder:
            dirs[:] = [d for d in dirs if d != ".zimage-site"]
        found += [Path(parent) / name for name in files]
    for path in sorted(found):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in [*root.iterdir(), *(root / "build").iterdir()]
                  if p.name.startswith((".build-new-", ".build-old-")))


def test_a_killed_build_leaves_the_output_whole_and_the_next_one_cleans_up(site_factory, tmp_path):
    root = site_factory("bilingual")
    outcomes = kill_builds(root, tmp_path, root / "build")
    assert leftovers(root) == []
    assert sum(outcomes.values()) == KILLS


@pytest.fixture
def mount_point(tmp_path):
    """A fresh tmpfs mounted at tmp_path/mnt (a container volume's kind of output folder)."""
    point = tmp_path / "mnt"
    point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point)], capture_output=True, text=True)
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_killed_build_into_a_mount_point_leaves_the_output_whole(site_factory, tmp_path, mount_point):
    """A mount point cannot be renamed: its entries are links into .zimage-site/, switched by one
    rename; a kill at any moment leaves the previous site or the new one, as a server reads it."""
    root = site_factory("bilingual")
    kill_builds(root, tmp_path, mount_point)
    store = mount_point / ".zimage-site"
    assert sorted(os.listdir(store))[-1] == "current" and len(os.listdir(store)) == 2, os.listdir(store)
    assert [p for p in os.listdir(mount_point) if p.startswith(".") and p not in (".zimage-site", ".nojekyll",
                                                                                  ".zimage-site-build.json")] == []


def kill_builds(root: Path, tmp_path: Path, out: Path) -> dict[str, int]:
    """Kill builds of two alternating versions of the site into `out` at random moments; after
    each kill `out` shows one of the two whole. The last build completes and cleans up."""
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
    command = [sys.executable, "-m", "zimage_site", "build", "--root", str(root), "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    full = time.perf_counter() - start
    current = 1
    assert digest(out) == expected[current]

    rng = random.Random(12)
    outcomes = {"previous": 0, "new": 0}
    for _ in range(KILLS):
        target = 1 - current
        intro.write_text(versions[target], encoding="utf-8")
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if rng.random() < 0.5:  # at a random moment of the build
            time.sleep(rng.uniform(0.3, 1.1) * full)
        else:  # during the swap: once the new site is staged whole (its marker written), within 20 ms
            staged = [out.parent, out, out / ".zimage-site"]
            deadline = time.perf_counter() + 10 * full + 5
            while proc.poll() is None and time.perf_counter() < deadline and not any(any(
                    folder.glob(f".{out.name}-new-{proc.pid}-*/.zimage-site-build.json")) for folder in staged):
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        got = digest(out)
        assert got in (expected[current], expected[target]), "a killed build left a partial output"
        if got == expected[target]:
            outcomes["new"] += 1
            current = target
        else:
            outcomes["previous"] += 1
    print(f"{KILLS} kills into {out.name} (one build takes {full:.2f} s): the output was the previous build "
          f"after {outcomes['previous']}, the new one after {outcomes['new']}")

    intro.write_text(versions[1 - current], encoding="utf-8")
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert digest(out) == expected[1 - current]
    return outcomes
