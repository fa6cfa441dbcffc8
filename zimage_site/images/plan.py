"""What `zimage-site generate` is asked (`Options`), the images it plans to make (`Planned`) and
what a run returns (`Result`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zimage_site.images.manifest import ImageSpec


@dataclass
class Options:
    root: Path
    manifest: Path | None = None
    model: str | None = None  # a Hugging Face id or a local folder; default: the manifest's model
    revision: str | None = None
    device: str = "auto"  # auto | cuda | cpu
    dtype: str | None = None  # bf16 | fp32; default bf16 on CUDA, fp32 on CPU
    offload: bool = False  # the same as route="model-offload"
    route: str | None = None  # None/"auto": the fastest that fits; or one of routes.ROUTES
    gpu_memory: float | None = None  # GiB of free GPU memory to plan for (default: measured)
    attention: str | None = None
    compile: bool = False
    only: list[str] = field(default_factory=list)
    force: bool = False
    dry_run: bool = False


@dataclass
class Planned:
    index: int
    spec: ImageSpec
    reason: str  # missing | corrupt | forced
    detail: str = ""


@dataclass
class Result:
    generated: int = 0
    skipped: int = 0
    seconds: float = 0.0
    peak_gpu_bytes: int | None = None
    planned: list[Planned] = field(default_factory=list)
