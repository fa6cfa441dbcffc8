"""`zimage-site generate`: make the images the store lacks with diffusers' `ZImagePipeline`.

torch, diffusers, transformers and accelerate (the optional extra `generate`) are imported here,
inside functions, only when generation runs; the rest of the site never imports them.

Before the weights are loaded, the route (the whole pipeline on the GPU, model CPU offload or
sequential CPU offload) is chosen from `routes.py`'s memory estimate and the free memory of the
GPU. One model load per run; one image per pipeline call; a seeded CPU `torch.Generator` so that the
initial noise is the same on every device. Each finished image is handed to a writer thread (PNG
encoding, SHA-256, atomic writes of the image and then its provenance) while the GPU makes the
next one. The PNG carries the image's AI-content labels in XMP (`xmp.ImageLabel`; the producer
from site.yaml's `aigc:` block). Under `accelerate launch` the pending images are split between the processes with
`PartialState().split_between_processes`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import re
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from zimage_site.errors import Problem, Report, SiteError
from zimage_site.images import routes
from zimage_site.images.manifest import DEFAULT_MODEL, ImageSpec, load_manifest, store_key
from zimage_site.images.store import Store
from zimage_site.images.xmp import ImageLabel

INSTALL_HINT = ("pip install torch (the build for your platform: https://pytorch.org/get-started/locally/), "
                "then pip install '.[generate]' in the zimage-site folder")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
TINY_MARKER = "zimage-site-tiny-test-pipeline"  # see tests/tiny_pipeline.py
DTYPES = {"bf16": "bfloat16", "fp32": "float32"}
FP16_REFUSAL = Problem(
    "--dtype fp16 is refused: Z-Image overflows in float16 and produces black (NaN) images "
    "(Tongyi-MAI/Z-Image issues #14 and #15)",
    fix="use bf16 (the default on CUDA); on a GPU without bfloat16 (RTX 20xx, V100) use --dtype fp32 "
        "with --offload, or a quantised community build")


def _download_hint(model: str) -> str:
    folder = "./" + model.rsplit("/", 1)[-1]
    return (f"download the weights (about 20 GB) where the Hugging Face Hub is reachable: "
            f"hf download {model} --local-dir {folder}  (older huggingface_hub: huggingface-cli download "
            f"{model} --local-dir {folder}), then run zimage-site generate --model {folder}")


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
class ModelRef:
    arg: str
    name: str  # what the provenance records
    local: Path | None
    revision: str | None
    source: str  # "hub" or "local folder"
    test_fixture: bool = False
    snapshot: Path | None = None  # a Hub model's folder in the local cache, once downloaded
    missing: str = ""  # why a Hub model's revision is not known yet (not downloaded)

    @property
    def config_dir(self) -> Path | None:
        return self.local or self.snapshot


def _cached_revisions(model: str) -> list[str]:
    """The branches and tags of a Hub model the local cache has (refs/…), for messages."""
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:
        return []
    refs = Path(HF_HUB_CACHE) / ("models--" + model.replace("/", "--")) / "refs"
    try:
        return sorted(p.relative_to(refs).as_posix() for p in refs.rglob("*") if p.is_file())
    except OSError:
        return []


def _lookup_snapshot(model: str, revision: str | None) -> tuple[Path | None, str]:
    """The cached snapshot of a Hub model, without the network: (folder, "") when it is on this
    machine, (None, why) when it has not been downloaded yet. Any other failure (a broken cache, a
    cache that cannot be read) is an error that names the model and keeps its cause."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:  # without the extra, nothing can be downloaded either: said when loading
        return None, "huggingface_hub is not installed"
    try:
        return Path(snapshot_download(model, revision=revision, local_files_only=True)), ""
    except LocalEntryNotFoundError:
        cached = _cached_revisions(model)
        if revision and cached:
            return None, (f"revision {revision} not downloaded yet (this machine has {', '.join(cached)}; "
                          "a branch, tag or commit that does not exist fails when loading)")
        return None, "not downloaded yet" + (f" (revision {revision})" if revision else "")
    except Exception as exc:  # noqa: BLE001 - anything else is reported, with its cause
        what = f"revision {revision} of {model}" if revision else model
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise SiteError(Problem(
            f"could not look up {what} in the local Hugging Face cache ({exc.__class__.__name__}: {first})",
            fix="check --model and --revision; if the cache is damaged, delete the model's folder "
                f"models--{model.replace('/', '--')} in the cache (HF_HUB_CACHE, by default "
                "~/.cache/huggingface/hub) and download it again")) from exc


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


