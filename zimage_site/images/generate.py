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

This module is the run (`Generator`: plan, route, the loop and the writer thread); the model's
resolution is model_ref.py, its loading loader.py, `--dry-run`'s report dry_run.py, and the
options and results plan.py. Every failure is a `GenerationError`.
"""

from __future__ import annotations

import datetime as _dt
import platform
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from zimage_site.errors import GenerationError, Problem, Report
from zimage_site.images import routes
from zimage_site.images.dry_run import dry_run
from zimage_site.images.loader import DTYPES, Accel, device_name, import_extra, load_pipeline, pick_device
from zimage_site.images.manifest import ImageSpec, load_manifest, store_key
from zimage_site.images.model_ref import INSTALL_HINT, ModelRef, resolve_model
from zimage_site.images.plan import Options, Planned, Result
from zimage_site.images.store import Store
from zimage_site.images.xmp import ImageLabel

_device_name = device_name  # the name the tests knew

FP16_REFUSAL = Problem(
    "--dtype fp16 is refused: Z-Image overflows in float16 and produces black (NaN) images "
    "(Tongyi-MAI/Z-Image issues #14 and #15)",
    fix="use bf16 (the default on CUDA); on a GPU without bfloat16 (RTX 20xx, V100) use --dtype fp32 "
        "with --offload, or a quantised community build")



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
            raise GenerationError(Problem("there is no image manifest", file=str(shown),
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
            raise GenerationError(Problem(f"--only names unknown image(s): {', '.join(unknown)}", file=manifest.file,
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
            raise GenerationError(FP16_REFUSAL)
        if opts.dtype not in (None, *DTYPES):
            raise GenerationError(Problem(f"unknown --dtype {opts.dtype!r}", fix="use bf16 or fp32"))
        if opts.device not in ("auto", "cuda", "cpu"):
            raise GenerationError(Problem(f"unknown --device {opts.device!r}", fix="use auto, cuda or cpu"))
        forced = self._forced_route()
        if opts.gpu_memory is not None and not opts.gpu_memory > 0:
            raise GenerationError(Problem(f"--gpu-memory {opts.gpu_memory:g}: the free GPU memory must be a positive "
                                    "number of GiB", fix="pass what the card has free, e.g. --gpu-memory 16"))
        manifest = self._load_manifest()
        specs = self._select(manifest)
        model = resolve_model(opts.model or manifest.model, opts.revision)
        store = Store(opts.root)
        if model.test_fixture and not opts.dry_run:
            self._refuse_fixture_in_checkout(store)
        self.producer = self._producer()

        if opts.dry_run:
            return dry_run(self, store, specs, model)

        torch, diffusers = import_extra()
        device = pick_device(torch, opts.device, self.warn)
        accel = Accel(device)
        if accel.state is not None:
            device = str(accel.state.device)
        dtype_name = opts.dtype or ("bf16" if torch.device(device).type == "cuda" else "fp32")
        if forced and torch.device(device).type == "cpu":
            flag = "--offload" if opts.offload else f"--route {forced}"
            raise GenerationError(Problem(f"{flag} needs a GPU: it moves each part of the model to the GPU only "
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
        pipe = load_pipeline(torch, diffusers, model, device, dtype_name, opts, choice.route)
        if model.revision is None and model.source == "hub":  # downloaded just now: the commit is known
            model = resolve_model(model.arg, opts.revision)
        dev_name = device_name(torch, device)
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
            raise GenerationError(Problem(f"unknown --route {route!r}", fix="use auto, " + ", ".join(routes.ROUTES)))
        if self.opts.offload:
            if route not in (None, "model-offload"):
                raise GenerationError(Problem(f"--offload and --route {route} contradict each other",
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
        where = "--gpu-memory" if self.opts.gpu_memory is not None else device_name(torch, device)
        return routes.Choice(choice.route, f"{choice.reason}; estimate for {size}, {dtype}, free memory of "
                                           f"{where}", choice.forced)

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
                raise GenerationError(Problem(
                    "this model is the tiny test pipeline (random weights, its images are noise); it only "
                    f"writes into temporary folders, never into a git checkout ({parent})",
                    fix="pass --root with a temporary folder, or --model with the real Z-Image-Turbo"))

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
                        raise GenerationError(Problem(
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
