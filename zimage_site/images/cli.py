"""The `generate` subcommand. The engine's CLI registers it with `add_parser(subparsers)`.

    zimage-site generate [--root DIR] [--manifest FILE] [--model ID_OR_PATH] [--revision REV]
                         [--device auto|cuda|cpu] [--dtype bf16|fp32] [--route ROUTE] [--offload]
                         [--gpu-memory GB] [--attention BACKEND] [--compile] [--only ID …] [--force]
                         [--dry-run]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Generate the images of content/images.yaml that the store (images/) lacks, with Z-Image-Turbo
through diffusers' ZImagePipeline. Needs the optional extra: pip install torch (for your
platform), then pip install '.[generate]'. On several GPUs:
accelerate launch -m zimage_site generate …"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    from zimage_site.cli import add_site_arguments  # here: zimage_site.cli imports this module

    p = subparsers.add_parser("generate", help="generate the missing images with Z-Image-Turbo",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_site_arguments(p)
    p.add_argument("--manifest", type=Path, default=None,
                   help="the image manifest (default: ROOT/content/images.yaml)")
    p.add_argument("--model", metavar="ID_OR_PATH", default=None,
                   help="a Hugging Face model id or a local folder (default: the manifest's model, "
                        "Tongyi-MAI/Z-Image-Turbo)")
    p.add_argument("--revision", default=None, help="a Hub branch, tag or commit of the model")
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto",
                   help="auto: CUDA when available, else the CPU (slow)")
    p.add_argument("--dtype", choices=("bf16", "fp32", "fp16"), default=None,
                   help="bf16 (default on CUDA) or fp32 (default on the CPU); fp16 is refused: it gives "
                        "black images with Z-Image")
    p.add_argument("--route", choices=("auto", "gpu", "model-offload", "sequential-offload"), default="auto",
                   help="how the pipeline uses the GPU: auto (default) picks the fastest that fits the free "
                        "memory; gpu: all on the GPU; model-offload: one network at a time; "
                        "sequential-offload: one layer at a time (slow)")
    p.add_argument("--offload", action="store_true", help="the same as --route model-offload")
    p.add_argument("--gpu-memory", metavar="GB", type=float, default=None,
                   help="plan for this much free GPU memory, in GiB (the '16 GB' of a card), instead of "
                        "what the GPU reports; with --dry-run: what would a 16 GB card pick")
    p.add_argument("--attention", metavar="BACKEND", default=None,
                   help="attention backend for the transformer, e.g. native, flash, _flash_3")
    p.add_argument("--compile", action="store_true", help="torch.compile the transformer")
    p.add_argument("--only", nargs="+", metavar="ID", default=[],
                   help="only these image ids (or comparison set ids)")
    p.add_argument("--force", action="store_true", help="generate again even what the store has")
    p.add_argument("--dry-run", action="store_true",
                   help="list what would be generated and why (missing, corrupt, forced), the memory "
                        "estimate and the route, and stop; loads nothing")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from zimage_site.images.generate import Options, generate

    opts = Options(root=args.root, manifest=args.manifest, model=args.model, revision=args.revision,
                   device=args.device, dtype=args.dtype, offload=args.offload, route=args.route,
                   gpu_memory=args.gpu_memory, attention=args.attention,
                   compile=args.compile, only=list(args.only), force=args.force, dry_run=args.dry_run)
    try:
        generate(opts)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0

