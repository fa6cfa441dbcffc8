"""`zimage-site generate` end to end with a tiny random ZImagePipeline, offline, on the CPU.

The tiny pipeline (tests/tiny_pipeline.py) is saved with `save_pretrained` and loaded by the same
code a user runs (`--model <folder>`). Its images are noise and only ever go to temporary folders.

Most runs call `zimage_site.cli.main(["generate", …])` in the test process (`cli`), so that torch and
diffusers are imported once; a real `python -m zimage_site generate` process (`run`) is started where
the process itself is under test: a kill and resume, `accelerate launch`, a missing extra, and the
Hub lookups, which need HF_HUB_OFFLINE=1 set before huggingface_hub is imported.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("torch")


from zimage_site.errors import Report  # noqa: E402
from zimage_site.images.store import Store, verify_png  # noqa: E402

from helpers import PROGRESS, manifest, summary  # noqa: E402
from helpers import manifest_site as site  # noqa: E402

pytestmark = pytest.mark.generate
REPO = Path(__file__).resolve().parent.parent
@pytest.fixture(scope="session")
def cli_module() -> str:
    """The user's command: `python -m zimage_site generate`."""
    return "zimage_site"


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests"), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"  # fixed CPU thread count: identical pixels from run to run
    env["HF_HUB_OFFLINE"] = "1"
    env.update(extra)
    return env


@pytest.fixture
def cli(capfd):
    """`zimage-site generate` in this process: cli(root, model, *args) -> returncode, stdout, stderr."""
    from zimage_site.cli import main

    def call(root, model, *args):
        capfd.readouterr()
        code = main(["generate", "--root", str(root), "--device", "cpu",
                     *(["--model", str(model)] if model else []), *args])
        out, err = capfd.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    return call


def run(cli_module, root, model, *args, env=None, launcher=None):
    """`python -m zimage_site generate` in a process of its own."""
    cmd = [*(launcher or [sys.executable]), "-m", cli_module, "generate", "--root", str(root),
           "--device", "cpu", *(["--model", str(model)] if model else []), *args]
    proc = subprocess.run(cmd, cwd=REPO, env=env or _env(), capture_output=True, text=True, timeout=300)
    return proc


def progress(stdout: str) -> list[tuple]:
    return [m.groups() for m in map(PROGRESS.match, stdout.splitlines()) if m]


# --------------------------------------------------------------------------- the rule: 8 forwards

def test_eight_steps_are_eight_transformer_forwards(tiny_model):
    """On the installed diffusers, num_inference_steps=8 runs the transformer exactly 8 times
    (diffusers PR #13730 removed the redundant last step; older versions needed 9 for 8)."""
    import torch
    from diffusers import ZImagePipeline

    pipe = ZImagePipeline.from_pretrained(tiny_model)
    pipe.set_progress_bar_config(disable=True)
    calls = []
    handle = pipe.transformer.register_forward_hook(lambda module, args, out: calls.append(1))
    try:
        for steps, guidance in ((8, 0.0), (4, 0.0), (8, 3.5)):
            calls.clear()
            pipe(prompt="小桥流水人家", height=64, width=64, num_inference_steps=steps, guidance_scale=guidance,
                 generator=torch.Generator("cpu").manual_seed(0))
            assert len(calls) == steps  # with guidance the two branches share one batched forward
    finally:
        handle.remove()


# --------------------------------------------------------------------------- store and provenance

def test_generate_fills_the_store_with_provenance(tmp_path, tiny_model, cli):
    root = site(tmp_path, manifest(3))
    proc = cli(root, tiny_model)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("generating 3 images with tiny-zimage (fp32, cpu")
    assert lines[0].endswith(", 8 steps)")
    assert [(p[0], p[1], p[2], p[3], p[5]) for p in progress(proc.stdout)] == [
        ("1", "3", "img-0", "64", "100"), ("2", "3", "img-1", "64", "101"), ("3", "3", "img-2", "64", "102")]
    assert summary(proc.stdout) == (3, 0)
    assert "generating on the CPU" in proc.stderr and "Traceback" not in proc.stderr

    store = Store(root)
    sidecars = sorted(store.dir.glob("img-0.*.json"))
    assert len(sidecars) == 1
    prov = json.loads(sidecars[0].read_text(encoding="utf-8"))
    png = sidecars[0].with_suffix(".png")
    assert verify_png(png) is None
    for key in ("prompt", "seed", "steps", "guidance_scale", "width", "height", "model", "model_revision",
                "pipeline", "libraries", "device", "seconds", "peak_gpu_memory_bytes", "created", "sha256"):
        assert key in prov
    assert prov["prompt"] == "国风茶馆木质招牌，清晰写着「茗香」二字"
    assert (prov["seed"], prov["steps"], prov["guidance_scale"], prov["width"], prov["height"]) == (100, 8, 0.0, 64, 64)
    assert prov["pipeline"] == "ZImagePipeline" and prov["dtype"] == "fp32"
    assert prov["model"] == "tiny-zimage" and prov["model_revision"].startswith("sha256:")
    assert prov["transformer_forwards"] == 8
    assert prov["test_fixture"] is True
    assert set(prov["libraries"]) >= {"torch", "diffusers", "transformers"}
    assert prov["device"].startswith("cpu") and prov["peak_gpu_memory_bytes"] is None
    assert prov["route"] == "cpu" and prov["offload"] is False
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", prov["created"])
    assert png.name == f"img-0.{prov['key'][:16]}.png"
    assert not list(store.dir.glob(".*.tmp"))

    again = cli(root, tiny_model)
    assert again.returncode == 0
    assert "nothing to generate: all 3 selected images are in the store" in again.stdout