# --------------------------------------------------------------------------- the model

def _fingerprint(folder: Path) -> str:
    """A cheap, machine-independent fingerprint of a model folder: every file's path and size, and
    the SHA-256 of its first and last 64 KiB (safetensors headers name and size every tensor)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".cache" not in p.relative_to(folder).parts):
        size = path.stat().st_size
        h.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        with open(path, "rb") as f:
            h.update(f.read(65536))
            if size > 131072:
                f.seek(-65536, os.SEEK_END)
                h.update(f.read(65536))
    return "sha256:" + h.hexdigest()[:16]


def resolve_model(arg: str, revision: str | None = None) -> ModelRef:
    """Work out what --model names, without importing torch: a local folder or a Hub id, and its
    revision where it can be known (a Hub snapshot's commit, the commit an `hf download
    --local-dir` recorded, else a fingerprint of the folder)."""
    path = Path(arg).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise SiteError(Problem(f"{arg} is a folder, but not a diffusers model (it has no model_index.json)",
                                    fix="point --model at the folder `hf download Tongyi-MAI/Z-Image-Turbo "
                                        "--local-dir …` wrote, or at a Hugging Face id"))
        resolved = path.resolve()
        name, rev = resolved.name, None
        if resolved.parent.name == "snapshots" and resolved.parent.parent.name.startswith("models--"):
            name = resolved.parent.parent.name[len("models--"):].replace("--", "/")
            rev = resolved.name
        meta = resolved / ".cache" / "huggingface" / "download" / "model_index.json.metadata"
        if rev is None and meta.is_file():
            first = meta.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0].strip()
            rev = first or None
        if rev is None:
            rev = _fingerprint(resolved)
        return ModelRef(arg, name, resolved, rev, "local folder", (resolved / TINY_MARKER).exists())
    if not _HUB_ID.match(arg):
        raise SiteError(Problem(f"the model folder {arg} does not exist",
                                fix="check the path, or pass a Hugging Face id such as " + DEFAULT_MODEL))
    snapshot, missing = _lookup_snapshot(arg, revision)
    rev = snapshot.name if snapshot is not None else None
    if rev is None and revision and re.fullmatch(r"[0-9a-f]{40}", revision):
        rev = revision  # a full commit hash is the revision, downloaded or not
    return ModelRef(arg, arg, None, rev, "hub", snapshot=snapshot, missing=missing)


