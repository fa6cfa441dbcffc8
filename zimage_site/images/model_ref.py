"""Which model `zimage-site generate` runs: a Hugging Face id or a local diffusers folder, its
revision and a fingerprint of its files (`resolve_model`), and the error a failed load gives
(`load_error`: not downloaded, gated, unknown, no such revision). Imports nothing heavy."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from zimage_site.errors import GenerationError, Problem
from zimage_site.images.manifest import DEFAULT_MODEL

INSTALL_HINT = ("pip install torch (the build for your platform: https://pytorch.org/get-started/locally/), "
                "then pip install '.[generate]' in the zimage-site folder")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
TINY_MARKER = "zimage-site-tiny-test-pipeline"  # see tests/tiny_pipeline.py


def _download_hint(model: str) -> str:
    folder = "./" + model.rsplit("/", 1)[-1]
    return (f"download the weights (about 20 GB) where the Hugging Face Hub is reachable: "
            f"hf download {model} --local-dir {folder}  (older huggingface_hub: huggingface-cli download "
            f"{model} --local-dir {folder}), then run zimage-site generate --model {folder}")


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
        raise GenerationError(Problem(
            f"could not look up {what} in the local Hugging Face cache ({exc.__class__.__name__}: {first})",
            fix="check --model and --revision; if the cache is damaged, delete the model's folder "
                f"models--{model.replace('/', '--')} in the cache (HF_HUB_CACHE, by default "
                "~/.cache/huggingface/hub) and download it again")) from exc



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
            raise GenerationError(Problem(f"{arg} is a folder, but not a diffusers model (it has no model_index.json)",
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
        raise GenerationError(Problem(f"the model folder {arg} does not exist",
                                fix="check the path, or pass a Hugging Face id such as " + DEFAULT_MODEL))
    snapshot, missing = _lookup_snapshot(arg, revision)
    rev = snapshot.name if snapshot is not None else None
    if rev is None and revision and re.fullmatch(r"[0-9a-f]{40}", revision):
        rev = revision  # a full commit hash is the revision, downloaded or not
    return ModelRef(arg, arg, None, rev, "hub", snapshot=snapshot, missing=missing)


def load_error(exc: BaseException, model: ModelRef, revision: str | None) -> GenerationError:
    """What went wrong loading the model, for the user: a revision or model id that does not exist,
    a gated model, or weights that are neither on this machine nor downloadable."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    if model.local is not None:
        return GenerationError(Problem(f"could not load the model from {model.local}: {first}",
                                 fix="check that the folder is a complete download of the model"))
    chain, seen = [], exc
    while seen is not None and len(chain) < 10:
        chain.append(seen.__class__.__name__)
        seen = seen.__cause__ or seen.__context__
    if "RevisionNotFoundError" in chain:
        return GenerationError(Problem(f"--revision {revision}: {model.name} has no branch, tag or commit of that name",
                                 fix="pass a branch, tag or commit listed on the model's 'Files and versions' "
                                     "page, or leave out --revision to use main"))
    if "GatedRepoError" in chain:
        return GenerationError(Problem(f"--model {model.name}: the model is gated and this machine is not allowed to "
                                 "download it", fix="accept its terms on huggingface.co and log in: hf auth login"))
    if "RepositoryNotFoundError" in chain:
        return GenerationError(Problem(f"--model {model.name}: there is no such model on the Hugging Face Hub (or it is "
                                 "private)", fix=f"check the id (the page's model is {DEFAULT_MODEL}), or log in "
                                                 "with hf auth login for a private one"))
    what = f"revision {revision} of {model.name}" if revision else model.name
    return GenerationError(Problem(f"the weights of {what} are not on this machine and could not be downloaded "
                             f"({exc.__class__.__name__}: {first})",
                             fix=_download_hint(model.name) + "; or point --model at a folder"))