def test_the_master_png_carries_its_labels(tmp_path, tiny_model, cli):
    from xmp_reader import xmp_fields, xmp_packet

    root = site(tmp_path, manifest(1))
    (root / "site.yaml").write_text("aigc:\n  producer: 示例 & <Co>\n  propagator: example.org\n", encoding="utf-8")
    assert cli(root, tiny_model).returncode == 0
    (sidecar,) = Store(root).dir.glob("img-0.*.json")
    prov = json.loads(sidecar.read_text(encoding="utf-8"))
    fields = xmp_fields(xmp_packet(sidecar.with_suffix(".png").read_bytes()))
    # the store publishes nothing: no propagator in the master
    assert fields["AIGC"] == {"Label": "1", "ContentProducer": "示例 & <Co>", "ProduceID": prov["key"],
                              "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}
    assert fields["DigitalSourceType"] == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    assert (fields["AISystemUsed"], fields["AISystemVersionUsed"]) == ("tiny-zimage", prov["model_revision"])
    assert fields["AIPromptInformation"] == prov["prompt"] == "国风茶馆木质招牌，清晰写着「茗香」二字"
    assert fields["description"] == "AI-generated: seed 100, 8 steps, guidance 0"
    assert verify_png(sidecar.with_suffix(".png")) is None

    # a site.yaml without the block: said before any model is loaded
    (root / "site.yaml").write_text("base_url: https://example.org/\n", encoding="utf-8")
    refused = cli(root, tiny_model, "--force")
    assert refused.returncode == 1 and 'error: site.yaml, key "aigc"' in refused.stderr
    assert "Traceback" not in refused.stderr and not progress(refused.stdout)


def test_same_key_same_pixels(tmp_path, tiny_model, cli):
    a = site(tmp_path / "a", manifest(2))
    b = site(tmp_path / "b", manifest(2))
    assert cli(a, tiny_model).returncode == 0
    assert cli(b, tiny_model).returncode == 0
    for image_id in ("img-0", "img-1"):
        [pa], [pb] = Store(a).dir.glob(f"{image_id}.*.json"), Store(b).dir.glob(f"{image_id}.*.json")
        assert pa.name == pb.name  # same store key
        assert json.loads(pa.read_text())["sha256"] == json.loads(pb.read_text())["sha256"]


def test_dry_run_force_and_only(tmp_path, tiny_model, cli):
    root = site(tmp_path, manifest(3))
    dry = cli(root, tiny_model, "--dry-run")
    assert dry.returncode == 0
    assert dry.stdout.splitlines()[0].startswith("would generate 3 of 3 images with tiny-zimage (fp32, sha256:")
    assert re.search(r"^  img-1  64×64\s+seed 101\s+missing$", dry.stdout, re.M)
    assert not Store(root).dir.exists()

    only = cli(root, tiny_model, "--only", "img-2")
    assert [p[2] for p in progress(only.stdout)] == ["img-2"]
    assert summary(only.stdout) == (1, 0)

    rest = cli(root, tiny_model)
    assert [p[2] for p in progress(rest.stdout)] == ["img-0", "img-1"]
    assert summary(rest.stdout) == (2, 1)

    forced_dry = cli(root, tiny_model, "--dry-run", "--force", "--only", "img-0")
    assert re.search(r"^  img-0  64×64\s+seed 100\s+forced$", forced_dry.stdout, re.M)
    before = json.loads(next(Store(root).dir.glob("img-0.*.json")).read_text())["created"]
    forced = cli(root, tiny_model, "--force")
    assert summary(forced.stdout) == (3, 0)
    after = json.loads(next(Store(root).dir.glob("img-0.*.json")).read_text())
    assert after["sha256"] and after["created"] >= before
    assert len(list(Store(root).dir.glob("img-0.*"))) == 2  # one png, one json

    unknown = cli(root, tiny_model, "--only", "nope")
    assert unknown.returncode == 1
    assert "error: content/images.yaml: --only names unknown image(s): nope" in unknown.stderr


def test_corrupt_and_partial_files_are_regenerated(tmp_path, tiny_model, cli):
    root = site(tmp_path, manifest(3))
    assert cli(root, tiny_model).returncode == 0
    store = Store(root)
    png0 = next(store.dir.glob("img-0.*.png"))
    png0.write_bytes(png0.read_bytes()[:200])  # a truncated image
    next(store.dir.glob("img-1.*.json")).unlink()  # an image whose provenance was never written
    dry = cli(root, tiny_model, "--dry-run")
    assert re.search(r"^  img-0 .* corrupt: the image does not match the SHA-256 in its provenance$", dry.stdout, re.M)
    assert re.search(r"^  img-1 .* corrupt: the image has no provenance file \(an interrupted run\)$",
                     dry.stdout, re.M)
    fixed = cli(root, tiny_model)
    assert [p[2] for p in progress(fixed.stdout)] == ["img-0", "img-1"]
    assert summary(fixed.stdout) == (2, 1)
    for png in store.dir.glob("*.png"):
        assert verify_png(png) is None


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, tiny_model, cli_module, cli):
    n = 12
    root = site(tmp_path, manifest(n))
    cmd = [sys.executable, "-m", cli_module, "generate", "--root", str(root), "--device", "cpu",
           "--model", str(tiny_model)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    seen = 0
    for line in proc.stdout:
        if PROGRESS.match(line.strip()):
            seen += 1
            if seen == 3:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait()
    assert seen == 3
    resumed = cli(root, tiny_model)
    generated, skipped = summary(resumed.stdout)
    assert skipped >= 1 and generated + skipped == n
    assert generated == len(progress(resumed.stdout))
    assert len(list(Store(root).dir.glob("*.json"))) == n
    assert not list(Store(root).dir.glob(".*.tmp"))


# --------------------------------------------------------------------------- several processes

def test_accelerate_launch_splits_the_images_between_processes(tmp_path, tiny_model, cli_module):
    n = 5
    root = site(tmp_path, manifest(n))
    # `--cpu` would run a single process (accelerate needs MPI for several CPU processes); the
    # torchrun launcher of --multi_gpu starts two, and `--device cpu` makes them CPU (gloo) ranks.
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    proc = run(cli_module, root, tiny_model, env=_env(), launcher=launcher)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # each image made exactly once, by one of the two processes: the store holds one entry per image
    # (the launcher relays the ranks' progress lines to one pipe, and under load it has dropped some
    # of the second rank's: the lines printed are checked for repeats, the store for completeness)
    ids = [p[2] for p in progress(proc.stdout)]
    assert len(ids) == len(set(ids)) and set(ids) <= {f"img-{i}" for i in range(n)}, ids
    assert ", 2 processes)" in proc.stdout
    assert summary(proc.stdout) == (n, 0)
    made = [json.loads(path.read_text(encoding="utf-8"))["id"] for path in Store(root).dir.glob("*.json")]
    assert sorted(made) == [f"img-{i}" for i in range(n)]


# --------------------------------------------------------------------------- errors

def test_clear_errors_without_tracebacks(tmp_path, tiny_model, cli_module, cli):
    root = site(tmp_path, manifest(1))
    cases = {
        ("--dtype", "fp16"): "error: --dtype fp16 is refused: Z-Image overflows in float16 and produces black "
                             "(NaN) images (Tongyi-MAI/Z-Image issues #14 and #15)",
        ("--offload",): "error: --offload needs a GPU",
        ("--route", "sequential-offload"): "error: --route sequential-offload needs a GPU",
        ("--attention", "warp-drive"): "error: the attention backend 'warp-drive' cannot be used here",
    }
    for args, message in cases.items():
        proc = cli(root, tiny_model, *args)
        assert proc.returncode == 1 and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr

    missing = cli(root, tmp_path / "no-such-model")
    assert missing.returncode == 1
    assert f"error: the model folder {tmp_path / 'no-such-model'} does not exist" in missing.stderr

    offline = run(cli_module, root, None, "--model", "Tongyi-MAI/Z-Image-Turbo")
    assert offline.returncode == 1 and "Traceback" not in offline.stderr
    assert "error: the weights of Tongyi-MAI/Z-Image-Turbo are not on this machine" in offline.stderr
    assert "hf download Tongyi-MAI/Z-Image-Turbo --local-dir ./Z-Image-Turbo" in offline.stderr
    assert "huggingface-cli download Tongyi-MAI/Z-Image-Turbo --local-dir ./Z-Image-Turbo" in offline.stderr

    bad = site(tmp_path / "bad", manifest(1).replace("width: 64", "width: 65"))
    proc = cli(bad, tiny_model)
    assert proc.returncode == 1
    assert 'error: content/images.yaml, line 8, key "images[0].width": 65 is not a multiple of 16' in proc.stderr


def test_attention_backend_native_is_recorded(tmp_path, tiny_model, cli):
    root = site(tmp_path, manifest(1))
    proc = cli(root, tiny_model, "--attention", "native")
    assert proc.returncode == 0, proc.stderr
    prov = json.loads(next(Store(root).dir.glob("*.json")).read_text())
    assert prov["attention"] == "native" and prov["transformer_forwards"] == 8


def test_missing_extra_is_explained(tmp_path, tiny_model, cli_module):
    blocker = tmp_path / "blocker" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named torch', name='torch')\n")
    root = site(tmp_path / "site", manifest(1))
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "blocker"), env["PYTHONPATH"]])
    proc = run(cli_module, root, tiny_model, env=env)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == (
        "error: image generation needs PyTorch, which is not installed\n"
        "  fix: pip install torch (the build for your platform: https://pytorch.org/get-started/locally/), "
        "then pip install '.[generate]' in the zimage-site folder")


