"""Loading the model for `zimage-site generate`: the optional extra (torch, diffusers), the device,
the process layout under `accelerate launch`, and the pipeline on its route. torch and diffusers
are imported inside these functions only."""

from __future__ import annotations

import os
import platform

from zimage_site.errors import GenerationError, Problem
from zimage_site.images.model_ref import INSTALL_HINT, ModelRef, load_error

DTYPES = {"bf16": "bfloat16", "fp32": "float32"}


def import_extra():
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise GenerationError(Problem("image generation needs PyTorch, which is not installed",
                                fix=INSTALL_HINT)) from exc
    try:
        import diffusers
        import transformers  # noqa: F401
    except ImportError as exc:
        raise GenerationError(Problem(f"image generation needs the optional extra 'generate' ({exc.name} is missing)",
                                fix=INSTALL_HINT)) from exc
    if not hasattr(diffusers, "ZImagePipeline"):
        raise GenerationError(Problem(f"diffusers {diffusers.__version__} has no ZImagePipeline",
                                fix="pip install -U '.[generate]' (diffusers 0.36 or newer)"))
    import torch

    return torch, diffusers


def device_name(torch, device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} {torch.cuda.getdevice_name(index)}"
    if device.type == "cpu":
        return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    return str(device)


class Accel:
    """Process layout: a single process, or the processes of `accelerate launch`."""

    def __init__(self, device: str):
        self.state = None
        self.index, self.count = 0, 1
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        if world > 1:
            try:
                from accelerate import PartialState
            except ImportError as exc:
                raise GenerationError(Problem("accelerate launch needs the accelerate package", fix=INSTALL_HINT)) from exc
            use_cpu = device == "cpu" or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
            self.state = PartialState(cpu=use_cpu)
            self.index, self.count = self.state.process_index, self.state.num_processes

    @property
    def main(self) -> bool:
        return self.index == 0

    def split(self, items: list):
        if self.state is None:
            return items
        with self.state.split_between_processes(items) as mine:
            return list(mine)

    def gather(self, obj) -> list:
        if self.state is None:
            return [obj]
        from accelerate.utils import gather_object

        return gather_object([obj])

    def wait(self) -> None:
        if self.state is not None:
            self.state.wait_for_everyone()



def pick_device(torch, want: str, warn) -> str:
    """cuda or cpu, for --device `want` (auto | cuda | cpu); `warn` is told when it is the CPU."""
    cuda = torch.cuda.is_available()
    if want == "cuda" and not cuda:
        build = "a CPU-only build" if getattr(torch.version, "cuda", None) is None else f"CUDA {torch.version.cuda}"
        raise GenerationError(Problem(f"--device cuda, but PyTorch ({torch.__version__}, {build}) sees no CUDA GPU",
                                fix="install the CUDA build of torch for your driver, or use --device cpu (slow)"))
    if want == "cuda" or (want == "auto" and cuda):
        return "cuda"
    warn(Problem("generating on the CPU: expect minutes per 1024×1024 image with the real model "
                      "(float32 by default)",
                      fix="use a machine with an NVIDIA GPU for the real images"))
    return "cpu"



def load_pipeline(torch, diffusers, model: ModelRef, device: str, dtype_name: str, opts, route: str | None = None):
    """The ZImagePipeline of `model` on `device`, by `route` (gpu, model-offload, sequential-offload),
    with the attention backend and compilation of `opts` (generate.Options)."""
    from diffusers.utils import logging as dlogging

    dlogging.set_verbosity_error()
    dlogging.disable_progress_bar()
    try:
        from transformers.utils import logging as tlogging

        tlogging.set_verbosity_error()
        tlogging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
    dtype = getattr(torch, DTYPES[dtype_name])
    kwargs = {}
    from diffusers.utils import deprecation_utils

    kwargs["dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"] = dtype
    if model.local is None and opts.revision:
        kwargs["revision"] = opts.revision
    target = str(model.local) if model.local is not None else model.name
    try:
        pipe = diffusers.ZImagePipeline.from_pretrained(target, **kwargs)
    except Exception as exc:  # hub errors, missing files, broken configs
        raise load_error(exc, model, opts.revision) from exc
    pipe.set_progress_bar_config(disable=True)
    route = route or ("model-offload" if opts.offload else "gpu")
    if route == "model-offload":
        pipe.enable_model_cpu_offload(device=device)
    elif route == "sequential-offload":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    if opts.attention:
        try:
            pipe.transformer.set_attention_backend(opts.attention)
        except (ValueError, ImportError, RuntimeError, AttributeError) as exc:
            raise GenerationError(Problem(
                f"the attention backend {opts.attention!r} cannot be used here: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__}",
                fix="use native (PyTorch SDPA, always available); flash needs the flash-attn package, "
                    "_flash_3 FlashAttention 3 on a Hopper GPU")) from exc
    if opts.compile:
        pipe.transformer.compile()
    return pipe
