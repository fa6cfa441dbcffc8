"""Measure what each generation route really needs, at the real model's size, and write
docs/performance.md.

    python scripts/bench_routes.py                      # CUDA GPU: full-size Z-Image-Turbo, random bf16 weights
    python scripts/bench_routes.py --tiny --device cpu  # the tiny test pipeline on the CPU (checks the script)
    python scripts/bench_routes.py --estimates-only     # no torch needed: the estimate tables only

The full-size pipeline is built from the configs in zimage_site/images/model_configs (the model
repository's own) on PyTorch's meta device, then given random weights on the GPU: memory and time
do not depend on the values, and no download is needed. The tokenizer is the test suite's small
byte-level one; the prompt is padded to 512 tokens as with the real tokenizer.

For each route (gpu, model-offload, sequential-offload) at 1024×1024 and 8 steps: peak GPU memory
(torch.cuda.max_memory_allocated over a whole image), seconds per image after a warm-up, the
same with `pipe.transformer.compile()` (gpu route), and the overhead of `zimage-site generate`'s
loop (store key, provenance, PNG encoding, atomic writes) over a bare pipeline call on the same
images. Needs a GPU with about 24 GiB free for the gpu route (the offload routes need less) and
about 25 GB of RAM.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from zimage_site.images import routes  # noqa: E402

PROMPTS = ["国风茶馆门口的木质招牌，行书清晰写着「茗香」二字，暖色灯笼光，傍晚，细节丰富",
           "A studio portrait of a ginger Shiba Inu puppy in a knitted red scarf, soft window light, 85mm"]
CARDS_GIB = (8, 12, 16, 24, 80)
REAL_SIZE = 1024


# --------------------------------------------------------------------------- building

def build_full_size(torch, device: str):
    """The full-size ZImagePipeline with random bf16 weights on `device`."""
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel
    from tiny_pipeline import build_tokenizer
    from transformers import Qwen3Config, Qwen3Model

    def args(name, drop=()):
        return {k: v for k, v in routes.load_config(name).items() if not k.startswith("_") and k not in drop}

    with torch.device("meta"):
        transformer = ZImageTransformer2DModel(**args("transformer"))
        text_encoder = Qwen3Model(Qwen3Config(**args("text_encoder", ("architectures", "torch_dtype"))))
        vae = AutoencoderKL(**args("vae"))
    gen = torch.Generator(device).manual_seed(0)
    for net in (transformer, text_encoder, vae):
        net.to_empty(device=device)
        net.to(torch.bfloat16)
        with torch.no_grad():
            for p in net.parameters():
                p.normal_(0.0, 0.02, generator=gen)
            for b in net.buffers():  # rotary frequencies (meta left them empty): finite, RoPE-like values
                if b.is_floating_point():
                    n = b.numel()
                    b.copy_((1.0 / (1e6 ** (torch.arange(0, 2 * n, 2, device=b.device).float() / (2 * n))))
                            .reshape(b.shape).to(b.dtype))
        net.eval()
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
    return ZImagePipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=build_tokenizer(),
                          transformer=transformer)


def build_tiny(torch, device: str):
    from tiny_pipeline import build_tiny_pipeline

    return build_tiny_pipeline().to(device)


# --------------------------------------------------------------------------- measuring

def measure(torch, pipe, route: str, device: str, size: int, steps: int, images: int, gen_loop=None) -> dict:
    cuda = device.startswith("cuda")

    def call(i):
        return pipe(prompt=PROMPTS[i % 2], height=size, width=size, num_inference_steps=steps, guidance_scale=0.0,
                    generator=torch.Generator("cpu").manual_seed(1000 + i)).images[0]

    def sync():
        if cuda:
            torch.cuda.synchronize()

    call(0)  # warm-up (kernels, allocator, offload hooks)
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(images):
        sync()
        t = time.perf_counter()
        call(i)
        sync()
        times.append(time.perf_counter() - t)
    out = {"route": route, "seconds": statistics.median(times), "runs": images,
           "peak_bytes": torch.cuda.max_memory_allocated() if cuda else None}
    if gen_loop is not None:  # the generate loop on the same images, interleaved with bare calls
        bare, tool = [], []
        for i in range(images):
            sync()
            t = time.perf_counter()
            call(i)
            sync()
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            gen_loop(i)
            sync()
            tool.append(time.perf_counter() - t)
        out["bare_seconds"], out["generate_seconds"] = statistics.median(bare), statistics.median(tool)
        out["overhead"] = out["generate_seconds"] / out["bare_seconds"] - 1
    return out


def make_gen_loop(torch, pipe, device: str, size: int, steps: int, route: str, tmp: Path):
    """One image through `zimage-site generate`'s own loop (Generator._generate) into a temporary store."""
    from zimage_site.images.generate import Generator, ModelRef, Options, Planned, _device_name
    from zimage_site.images.manifest import ImageSpec
    from zimage_site.images.store import Store

    gen = Generator(Options(root=tmp / "site", device="cuda" if device.startswith("cuda") else "cpu"),
                    out=lambda s: None)
    model = ModelRef("bench", "bench-random-weights", tmp, "random", "local folder", test_fixture=True)
    store = Store(tmp / "site", tmp / "store")
    dev_name = _device_name(torch, device)
    dtype = "bf16" if next(pipe.transformer.parameters()).dtype == torch.bfloat16 else "fp32"

    def loop(i):
        spec = ImageSpec.model_construct(id=f"bench-{i}", prompt=PROMPTS[i % 2], caption={}, alt={}, seed=1000 + i, width=size,
                         height=size, steps=steps, guidance=0.0, section="bench")
        gen._generate(torch, pipe, store, model, [Planned(1, spec, "missing")], 1, device, dtype, dev_name, route)

    return loop