def _load_error(exc: BaseException, model: ModelRef, revision: str | None) -> SiteError:
    """What went wrong loading the model, for the user: a revision or model id that does not exist,
    a gated model, or weights that are neither on this machine nor downloadable."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    if model.local is not None:
        return SiteError(Problem(f"could not load the model from {model.local}: {first}",
                                 fix="check that the folder is a complete download of the model"))
    chain, seen = [], exc
    while seen is not None and len(chain) < 10:
        chain.append(seen.__class__.__name__)
        seen = seen.__cause__ or seen.__context__
    if "RevisionNotFoundError" in chain:
        return SiteError(Problem(f"--revision {revision}: {model.name} has no branch, tag or commit of that name",
                                 fix="pass a branch, tag or commit listed on the model's 'Files and versions' "
                                     "page, or leave out --revision to use main"))
    if "GatedRepoError" in chain:
        return SiteError(Problem(f"--model {model.name}: the model is gated and this machine is not allowed to "
                                 "download it", fix="accept its terms on huggingface.co and log in: hf auth login"))
    if "RepositoryNotFoundError" in chain:
        return SiteError(Problem(f"--model {model.name}: there is no such model on the Hugging Face Hub (or it is "
                                 "private)", fix=f"check the id (the page's model is {DEFAULT_MODEL}), or log in "
                                                 "with hf auth login for a private one"))
    what = f"revision {revision} of {model.name}" if revision else model.name
    return SiteError(Problem(f"the weights of {what} are not on this machine and could not be downloaded "
                             f"({exc.__class__.__name__}: {first})",
                             fix=_download_hint(model.name) + "; or point --model at a folder"))


def _import_extra():
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise SiteError(Problem("image generation needs PyTorch, which is not installed",
                                fix=INSTALL_HINT)) from exc
    try:
        import diffusers
        import transformers  # noqa: F401
    except ImportError as exc:
        raise SiteError(Problem(f"image generation needs the optional extra 'generate' ({exc.name} is missing)",
                                fix=INSTALL_HINT)) from exc
    if not hasattr(diffusers, "ZImagePipeline"):
        raise SiteError(Problem(f"diffusers {diffusers.__version__} has no ZImagePipeline",
                                fix="pip install -U '.[generate]' (diffusers 0.36 or newer)"))
    import torch

    return torch, diffusers


def _device_name(torch, device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} {torch.cuda.get_device_name(index)}"
    if device.type == "cpu":
        return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    return str(device)


class _Accel:
    """Process layout: a single process, or the processes of `accelerate launch`."""

    def __init__(self, device: str):
        self.state = None
        self.index, self.count = 0, 1
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        if world > 1:
            try:
                from accelerate import PartialState
            except ImportError as exc:
                raise SiteError(Problem("accelerate launch needs the accelerate package", fix=INSTALL_HINT)) from exc
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


# --------------------------------------------------------------------------- the run

class Generator:
    def __init__(self, opts: Options, out: Callable[[str], None] | None = None,
                 warn: Callable[[Problem], None] | None = None):
        self.opts = opts
        self.out = out or (lambda s: print(s, flush=True))
        self.warn = warn or (lambda p: print(p.format("warning"), file=sys.stderr, flush=True))
        self.producer = ""  # the labels' ContentProducer (site.yaml), set by run()

    # -------------------------------------------------------------- planning

    def _load_manifest(self):
        root = self.opts.root
        manifest = load_manifest(root, self.opts.manifest)
        if manifest is None:
            shown = self.opts.manifest or (root / "content/images.yaml")
            raise SiteError(Problem("there is no image manifest", file=str(shown),
                                    fix="create content/images.yaml (see docs/images.md), or pass --root/--manifest"))
        return manifest

    def _select(self, manifest) -> list[ImageSpec]:
        if not self.opts.only:
            return list(manifest.images.values())
        wanted: list[str] = []
        unknown = []
        for name in self.opts.only:
            if name in manifest.images:
                wanted.append(name)
            elif name in manifest.sets:
                wanted.extend(manifest.sets[name].image_ids)
            else:
                unknown.append(name)
        if unknown:
            raise SiteError(Problem(f"--only names unknown image(s): {', '.join(unknown)}", file=manifest.file,
                                    fix="use image ids or comparison set ids from the manifest "
                                        "(zimage-site generate --dry-run --force lists them all)"))
        return [manifest.images[i] for i in dict.fromkeys(wanted)]

    def _classify(self, store: Store, spec: ImageSpec, model: ModelRef, dtype: str) -> tuple[str, str]:
        if model.revision:
            key = store_key(spec.pixels(), model.name, model.revision, dtype)
            status = store.check(spec.id, key)
            if status.state == "missing" and store.entries_for(spec.id):
                return "missing", "the stored version was made with other settings or another model revision"
            if status.state == "ok" and self.opts.force:
                return "forced", ""
            return status.state, status.detail
        # The revision is not known before the weights are downloaded: match what is known.
        entry, notes = store.find(spec.id, spec.spec_hash)
        if entry is not None and entry.provenance.get("model") == model.name \
                and entry.provenance.get("dtype") == dtype:
            return ("forced", "") if self.opts.force else ("ok", "")
        if notes:
            return "corrupt", notes[0]
        return "missing", ""

    def plan(self, store: Store, specs: list[ImageSpec], model: ModelRef, dtype: str) -> tuple[list[Planned], int]:
        planned, present = [], 0
        for spec in specs:
            state, detail = self._classify(store, spec, model, dtype)
            if state == "ok":
                present += 1
            else:
                planned.append(Planned(len(planned) + 1, spec, state, detail))
        return planned, present

    # -------------------------------------------------------------- running

    def run(self) -> Result:
        opts = self.opts
        if opts.dtype == "fp16":
            raise SiteError(FP16_REFUSAL)
        if opts.dtype not in (None, *DTYPES):
            raise SiteError(Problem(f"unknown --dtype {opts.dtype!r}", fix="use bf16 or fp32"))
        if opts.device not in ("auto", "cuda", "cpu"):
            raise SiteError(Problem(f"unknown --device {opts.device!r}", fix="use auto, cuda or cpu"))
        forced = self._forced_route()
        if opts.gpu_memory is not None and not opts.gpu_memory > 0:
            raise SiteError(Problem(f"--gpu-memory {opts.gpu_memory:g}: the free GPU memory must be a positive "
                                    "number of GiB", fix="pass what the card has free, e.g. --gpu-memory 16"))
        manifest = self._load_manifest()
        specs = self._select(manifest)
        model = resolve_model(opts.model or manifest.model, opts.revision)
        store = Store(opts.root)
        if model.test_fixture and not opts.dry_run:
            self._refuse_fixture_in_checkout(store)
        self.producer = self._producer()

        if opts.dry_run:
            return self._dry_run(store, specs, model)

        torch, diffusers = _import_extra()
        device = self._pick_device(torch)
        accel = _Accel(device)
        if accel.state is not None:
            device = str(accel.state.device)
        dtype_name = opts.dtype or ("bf16" if torch.device(device).type == "cuda" else "fp32")
        if forced and torch.device(device).type == "cpu":
            flag = "--offload" if opts.offload else f"--route {forced}"
            raise SiteError(Problem(f"{flag} needs a GPU: it moves each part of the model to the GPU only "
                                    "while it runs", fix=f"remove {flag}, or run on a machine with a CUDA GPU"))
        if accel.count == 1:
            store.remove_temporary()

        started = time.perf_counter()
        planned, present = self.plan(store, specs, model, dtype_name)
        result = Result(skipped=present, planned=planned)
        if not planned:
            if accel.main:
                self.out(f"nothing to generate: all {present} selected images are in the store")
            return result

        choice = self._choose_route(torch, model, planned, device, dtype_name, forced)
        if accel.main and choice.route != "cpu":
            self.out(f"route: {choice.route}, {routes.ROUTE_TEXT[choice.route]} ({choice.reason})")
        pipe = self._load(torch, diffusers, model, device, dtype_name, choice.route)
        if model.revision is None and model.source == "hub":  # downloaded just now: the commit is known
            model = resolve_model(model.arg, opts.revision)
        dev_name = _device_name(torch, device)
        steps = sorted({p.spec.steps for p in planned})
        steps_text = f"{steps[0]} steps" if len(steps) == 1 else f"{steps[0]}–{steps[-1]} steps"
        if accel.main:
            procs = f", {accel.count} processes" if accel.count > 1 else ""
            self.out(f"generating {len(planned)} image{'s' if len(planned) != 1 else ''} with {model.name} "
                     f"({dtype_name}, {dev_name}, {steps_text}{procs})")

        mine = accel.split(planned)
        generated, peak = self._generate(torch, pipe, store, model, mine, len(planned), device, dtype_name, dev_name,
                                         choice.route)
        gathered = accel.gather((generated, peak))
        accel.wait()
        result.generated = sum(g for g, _ in gathered)
        peaks = [p for _, p in gathered if p is not None]
        result.peak_gpu_bytes = max(peaks) if peaks else None
        result.seconds = time.perf_counter() - started
        if accel.main:
            self.out(self.summary(result))
        return result

    @staticmethod
    def summary(result: Result) -> str:
        mem = (f"peak GPU memory {result.peak_gpu_bytes / 2**30:.1f} GiB" if result.peak_gpu_bytes is not None
               else "no GPU used")
        return (f"generated {result.generated}, skipped {result.skipped} (already in the store), "
                f"{result.seconds:.1f} s, {mem}")

    # -------------------------------------------------------------- routes

    def _forced_route(self) -> str | None:
        """The route --route/--offload asks for, None for the automatic choice."""
        route = self.opts.route if self.opts.route not in (None, "auto") else None
        if route is not None and route not in routes.ROUTES:
            raise SiteError(Problem(f"unknown --route {route!r}", fix="use auto, " + ", ".join(routes.ROUTES)))
        if self.opts.offload:
            if route not in (None, "model-offload"):
                raise SiteError(Problem(f"--offload and --route {route} contradict each other",
                                        fix="--offload means --route model-offload; pass only one of them"))
            route = "model-offload"
        return route

    @staticmethod
    def _sizes(planned: list[Planned]) -> list[tuple[int, int, float]]:
        return [(p.spec.width, p.spec.height, p.spec.guidance) for p in planned]

    def _estimate(self, model: ModelRef, planned: list[Planned], dtype: str):
        configs, source = routes.model_configs(model.config_dir)
        return routes.estimate_for(self._sizes(planned), dtype if dtype in routes.DTYPE_BYTES else "bf16",
                                   configs), source

    def _choose_route(self, torch, model: ModelRef, planned: list[Planned], device: str, dtype: str,
                      forced: str | None) -> routes.Choice:
        if torch.device(device).type != "cuda":
            return routes.Choice("cpu", "no GPU")
        est, _ = self._estimate(model, planned, dtype)
        if self.opts.gpu_memory is not None:
            free = int(self.opts.gpu_memory * routes.GIB)
        else:
            free, _total = torch.cuda.mem_get_info(torch.device(device))
        choice = routes.choose(est, free, forced)
        size = f"{est.width}×{est.height}" + (", batch 2" if est.batch == 2 else "")
        where = "--gpu-memory" if self.opts.gpu_memory is not None else _device_name(torch, device)
        return routes.Choice(choice.route, f"{choice.reason}; estimate for {size}, {dtype}, free memory of "
                                           f"{where}", choice.forced)

    def _dry_run(self, store: Store, specs: list[ImageSpec], model: ModelRef) -> Result:
        opts = self.opts
        forced = self._forced_route()
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
            free_note = f"{routes.gib(free)} on {_device_name(torch, 'cuda')}"
        planned, present = self.plan(store, specs, model, dtype)
        rev = model.revision or f"{model.missing or 'not downloaded yet'}: revision known after the download"
        self.out(f"would generate {len(planned)} of {len(specs)} images with {model.name} ({dtype}, {rev}):")
        if planned:
            width = max(len(p.spec.id) for p in planned)
            for p in planned:
                why = p.reason + (f": {p.detail}" if p.detail else "")
                size = f"{p.spec.width}×{p.spec.height}"
                self.out(f"  {p.spec.id:<{width}}  {size:<9}  seed {p.spec.seed:<9}  {why}")
        self.out(f"{present} already in the store.")
        gpu_dtype = opts.dtype if opts.dtype in routes.DTYPE_BYTES else "bf16"
        est, source = self._estimate(model, planned or [Planned(0, s, "") for s in specs], gpu_dtype)
        for line in routes.table(est, source):
            self.out(line)
        self.out("routes by free GPU memory: " + ", ".join(
            f"{name} from {routes.gib(est.routes[name].needed_bytes)}" for name in routes.ROUTES))
        if free is None:
            self.out(f"free GPU memory: unknown ({free_note}); pass --gpu-memory GB to plan for a card")
        else:
            self.out(f"free GPU memory: {free_note}")
        if free is not None or forced:
            choice = routes.choose(est, free, forced)
            self.out(f"route: {choice.route}, {routes.ROUTE_TEXT[choice.route]} ({choice.reason})")
        elif not gpu_plan:
            self.out(f"route: cpu (this run would use the CPU: {free_note})")
        else:
            self.out("route: chosen when the run starts, from the free memory of the GPU")
        return Result(skipped=present, planned=planned)

    def _producer(self) -> str:
        """The ContentProducer of the labels written into the master PNGs: site.yaml's
        `aigc.producer` (an error when site.yaml has no `aigc:` block); empty for a store folder
        without site.yaml."""
        from zimage_site.config import CONFIG_FILE, load_aigc

        if not (self.opts.root / CONFIG_FILE).exists():
            return ""
        return load_aigc(self.opts.root).producer

    def _refuse_fixture_in_checkout(self, store: Store) -> None:
        folder = store.dir.resolve()
        for parent in (folder, *folder.parents):
            if (parent / ".git").exists():
                raise SiteError(Problem(
                    "this model is the tiny test pipeline (random weights, its images are noise); it only "
                    f"writes into temporary folders, never into a git checkout ({parent})",
                    fix="pass --root with a temporary folder, or --model with the real Z-Image-Turbo"))

    def _pick_device(self, torch) -> str:
        want = self.opts.device
        cuda = torch.cuda.is_available()
        if want == "cuda" and not cuda:
            build = "a CPU-only build" if getattr(torch.version, "cuda", None) is None else f"CUDA {torch.version.cuda}"
            raise SiteError(Problem(f"--device cuda, but PyTorch ({torch.__version__}, {build}) sees no CUDA GPU",
                                    fix="install the CUDA build of torch for your driver, or use --device cpu (slow)"))
        if want == "cuda" or (want == "auto" and cuda):
            return "cuda"
        self.warn(Problem("generating on the CPU: expect minutes per 1024×1024 image with the real model "
                          "(float32 by default)",
                          fix="use a machine with an NVIDIA GPU for the real images"))
        return "cpu"

    def _load(self, torch, diffusers, model: ModelRef, device: str, dtype_name: str, route: str | None = None):
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
        if model.local is None and self.opts.revision:
            kwargs["revision"] = self.opts.revision
        target = str(model.local) if model.local is not None else model.name
        try:
            pipe = diffusers.ZImagePipeline.from_pretrained(target, **kwargs)
        except Exception as exc:  # hub errors, missing files, broken configs
            raise _load_error(exc, model, self.opts.revision) from exc
        pipe.set_progress_bar_config(disable=True)
        route = route or ("model-offload" if self.opts.offload else "gpu")
        if route == "model-offload":
            pipe.enable_model_cpu_offload(device=device)
        elif route == "sequential-offload":
            pipe.enable_sequential_cpu_offload(device=device)
        else:
            pipe.to(device)
        if self.opts.attention:
            try:
                pipe.transformer.set_attention_backend(self.opts.attention)
            except (ValueError, ImportError, RuntimeError, AttributeError) as exc:
                raise SiteError(Problem(
                    f"the attention backend {self.opts.attention!r} cannot be used here: "
                    f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__}",
                    fix="use native (PyTorch SDPA, always available); flash needs the flash-attn package, "
                        "_flash_3 FlashAttention 3 on a Hopper GPU")) from exc
        if self.opts.compile:
            pipe.transformer.compile()
        return pipe

    def _generate(self, torch, pipe, store: Store, model: ModelRef, mine: list[Planned], total: int,
                  device: str, dtype_name: str, dev_name: str, route: str | None = None) -> tuple[int, int | None]:
        import diffusers
        import transformers

        try:
            import accelerate

            accelerate_version = accelerate.__version__
        except ImportError:  # pragma: no cover
            accelerate_version = None
        from zimage_site import __version__

        libraries = {"torch": torch.__version__, "diffusers": diffusers.__version__,
                     "transformers": transformers.__version__, "accelerate": accelerate_version,
                     "python": platform.python_version(), "zimage_site": __version__}
        cuda = torch.device(device).type == "cuda"
        route = route or ("cpu" if not cuda else "model-offload" if self.opts.offload else "gpu")
        forwards = [0]
        hook = None
        if not self.opts.compile:  # a Python hook would break the compiled graph
            hook = pipe.transformer.register_forward_pre_hook(lambda *_: forwards.__setitem__(0, forwards[0] + 1))
        width_id = max(len(p.spec.id) for p in mine) if mine else 0
        width_n = len(str(total))
        peak_all: int | None = None
        generated = 0
        pending: list[Future] = []
        try:
            with ThreadPoolExecutor(max_workers=1) as writer:
                for item in mine:
                    spec = item.spec
                    if cuda:
                        torch.cuda.synchronize()
                        torch.cuda.reset_peak_memory_stats()
                    forwards[0] = 0
                    t0 = time.perf_counter()
                    try:
                        image = pipe(
                            prompt=spec.prompt, height=spec.height, width=spec.width,
                            num_inference_steps=spec.steps, guidance_scale=spec.guidance,
                            generator=torch.Generator("cpu").manual_seed(spec.seed),
                        ).images[0]
                    except torch.cuda.OutOfMemoryError as exc:
                        slower = routes.ROUTES[routes.ROUTES.index(route) + 1:] if route in routes.ROUTES else ()
                        hint = (f"try --route {slower[0]} (" + routes.ROUTE_TEXT[slower[0]] + ")" if slower
                                else "try a smaller size, or a GPU with more memory")
                        raise SiteError(Problem(
                            f"the GPU ran out of memory generating {spec.id} ({spec.width}×{spec.height}) "
                            f"with the route {route}",
                            fix=hint + "; the images already made are kept, a new run resumes")) from exc
                    if cuda:
                        torch.cuda.synchronize()
                    seconds = time.perf_counter() - t0
                    peak = torch.cuda.max_memory_allocated() if cuda else None
                    if peak is not None:
                        peak_all = max(peak_all or 0, peak)
                    key = store_key(spec.pixels(), model.name, model.revision, dtype_name)
                    prov = {
                        "prompt": spec.prompt, "seed": spec.seed, "steps": spec.steps,
                        "guidance_scale": spec.guidance, "width": spec.width, "height": spec.height,
                        "spec": spec.spec_hash,
                        "model": model.name, "model_revision": model.revision, "model_source": model.source,
                        "pipeline": type(pipe).__name__, "dtype": dtype_name, "device": dev_name,
                        "attention": self.opts.attention or "default", "compiled": self.opts.compile,
                        "route": route,
                        "offload": route in ("model-offload", "sequential-offload"),
                        "transformer_forwards": forwards[0] if hook is not None else None,
                        "generator": f"torch.Generator('cpu').manual_seed({spec.seed})",
                        "libraries": libraries,
                        "seconds": round(seconds, 3),
                        "peak_gpu_memory_bytes": peak,
                        "peak_gpu_memory_gib": round(peak / 2**30, 2) if peak is not None else None,
                        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                        "test_fixture": model.test_fixture,
                    }
                    xmp = ImageLabel.from_provenance({**prov, "id": spec.id, "key": key},
                                                     self.producer).packet()
                    if cuda:  # overlap the PNG encoding and writes with the next image on the GPU
                        pending.append(writer.submit(self._write, store, spec.id, key, image, prov, xmp))
                    else:  # on the CPU a writer thread would only compete with torch's threads
                        self._write(store, spec.id, key, image, prov, xmp)
                    generated += 1
                    size = f"{spec.width}×{spec.height}"
                    self.out(f"[{item.index:>{width_n}}/{total}] {spec.id:<{width_id}}  {size:<9}  "
                             f"seed {spec.seed:<8} {seconds:5.1f} s")
                    done = [f for f in pending if f.done()]
                    for f in done:
                        f.result()  # surface write errors early
                        pending.remove(f)
                for f in pending:
                    f.result()
        finally:
            if hook is not None:
                hook.remove()
        return generated, peak_all

    @staticmethod
    def _write(store: Store, image_id: str, key: str, image, prov: dict, xmp: bytes | None = None) -> None:
        store.write(image_id, key, image, prov, xmp=xmp)
        store.remove_others(image_id, key)


def generate(opts: Options, out: Callable[[str], None] | None = None,
             warn: Callable[[Problem], None] | None = None) -> Result:
    return Generator(opts, out, warn).run()


def generate_missing(root: Path, report: Report) -> None:
    """For `zimage-site build --generate`: generate what the store lacks when the extra and a CUDA
    GPU are available; otherwise say why not (a warning) and let the build go on."""
    try:
        import diffusers  # noqa: F401
        import torch
    except ImportError:
        report.warn(Problem("--generate: the images were not generated, the optional extra 'generate' "
                            "is not installed", fix=INSTALL_HINT))
        return
    if not torch.cuda.is_available():
        report.warn(Problem("--generate: the images were not generated, PyTorch sees no CUDA GPU",
                            fix="run zimage-site generate on a machine with an NVIDIA GPU "
                                "(or zimage-site generate --device cpu, which is very slow)"))
        return
    generate(Options(root=Path(root)), warn=report.warn)
