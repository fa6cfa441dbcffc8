"""Kill `zimage-site generate` with SIGKILL at random moments: the store stays whole.

After every kill, each provenance file (the commit marker) names a complete image whose SHA-256
matches and that Pillow decodes; an image without provenance may exist (it is not done and is
made again). Once the store is complete the killed runs use --force, so that kills also land
while committed images are being replaced. Then a normal run completes the store and removes
what the killed runs left.

Three kills by default; ZIMAGE_SLOW=1 runs 25 (ZIMAGE_KILLS=N sets the number). The moments are
drawn from a seeded generator (ZIMAGE_KILL_SEED=N picks another seed; the seed is printed), and
every kill is checked to have happened: the process ended by SIGKILL, not by itself. The counts
are printed (pytest -s shows them).

Each run is `zimage_site.cli.main(["generate", …])` in a process forked from a fork server that
has imported torch and diffusers once (and run nothing), so a run costs the model load, not the
imports; SIGKILL is sent to that process.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import signal
import time
from pathlib import Path

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("torch")

from zimage_site.images.store import Store, sha256_file, verify_png  # noqa: E402

from helpers import PROGRESS, manifest, summary  # noqa: E402
from helpers import manifest_site as site  # noqa: E402

pytestmark = pytest.mark.generate
REPO = Path(__file__).resolve().parent.parent
SLOW = os.environ.get("ZIMAGE_SLOW") == "1"
KILLS = int(os.environ.get("ZIMAGE_KILLS") or (25 if SLOW else 3))
IMAGES = 8


_STEM = re.compile(r"^\.?(?P<stem>.+\.[0-9a-f]{16})\.(png|json)(\.next)?$")


def whole(store_dir: Path) -> dict:
    """Check the store as a reader sees it (zimage_site.images.store.Store, which follows an
    unfinished two-phase write to the pair it committed); return what is in it."""
    seen = {"done": 0, "orphan_png": 0, "tmp": 0, "next": 0}
    if not store_dir.is_dir():
        return seen
    store = Store(store_dir.parent)
    stems = set()
    for path in sorted(store_dir.iterdir()):
        if path.name.endswith(".tmp"):
            seen["tmp"] += 1
            continue
        if path.name.endswith(".next"):
            seen["next"] += 1
        m = _STEM.match(path.name)
        if m:
            stems.add(m["stem"])
    for stem in sorted(stems):
        png, sidecar = store_dir / f"{stem}.png", store_dir / f"{stem}.json"
        png_next, json_next = Store.next_paths(png, sidecar)
        if sidecar.exists() or json_next.exists():
            status = store._verify(stem.rsplit(".", 1)[0], png, sidecar)
            assert status.state == "ok", f"{stem}: {status.detail}"  # pixels and provenance agree
            entry = status.entry
            assert sha256_file(entry.png) == json.loads(entry.sidecar.read_text(encoding="utf-8"))["sha256"]
            assert verify_png(entry.png) is None, f"{entry.png.name}: damaged"
            seen["done"] += 1
        elif png.exists() or png_next.exists():
            seen["orphan_png"] += 1  # written, not committed: made again by the next run
    return seen


def _run(argv: list[str], log: str) -> None:  # in the forked process
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    from zimage_site.cli import main

    code = main(argv)
    os._exit(code)


def _lines(log: Path) -> list[str]:
    try:
        return log.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return []


def test_sigkill_at_random_moments_leaves_a_whole_store(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "diffusers", "transformers", "zimage_site.images.generate",
                                "zimage_site.cli", "test_crash_safety"])
    seed = int(os.environ.get("ZIMAGE_KILL_SEED") or 20261206)
    print(f"\ncrash safety: ZIMAGE_KILL_SEED={seed}")
    rng = random.Random(seed)
    root = site(tmp_path, manifest(IMAGES))
    store_dir = Store(root).dir
    argv = ["generate", "--root", str(root), "--device", "cpu", "--model", str(tiny_model)]
    stats = {"kills": 0, "after_images": 0, "during_start": 0, "finished_before_kill": 0,
             "orphan_png": 0, "tmp": 0, "forced": 0}
    for i in range(KILLS):
        log = tmp_path / f"run-{i}.log"
        # Once the store is complete, --force: the next run replaces committed images (the old
        # version must stay whole until the new one is committed).
        force = ["--force"] if whole(store_dir)["done"] == IMAGES else []
        stats["forced"] += bool(force)
        proc = ctx.Process(target=_run, args=(argv + force, str(log)))
        proc.start()
        # Either a random moment of the start (model load, planning, the first image), or a random
        # moment shortly after the n-th image (the next image's generation and writes).
        after = rng.randrange(0, 3)
        if after == 0:
            time.sleep(rng.uniform(0.05, 1.5))
        else:
            deadline = time.monotonic() + 240
            while proc.is_alive() and time.monotonic() < deadline:
                if sum(1 for ln in _lines(log) if PROGRESS.match(ln.strip())) >= after:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.25))
        if proc.is_alive():
            proc.kill()  # SIGKILL
            proc.join()
            if proc.exitcode == -signal.SIGKILL:  # killed, not ended by itself just before
                stats["kills"] += 1
                stats["after_images" if after else "during_start"] += 1
            else:
                assert proc.exitcode == 0, _lines(log)
                stats["finished_before_kill"] += 1
        else:
            stats["finished_before_kill"] += 1
        proc.join()
        seen = whole(store_dir)
        stats["orphan_png"] += seen["orphan_png"]
        stats["tmp"] += seen["tmp"]

    # What a write killed half-way leaves: a temporary file of another process.
    store_dir.mkdir(parents=True, exist_ok=True)
    (store_dir / ".img-0.0123456789abcdef.png.999999.tmp").write_bytes(b"\x89PNG\r\n partial")
    log = tmp_path / "final.log"
    proc = ctx.Process(target=_run, args=(argv, str(log)))
    proc.start()
    proc.join(300)
    print(f"\ncrash safety: {stats['kills']} SIGKILLs ({stats['during_start']} during start, "
          f"{stats['after_images']} after an image; {stats['forced']} runs with --force), "
          f"{stats['finished_before_kill']} runs finished first, "
          f"{stats['orphan_png']} uncommitted images and {stats['tmp']} temporary files seen after kills")
    assert proc.exitcode == 0, _lines(log)
    out = "\n".join(_lines(log))
    last = out.strip().splitlines()[-1]
    if last.startswith("nothing to generate"):
        assert last == f"nothing to generate: all {IMAGES} selected images are in the store"
    else:
        generated, skipped = summary(out)
        assert generated + skipped == IMAGES
    assert stats["kills"] + stats["finished_before_kill"] == KILLS
    assert stats["kills"] >= 1, "no run was killed: the test would prove nothing"
    seen = whole(store_dir)
    assert seen == {"done": IMAGES, "orphan_png": 0, "tmp": 0, "next": 0}
    assert sorted(p.name for p in store_dir.iterdir() if p.name.startswith(".")) == []


def _run_stopping_after(argv: list[str], log: str, step: int) -> None:  # in the forked process
    """`_run`, with the process stopping itself (SIGSTOP) after the `step`-th durable step of each
    image write (zimage_site.images.store.Store.write_steps): the parent kills it there, so that
    the kill lands at that step on any machine, however fast its disk."""
    from zimage_site.images.store import Store

    steps = Store.write_steps

    def write(self, *args, **kwargs):
        entry = None
        for n, entry in enumerate(steps(self, *args, **kwargs), 1):
            if n == step:
                os.kill(os.getpid(), signal.SIGSTOP)
        return entry

    Store.write = write
    _run(argv, log)


def _stopped(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] in "Tt"


def test_sigkill_while_force_replaces_a_pair_leaves_old_or_new(tmp_path, tiny_model, monkeypatch):
    """`generate --force` writes a new pair under the old pair's name in durable steps: its new
    image beside the old pair, then its new provenance (the commit point), then the image over the
    old one, then the provenance. Killed after each of the first three steps, a reader finds the
    old pair (before the commit) or the new one (after it), whole; the next run finishes or
    discards the interrupted write."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "diffusers", "transformers", "zimage_site.images.generate",
                                "zimage_site.cli", "test_crash_safety"])
    root = site(tmp_path, manifest(2))
    store_dir = Store(root).dir
    argv = ["generate", "--root", str(root), "--device", "cpu", "--model", str(tiny_model)]
    proc = ctx.Process(target=_run, args=(argv, str(tmp_path / "first.log")))
    proc.start()
    proc.join(300)
    assert proc.exitcode == 0 and whole(store_dir)["done"] == 2
    expected = {1: "old", 2: "new", 3: "new"}  # after the new image, its provenance, the image's rename
    for step, outcome in expected.items():
        before = {p.name: p.read_bytes() for p in store_dir.glob("*.json")}
        log = tmp_path / f"f{step}.log"
        proc = ctx.Process(target=_run_stopping_after,
                           args=(argv + ["--force", "--only", "img-0"], str(log), step))
        proc.start()
        deadline = time.monotonic() + 240
        while proc.is_alive() and not _stopped(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert _stopped(proc.pid), (proc.exitcode, _lines(log))
        proc.kill()  # SIGKILL, at that step
        proc.join()
        assert proc.exitcode == -signal.SIGKILL, proc.exitcode
        seen = whole(store_dir)
        assert seen["done"] == 2 and seen["tmp"] == 0
        assert seen["next"] == {1: 1, 2: 2, 3: 1}[step]  # the .next files the kill left
        (sidecar,) = store_dir.glob("img-0.*.json")
        status = Store(root)._verify("img-0", sidecar.with_suffix(".png"), sidecar)
        is_new = status.entry.sidecar.read_bytes() != before[sidecar.name]
        assert ("new" if is_new else "old") == outcome, step
        assert before.keys() == {p.name for p in store_dir.glob("*.json")}
        if step < 3:  # what the next run does first (the last kill is left to the final run)
            Store(root).remove_temporary()
            assert whole(store_dir)["next"] == 0
    final = ctx.Process(target=_run, args=(argv, str(tmp_path / "final.log")))
    final.start()
    final.join(300)
    assert final.exitcode == 0
    assert whole(store_dir) == {"done": 2, "orphan_png": 0, "tmp": 0, "next": 0}
    assert sorted(p.name for p in store_dir.iterdir() if p.name.startswith(".")) == []
