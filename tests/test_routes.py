"""The memory estimate and the route choice of `zimage-site generate`, and the real architecture.

The full-size networks are built from the configs kept in zimage_site/images/model_configs on
PyTorch's meta device (no memory, no weights) and counted; the counts must match the page's facts
(content/data/facts.yaml) and the estimate's own counts, done without PyTorch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zimage_site.data import load_data
from zimage_site.images import routes
from zimage_site.images.generate import Options, generate

REPO = Path(__file__).resolve().parent.parent
GIB = 2**30


@pytest.fixture(scope="module")
def facts() -> dict:  # fact id → Fact (zimage_site.model)
    return load_data(REPO).facts_file.facts


@pytest.fixture(scope="module")
def meta_counts() -> dict[str, int]:
    """The full-size transformer, text encoder and VAE, built on the meta device and counted."""
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")

    def args(name):
        return {k: v for k, v in routes.load_config(name).items() if not k.startswith("_")}

    te_args = {k: v for k, v in args("text_encoder").items() if k not in ("architectures", "torch_dtype")}
    with torch.device("meta"):
        nets = {
            "transformer": diffusers.ZImageTransformer2DModel(**args("transformer")),
            "text_encoder": transformers.Qwen3Model(transformers.Qwen3Config(**te_args)),
            "vae": diffusers.AutoencoderKL(**args("vae")),
        }
    for net in nets.values():
        assert all(p.device.type == "meta" for p in net.parameters())  # nothing was allocated
    counts = {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}
    counts["transformer_layers"] = len(nets["transformer"].layers)
    counts["text_encoder_layers"] = len(nets["text_encoder"].layers)
    counts["largest"] = {name: max(p.numel() for p in net.parameters()) for name, net in nets.items()}
    return counts


def test_the_full_size_architecture_matches_the_facts(meta_counts, facts):
    tr, te, vae = meta_counts["transformer"], meta_counts["text_encoder"], meta_counts["vae"]
    # "about 6.15B" counted from the transformer's config
    assert round(tr / 1e9, 2) == facts["params_exact"].value
    assert round(tr / 1e9) == facts["params"].value
    # "4B": Qwen3-4B
    assert round(te / 1e9) == facts["te_params"].value
    # the VAE file is the bf16 weights: 168 MB
    assert round(vae * 2 / 1e6) == facts["vae_file_mb"].value
    # the bf16 files of the transformer (12.3 GB) and of the text encoder (8 GB)
    assert round(tr * 2 / 1e9, 1) == facts["dit_weights_gb"].value
    assert round(te * 2 / 1e9) == facts["te_weights_gb"].value
    assert abs((tr + te + vae) * 2 / 1e9 - facts["total_weights_gb"].value) < 1  # 20.5 GB: "about 20 GB"
    # the architecture facts the page prints
    assert meta_counts["transformer_layers"] == facts["dit_layers"].value
    assert meta_counts["text_encoder_layers"] == facts["te_layers"].value
    assert routes.load_config("transformer")["dim"] == facts["hidden_size"].value
    assert routes.load_config("transformer")["n_heads"] == facts["attention_heads"].value
    assert routes.load_config("transformer")["n_refiner_layers"] == facts["refiner_blocks"].value
    assert routes.load_config("text_encoder")["hidden_size"] == facts["te_hidden"].value
    assert routes.load_config("vae")["latent_channels"] == facts["latent_channels"].value


def test_the_pages_memory_tiers_agree_with_the_estimate(facts):
    """The page's GPU tiers (estimates in content/data/facts.yaml) and the estimate `generate` uses
    to pick a route say the same thing at 1024×1024: a card of each tier fits its route, with the
    margin, and the tier below does not."""
    est = routes.estimate(1024, 1024)
    need = {name: r.needed_bytes / GIB for name, r in est.routes.items()}
    assert abs(sum(c.weight_bytes for c in est.components.values()) / 1e9 - facts["weights_bf16_est"].value) < 0.1
    assert facts["vram_offload_est"].value < need["gpu"] <= facts["vram_full_est"].value
    assert facts["vram_12"].value < need["model-offload"] <= facts["vram_offload_est"].value
    assert need["sequential-offload"] <= facts["vram_seq_est"].value
    assert routes.choose(est, facts["vram_full_est"].value * GIB).route == "gpu"
    assert routes.choose(est, facts["vram_offload_est"].value * GIB).route == "model-offload"
    assert routes.choose(est, facts["vram_12"].value * GIB).route == "sequential-offload"


def test_the_estimate_counts_the_parameters_exactly(meta_counts):
    """routes.py counts without PyTorch (for --dry-run anywhere); its counts are exact."""
    counted = {
        "transformer": routes.transformer_params(routes.load_config("transformer")),
        "text_encoder": routes.text_encoder_params(routes.load_config("text_encoder")),
        "vae": routes.vae_params(routes.load_config("vae")),
    }
    for name, (params, largest) in counted.items():
        assert params == meta_counts[name], name
    # the largest layer: the text encoder's token embedding (151936 × 2560)
    assert counted["text_encoder"][1] == meta_counts["largest"]["text_encoder"] == 151936 * 2560
    assert counted["transformer"][1] == meta_counts["largest"]["transformer"]  # an MLP projection
    comps = routes.components(1024, 1024, "bf16")
    for name in ("transformer", "text_encoder", "vae"):
        assert comps[name].weight_bytes == 2 * meta_counts[name]
    assert routes.components(1024, 1024, "fp32")["transformer"].weight_bytes == 4 * meta_counts["transformer"]


def test_the_estimate_follows_size_and_guidance():
    small, big = routes.estimate(512, 512), routes.estimate(1024, 1024)
    assert small.routes["gpu"].weight_bytes == big.routes["gpu"].weight_bytes  # weights do not depend on size
    for name in ("transformer", "vae"):
        assert big.components[name].activation_bytes > small.components[name].activation_bytes
    # the VAE decoder's activations grow with the pixels: 4× the pixels, 4× the memory
    assert big.components["vae"].activation_bytes == 4 * small.components["vae"].activation_bytes
    cfg = routes.estimate(1024, 1024, guidance=3.5)
    assert cfg.batch == 2
    assert cfg.components["transformer"].activation_bytes == 2 * big.components["transformer"].activation_bytes
    # a run is planned for its most demanding image
    run = routes.estimate_for([(512, 512, 0.0), (1024, 1024, 0.0), (768, 1344, 0.0)])
    assert (run.width, run.height) == (1024, 1024) or run.width * run.height > 1024 * 1024
    assert run.routes["gpu"].needed_bytes == max(
        routes.estimate(w, h).routes["gpu"].needed_bytes for w, h in ((512, 512), (1024, 1024), (768, 1344)))
    # fastest first: each route needs less than the one before
    needs = [big.routes[r].needed_bytes for r in routes.ROUTES]
    assert needs == sorted(needs, reverse=True)


def _site(tmp_path: Path, size: int = 1024, guidance: float = 0.0) -> Path:
    (tmp_path / "content").mkdir(parents=True, exist_ok=True)
    (tmp_path / "content" / "images.yaml").write_text(
        "images:\n  - id: hero\n    section: intro\n    prompt: 国风茶馆木质招牌\n"
        "    caption: {zh: 图, en: Image}\n    alt: {zh: 图, en: An image}\n"
        f"    seed: 42\n    width: {size}\n    height: {size}\n    guidance: {guidance}\n", encoding="utf-8")
    return tmp_path


def _dry(root: Path, **opts) -> list[str]:
    lines: list[str] = []
    generate(Options(root=root, model="Tongyi-MAI/Z-Image-Turbo", dry_run=True, **opts), out=lines.append)
    return lines


@pytest.mark.parametrize("gb, route", [(8, "sequential-offload"), (12, "sequential-offload"),
                                       (16, "model-offload"), (24, "gpu"), (80, "gpu")])
def test_dry_run_picks_the_route_for_a_card(tmp_path, monkeypatch, gb, route):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    lines = _dry(_site(tmp_path), gpu_memory=gb)
    assert f"free GPU memory: {gb} GiB (--gpu-memory)" in lines
    chosen = [ln for ln in lines if ln.startswith("route: ")]
    assert len(chosen) == 1 and chosen[0].startswith(f"route: {route}, "), lines
    est = routes.estimate(1024, 1024)
    need = est.routes[route].needed_bytes
    assert need <= gb * GIB
    assert f"needs about {routes.gib(need)} of {gb:.1f} GiB free" in chosen[0]
    faster = routes.ROUTES[: routes.ROUTES.index(route)]
    assert all(est.routes[r].needed_bytes > gb * GIB for r in faster)  # the fastest that fits
    table = [ln for ln in lines if ln.startswith("  gpu ") or ln.startswith("  model-offload ")]
    assert len(table) == 2


def test_route_override_and_unknown_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = _site(tmp_path)
    forced = _dry(root, gpu_memory=16, route="gpu")
    assert forced[-1].startswith("route: gpu, the whole pipeline on the GPU (chosen with --route/--offload; "
                                 "it may not fit: needs about 22.6 GiB with the margin, 16.0 GiB free)")
    assert _dry(root, gpu_memory=80, offload=True)[-1].startswith("route: model-offload, ")
    from zimage_site.errors import SiteError

    with pytest.raises(SiteError, match="--offload and --route gpu contradict each other"):
        _dry(root, offload=True, route="gpu")
    with pytest.raises(SiteError, match="--gpu-memory 0: the free GPU memory must be a positive number"):
        _dry(root, gpu_memory=0)


def test_dry_run_without_torch_says_the_free_memory_is_unknown(tmp_path):
    blocker = tmp_path / "blocker" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named torch', name='torch')\n")
    root = _site(tmp_path / "site", size=768, guidance=3.5)
    env = dict(os.environ, HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join([str(tmp_path / "blocker"), str(REPO)]))
    proc = subprocess.run([sys.executable, "-m", "zimage_site", "generate", "--root", str(root), "--dry-run"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert "GPU memory estimate for 768×768 (batch 2: guidance > 0), bf16, from Z-Image-Turbo's configs" in out[3]
    assert "free GPU memory: unknown (PyTorch is not installed); pass --gpu-memory GB to plan for a card" in out
    assert out[-1] == "route: chosen when the run starts, from the free memory of the GPU"
    est = routes.estimate(768, 768, guidance=3.5)
    assert out[-3] == "routes by free GPU memory: " + ", ".join(
        f"{r} from {routes.gib(est.routes[r].needed_bytes)}" for r in routes.ROUTES)


def test_the_configs_are_cited():
    readme = (routes.CONFIG_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("transformer", "text_encoder", "vae"):
        assert f"https://huggingface.co/Tongyi-MAI/Z-Image-Turbo/blob/main/{name}/config.json" in readme
        json.loads((routes.CONFIG_DIR / f"{name}.json").read_text(encoding="utf-8"))


def test_the_gpu_proof_script_runs_on_the_cpu_at_a_reduced_size(tmp_path):
    """scripts/bench_routes.py with the tiny pipeline on the CPU: it measures and writes its report."""
    pytest.importorskip("diffusers")
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_routes", REPO / "scripts" / "bench_routes.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "performance.md"
    assert bench.main(["--tiny", "--device", "cpu", "--size", "32", "--images", "1", "--no-compile",
                       "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    est = routes.estimate(1024, 1024)
    for name in routes.ROUTES:
        r = est.routes[name]
        assert (f"| {name} | {routes.gib(r.weight_bytes, 2)} | {routes.gib(r.activation_bytes, 2)} | "
                f"{routes.gib(r.peak_bytes, 2)} | {routes.gib(r.needed_bytes, 2)} |") in text
    assert "| 16 GiB | model-offload |" in text and "| 80 GiB | gpu |" in text
    assert "32×32, 8 steps, guidance 0, the tiny test pipeline" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| cpu |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "n/a" and float(cells[3]) > 0 and float(cells[4]) > 0 and cells[5].endswith(" %")
    assert "torch " in text and "diffusers " in text
