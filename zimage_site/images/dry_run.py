"""`zimage-site generate --dry-run`: the plan of a run, printed, without loading the model."""

from __future__ import annotations

from zimage_site.images import routes
from zimage_site.images.loader import device_name
from zimage_site.images.manifest import ImageSpec
from zimage_site.images.model_ref import ModelRef
from zimage_site.images.plan import Planned, Result
from zimage_site.images.store import Store


def dry_run(gen, store: Store, specs: list[ImageSpec], model: ModelRef):
    """`zimage-site generate --dry-run`: what `gen` (a generate.Generator) would make, the memory
    each route needs and the route it would take; loads nothing."""
    opts = gen.opts
    forced = gen._forced_route()
    dtype = opts.dtype
    free: int | None = None
    free_note = ""
    torch = None
    try:
        import torch
    except ImportError:
        free_note = "PyTorch is not installed"
    cuda = torch is not None and opts.device != "cpu" and torch.cuda.is_available()
    if torch is not None and not cuda:
        free_note = "--device cpu" if opts.device == "cpu" else "PyTorch sees no CUDA GPU"
    gpu_plan = cuda or opts.gpu_memory is not None or (torch is None and opts.device != "cpu")
    if dtype is None:
        dtype = "bf16" if gpu_plan else "fp32"  # what a GPU machine would use
    if opts.gpu_memory is not None:
        free = int(opts.gpu_memory * routes.GIB)
        free_note = f"{opts.gpu_memory:g} GiB (--gpu-memory)"
    elif cuda:
        free, _total = torch.cuda.mem_get_info()
        free_note = f"{routes.gib(free)} on {device_name(torch, 'cuda')}"
    planned, present = gen.plan(store, specs, model, dtype)
    rev = model.revision or f"{model.missing or 'not downloaded yet'}: revision known after the download"
    gen.out(f"would generate {len(planned)} of {len(specs)} images with {model.name} ({dtype}, {rev}):")
    if planned:
        width = max(len(p.spec.id) for p in planned)
        for p in planned:
            why = p.reason + (f": {p.detail}" if p.detail else "")
            size = f"{p.spec.width}×{p.spec.height}"
            gen.out(f"  {p.spec.id:<{width}}  {size:<9}  seed {p.spec.seed:<9}  {why}")
    gen.out(f"{present} already in the store.")
    gpu_dtype = opts.dtype if opts.dtype in routes.DTYPE_BYTES else "bf16"
    est, source = gen._estimate(model, planned or [Planned(0, s, "") for s in specs], gpu_dtype)
    for line in routes.table(est, source):
        gen.out(line)
    gen.out("routes by free GPU memory: " + ", ".join(
        f"{name} from {routes.gib(est.routes[name].needed_bytes)}" for name in routes.ROUTES))
    if free is None:
        gen.out(f"free GPU memory: unknown ({free_note}); pass --gpu-memory GB to plan for a card")
    else:
        gen.out(f"free GPU memory: {free_note}")
    if free is not None or forced:
        choice = routes.choose(est, free, forced)
        gen.out(f"route: {choice.route}, {routes.ROUTE_TEXT[choice.route]} ({choice.reason})")
    elif not gpu_plan:
        gen.out(f"route: cpu (this run would use the CPU: {free_note})")
    else:
        gen.out("route: chosen when the run starts, from the free memory of the GPU")
    return Result(skipped=present, planned=planned)