# --------------------------------------------------------------------------- the report

def environment(torch) -> dict:
    import diffusers
    import transformers

    try:
        import accelerate

        acc = accelerate.__version__
    except ImportError:
        acc = "not installed"
    env = {"python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
           "transformers": transformers.__version__, "accelerate": acc, "cuda": torch.version.cuda or "none"}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
        env["gpu_memory"] = routes.gib(torch.cuda.get_device_properties(0).total_memory)
        try:
            env["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                           capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            env["driver"] = "unknown"
    else:
        env["gpu"] = f"none (CPU: {platform.processor() or platform.machine()})"
    return env


def estimate_section(size: int) -> list[str]:
    lines = ["## Estimate", "",
             "From the model's configs (`zimage_site/images/model_configs/`), bf16, guidance 0 (batch 1), the "
             "prompt padded to 512 tokens. Weights are counted exactly; activations are estimated "
             "(formulas in `zimage_site/images/routes.py`). *With margin* = weights + 1.25 × activations "
             "+ 1 GiB: what `generate` requires free before it picks a route.", "",
             "- weights: parameters × 2 bytes (bf16), counted from the configs; the tests check the counts "
             "against the networks built on PyTorch's meta device and against the page's facts.",
             "- text encoder activations: B·T·b·((L+1)·H + 3·I + 6·H) with T = 512 prompt tokens, L = 36 layers, "
             "H = 2560, I = 9728 (every hidden state is kept: the pipeline reads the second-to-last).",
             "- transformer activations: B·S·b·(7·D + 3·F) with S = image tokens (W/16 · H/16) + 512 caption "
             "tokens, D = 3840, F = 10240 (attention through SDPA: memory linear in S).",
             "- VAE decoder activations: W·H·b·(3·256 + 2·128), the full-resolution tensors of its last "
             "upsampler and resnet.",
             "- routes: gpu = all weights + the largest activation; model-offload = the largest network with "
             "its activations; sequential-offload = the largest single layer with its network's activations.",
             ""]
    for w, h, g in ((size, size, 0.0), (size, size, 3.5), (2048, 2048, 0.0)):
        est = routes.estimate(w, h, "bf16", g)
        batch = ", guidance > 0 (batch 2)" if g else ""
        lines += [f"**{w}×{h}{batch}**", "", "| route | weights | activations | peak | with margin | on the GPU at the peak |",
                  "|---|---:|---:|---:|---:|---|"]
        for name in routes.ROUTES:
            r = est.routes[name]
            lines.append(f"| {name} | {routes.gib(r.weight_bytes, 2)} | {routes.gib(r.activation_bytes, 2)} | "
                         f"{routes.gib(r.peak_bytes, 2)} | {routes.gib(r.needed_bytes, 2)} | {', '.join(r.components)} |")
        lines.append("")
    comps = routes.components(size, size)
    lines += ["Per network (bf16): " + "; ".join(
        f"{name} {c.params:,} parameters, {c.weight_bytes / 1e9:.2f} GB ({routes.gib(c.weight_bytes, 2)})"
        for name, c in comps.items()) + ".", ""]
    est = routes.estimate(size, size)
    lines += [f"Route `generate` picks at {size}×{size} for a given free GPU memory "
              f"(`zimage-site generate --dry-run --gpu-memory GB`):", "", "| free GPU memory | route |", "|---:|---|"]
    for gb in CARDS_GIB:
        lines.append(f"| {gb} GiB | {routes.choose(est, gb * routes.GIB).route} |")
    lines.append("")
    return lines


def write_report(path: Path, size: int, steps: int, env: dict | None, results: list[dict], note: str = "",
                 what: str = "random weights in the model's full-size architecture") -> None:
    today = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")
    lines = ["# Performance: memory and time of each generation route", "",
             "Written by `scripts/bench_routes.py` on " + today + ". `zimage-site generate` picks the fastest route "
             "whose estimated memory fits the free memory of the GPU (see [images.md](images.md)); this page "
             "holds the estimate and, once a GPU run was made, the measured figures.", ""]
    lines += estimate_section(REAL_SIZE)
    lines += ["## Measured", ""]
    if not results:
        lines += [note or "Not measured yet: no GPU was available when this file was written.", "",
                  "To measure on a CUDA machine (about 24 GiB of free GPU memory for the gpu route, 25 GB of RAM, "
                  "a few minutes; no download, the weights are random):", "",
                  "```bash", "pip install torch  # the CUDA build", "pip install '.[generate]'",
                  "python scripts/bench_routes.py   # rewrites docs/performance.md", "```", ""]
    else:
        cuda_run = any(r.get("peak_bytes") is not None for r in results)
        lines += [f"{note}" if note else "", "",
                  "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()) + ".", "",
                  f"{size}×{size}, {steps} steps, guidance 0, {what}; "
                  "seconds per image are medians after a warm-up image.", "",
                  "| route | peak (measured) | peak (estimate) | s/image | generate s/image | generate overhead |",
                  "|---|---:|---:|---:|---:|---:|"]
        est = routes.estimate(size, size)
        for r in results:
            known = r["route"].split(" + ")[0]
            estimate_text = routes.gib(est.routes[known].peak_bytes, 2) if known in est.routes and cuda_run else "n/a"
            peak = routes.gib(r["peak_bytes"], 2) if r.get("peak_bytes") is not None else "n/a"
            gen_s = f"{r['generate_seconds']:.3f}" if "generate_seconds" in r else ""
            over = f"{100 * r['overhead']:+.2f} %" if "overhead" in r else ""
            lines.append(f"| {r['route']} | {peak} | {estimate_text} | {r['seconds']:.3f} | {gen_s} | {over} |")
        lines.append("")
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    ap.add_argument("--tiny", action="store_true", help="the tiny test pipeline instead of the full-size one")
    ap.add_argument("--size", type=int, default=None, help="image size (default 1024; 64 with --tiny)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--images", type=int, default=3, help="timed images per route (after one warm-up)")
    ap.add_argument("--routes", default=",".join(routes.ROUTES), help="routes to measure, comma-separated")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile measurement")
    ap.add_argument("--estimates-only", action="store_true", help="write the estimate only (no torch needed)")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "performance.md", help="the report to write")
    args = ap.parse_args(argv)
    size = args.size or (64 if args.tiny else 1024)

    if args.estimates_only:
        write_report(args.out, size, args.steps, None, [])
        print(f"wrote {args.out} (estimates only)")
        return 0

    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.startswith("cuda")
    env = environment(torch)
    print("environment: " + ", ".join(f"{k} {v}" for k, v in env.items()), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="zimage-routes-"))
    t0 = time.perf_counter()
    pipe = (build_tiny if args.tiny else build_full_size)(torch, device)
    pipe.set_progress_bar_config(disable=True)
    print(f"built the {'tiny' if args.tiny else 'full-size'} pipeline on {device} in {time.perf_counter() - t0:.1f} s",
          flush=True)
    wanted = [r for r in args.routes.split(",") if r]
    results = []

    def report(r):
        peak = routes.gib(r["peak_bytes"], 2) if r.get("peak_bytes") is not None else "n/a"
        extra = (f", generate {r['generate_seconds']:.3f} s/image, overhead {100 * r['overhead']:+.2f} %"
                 if "overhead" in r else "")
        print(f"{r['route']:<24} peak {peak:>10}  {r['seconds']:.3f} s/image{extra}", flush=True)
        results.append(r)

    first = "gpu" if cuda else "cpu"
    loop = make_gen_loop(torch, pipe, device, size, args.steps, first, tmp)
    report(measure(torch, pipe, first, device, size, args.steps, args.images, loop))
    if not args.no_compile:
        pipe.transformer.compile()
        report(measure(torch, pipe, first + " + torch.compile", device, size, args.steps, args.images))
        pipe.transformer = getattr(pipe.transformer, "_orig_mod", pipe.transformer)
    if cuda:
        for route in ("model-offload", "sequential-offload"):
            if route not in wanted:
                continue
            pipe.remove_all_hooks()
            pipe.to("cpu")
            torch.cuda.empty_cache()
            if route == "model-offload":
                pipe.enable_model_cpu_offload(device=device)
            else:
                pipe.enable_sequential_cpu_offload(device=device)
            report(measure(torch, pipe, route, device, size, args.steps, max(1, args.images - 1)))
    note = "" if cuda else ("Measured on the CPU with the tiny test pipeline: these figures check the script, "
                            "they say nothing about the real model.")
    write_report(args.out, size, args.steps, env, results, note,
                 "the tiny test pipeline" if args.tiny else "random weights in the model's full-size architecture")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
