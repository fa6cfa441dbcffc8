"""Benchmark `zimage-site generate` against a bare diffusers call on the same pipeline, same run.

    python scripts/bench_generate.py                       # tiny test pipeline, CPU, 64 px
    python scripts/bench_generate.py --model Tongyi-MAI/Z-Image-Turbo --device cuda --size 1024

Loads the pipeline once with the generator's own loading code, warms up, then times N images
made by a bare `pipe(...)` call and the same N images made by the generator's loop (store keys,
provenance, PNG encoding and atomic writes on the writer thread) into a temporary store. Prints
per-image seconds, peak GPU memory and the overhead ratio (aim: under 2 %).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="model id or folder (default: the tiny test pipeline)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--size", type=int, default=None, help="image size (default 64 tiny, 1024 real)")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--attention", default=None)
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()

    import torch

    from zimage_site.images.generate import Generator, Options, Planned, _device_name, resolve_model
    from zimage_site.images.manifest import ImageSpec
    from zimage_site.images.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="zimage-bench-"))
    if args.model is None:
        from tiny_pipeline import save_tiny_pipeline

        model_arg = str(save_tiny_pipeline(tmp / "tiny-zimage"))
        size = args.size or 64
    else:
        model_arg, size = args.model, args.size or 1024
    if args.device == "cpu":
        torch.set_num_threads(max(1, torch.get_num_threads()))

    gen = Generator(Options(root=tmp / "site", model=model_arg, device=args.device, attention=args.attention,
                            compile=args.compile), out=lambda s: None)
    model = resolve_model(model_arg)
    import diffusers

    dtype = "bf16" if args.device == "cuda" else "fp32"
    t0 = time.perf_counter()
    pipe = gen._load(torch, diffusers, model, args.device, dtype)
    load_s = time.perf_counter() - t0
    cuda = args.device == "cuda"

    prompts = ["国风茶馆门口的木质招牌，行书写着「茗香」二字，暖色灯笼光，傍晚",
               "A studio portrait of a ginger Shiba Inu puppy in a red scarf, soft window light"]
    specs = [ImageSpec.model_construct(id=f"bench-{i}", prompt=prompts[i % 2], caption={}, alt={}, seed=1000 + i, width=size,
                       height=size, steps=args.steps, guidance=0.0, section="bench") for i in range(args.images)]

    def bare(spec):
        return pipe(prompt=spec.prompt, height=spec.height, width=spec.width, num_inference_steps=spec.steps,
                    guidance_scale=spec.guidance, generator=torch.Generator("cpu").manual_seed(spec.seed)).images[0]

    for spec in specs[: args.warmup]:
        bare(spec)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    # Interleave the two ways image by image, so that drift and other load hit both alike, and
    # compare medians.
    bare_times, tool_times, peaks = [], [], []
    rounds = 3
    store = Store(tmp / "site", tmp / "store")
    dev_name = _device_name(torch, args.device)
    for r in range(rounds):
        for i, spec in enumerate(specs):
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            sync()
            t = time.perf_counter()
            bare(spec)
            sync()
            bare_times.append(time.perf_counter() - t)
            if cuda:
                peaks.append(torch.cuda.max_memory_allocated())
            sync()
            t = time.perf_counter()
            gen._generate(torch, pipe, store, model, [Planned(i + 1, spec, "missing")], len(specs),
                          args.device, dtype, dev_name)
            sync()
            tool_times.append(time.perf_counter() - t)

    bare_s, tool_s = statistics.median(bare_times), statistics.median(tool_times)
    print(f"model {model.name} ({dtype}, {_device_name(torch, args.device)}), {size}×{size}, {args.steps} steps, "
          f"{args.images} images × {rounds} rounds, load {load_s:.1f} s")
    print(f"bare diffusers call   {bare_s:8.4f} s/image")
    print(f"zimage-site generate  {tool_s:8.4f} s/image (incl. PNG, SHA-256, provenance, atomic writes)")
    print(f"overhead              {100 * (tool_s / bare_s - 1):+7.2f} %")
    if peaks:
        print(f"peak GPU memory       {max(peaks) / 2**30:8.2f} GiB")
    else:
        print("peak GPU memory       n/a (CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