def test_the_test_pipeline_never_writes_into_a_checkout(tmp_path, tiny_model, cli):
    root = site(tmp_path, manifest(1))
    (tmp_path / ".git").mkdir()
    proc = cli(root, tiny_model)
    assert proc.returncode == 1
    assert "error: this model is the tiny test pipeline" in proc.stderr
    assert not (root / "images").exists()


def test_build_generate_without_a_gpu_is_a_warning(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from zimage_site.images import generate_missing

    report = Report()
    generate_missing(site(tmp_path, manifest(1)), report)
    assert [w.message for w in report.warnings] == [
        "--generate: the images were not generated, PyTorch sees no CUDA GPU"]


# --------------------------------------------------------------------------- the model's Hub cache

def _hub_cache(folder: Path, *, broken: bool = False) -> Path:
    """A Hugging Face cache holding org/name at main (a snapshot with model_index.json only); with
    `broken`, refs/main is a folder instead of a file (a damaged cache)."""
    repo = folder / "models--org--name"
    commit = "a" * 40
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "model_index.json").write_text("{}", encoding="utf-8")
    if broken:
        (repo / "refs" / "main").mkdir(parents=True)
    else:
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    return folder


def test_model_lookup_failures_are_reported_with_their_cause(tmp_path, monkeypatch, capsys):
    import huggingface_hub.constants

    from zimage_site.cli import main
    from zimage_site.errors import SiteError
    from zimage_site.images.generate import resolve_model

    root = site(tmp_path / "site", manifest(1))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(_hub_cache(tmp_path / "hub")))
    assert resolve_model("org/name").revision == "a" * 40  # downloaded: its commit is the revision
    # not downloaded yet: not an error, said as such
    assert resolve_model("org/other").missing == "not downloaded yet"
    assert main(["generate", "--root", str(root), "--model", "org/name", "--revision", "v9", "--dry-run"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("would generate 1 of 1 images with org/name (")
    assert ("revision v9 not downloaded yet (this machine has main; a branch, tag or commit that does not "
            "exist fails when loading): revision known after the download):") in first

    # any other failure of the lookup is an error naming the model, the fix, and keeping the cause
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE",
                        str(_hub_cache(tmp_path / "broken", broken=True)))
    with pytest.raises(SiteError) as info:
        resolve_model("org/name", "main")
    assert isinstance(info.value.__cause__, IsADirectoryError)
    assert main(["generate", "--root", str(root), "--model", "org/name", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: could not look up org/name in the local Hugging Face cache "
                          "(IsADirectoryError: [Errno 21] Is a directory: ")
    assert "fix: check --model and --revision; if the cache is damaged, delete the model's folder " \
           "models--org--name in the cache" in err
    assert "Traceback" not in err
    assert main(["--debug", "generate", "--root", str(root), "--model", "org/name", "--dry-run"]) == 1
    assert "The above exception was the direct cause of the following exception" in capsys.readouterr().err


def test_a_revision_that_cannot_be_loaded_is_named(tmp_path, cli_module):
    root = site(tmp_path / "site", manifest(1))
    env = _env(HF_HUB_CACHE=str(_hub_cache(tmp_path / "hub")))
    proc = run(cli_module, root, None, "--model", "org/name", "--revision", "v9", env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "error: the weights of revision v9 of org/name are not on this machine and could not be " \
           "downloaded (" in proc.stderr
    assert "hf download org/name --local-dir ./name" in proc.stderr
