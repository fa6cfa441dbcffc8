"""A store of test images: one photo-like picture for every entry of content/images.yaml.

The pictures are scikit-image's sample photographs (astronaut, coffee, chelsea, rocket, …),
cropped to each entry's aspect ratio, resized to its exact size, sharpened a little and given a
fine grain, so that they compress like photographs (smooth areas, edges, texture), not like flat
colour or noise. Each is stored with a provenance that says `"test_fixture": true` and
`"model": "test-fixture"`:

- the production build refuses such files (they are never shown as the model's output);
- only `zimage_site.images.catalog.test_images_allowed()` lets them in, which the tests and the
  measuring scripts (scripts/lighthouse.py --fixture-store, scripts/page_heights.py) enter.

The store is never made in the site's images/: it is made once per digest of its inputs under
the site's .cache/fixture-store/ (ignored by git; safe when several test processes ask at once)
and copied into a temporary copy of the site for each use:

    from fixture_store import build_with_fixture_store
    result = build_with_fixture_store(REPO, out_dir, work_dir)   # a BuildResult

Needs scikit-image (a test dependency, in the `test` extra).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from pathlib import Path

MODEL = "test-fixture"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "retina", "hubble_deep_field", "motorcycle")
SITE_PARTS = ("site.yaml", "content", "templates", "static")


def _photo(name: str):
    from skimage import data

    if name == "motorcycle":
        return data.stereo_motorcycle()[0]
    return getattr(data, name)()


def photo_like(width: int, height: int, index: int):
    """A Pillow RGB image of exactly width × height, made from a sample photograph."""
    import numpy as np
    from PIL import Image, ImageFilter

    pixels = _photo(PHOTOS[index % len(PHOTOS)])
    im = Image.fromarray(pixels).convert("RGB")
    # crop to the target aspect ratio, the window shifted a little per index
    target = width / height
    w, h = im.size
    if w / h > target:
        cw, ch = round(h * target), h
    else:
        cw, ch = w, round(w / target)
    shift = (index * 37) % 100 / 100
    left, top = round((w - cw) * shift), round((h - ch) * (1 - shift))
    im = im.crop((left, top, left + cw, top + ch))
    if index % 2:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    im = im.resize((width, height), Image.Resampling.LANCZOS)
    im = im.filter(ImageFilter.UnsharpMask(radius=2, percent=60, threshold=2))
    grain = np.random.default_rng(1000 + index).normal(0, 2.5, (height, width, 1))
    arr = np.clip(np.asarray(im, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


class _FastPNG:
    """A Pillow image that the store saves at PNG's fastest compression level: the same pixels (PNG
    is lossless) in a larger file, in a fraction of the time. The store keeps the bytes it is given."""

    def __init__(self, image) -> None:
        self.image = image

    def save(self, fp, format=None, **params) -> None:  # noqa: A002 (Pillow's name)
        self.image.save(fp, format=format, **{**params, "compress_level": 1})


def make_fixture_store(root: Path, ids: list[str] | None = None) -> list[Path]:
    """Write a test image for every manifest entry of the site at `root` (or only `ids`) into
    root/images/. `root` must be a temporary copy of a site, never the real one."""
    from zimage_site.images.manifest import load_manifest, store_key
    from zimage_site.images.store import Store

    root = Path(root)
    if (root / ".git").exists():
        raise ValueError(f"{root} is a git checkout: the fixture store belongs in a temporary copy")
    manifest = load_manifest(root)
    store = Store(root)
    written = []
    for index, (image_id, spec) in enumerate(manifest.images.items()):
        if ids is not None and image_id not in ids:
            continue
        pixels = spec.pixels()
        key = store_key(pixels, MODEL, "0", "fp32")
        if store.check(image_id, key, decode=False).state == "ok":
            written.append(store.paths(image_id, key)[0])
            continue
        entry = store.write(image_id, key, _FastPNG(photo_like(spec.width, spec.height, index)), {
            **{k: v for k, v in pixels.items() if k != "guidance"},
            "guidance_scale": spec.guidance, "spec": spec.spec_hash, "model": MODEL,
            "model_revision": "0", "dtype": "fp32", "created": "2026-01-01T00:00:00+00:00",
            "test_fixture": True, "source": f"scikit-image sample photograph {PHOTOS[index % len(PHOTOS)]}",
        })
        written.append(entry.png)
    return written


def _digest(root: Path) -> str:
    """The digest of everything the cached store and its variants are made from: the manifest and
    the site's settings, this module, the engine's image code, and the versions of the libraries
    that draw and encode the pictures."""
    from importlib.metadata import version

    import zimage_site.images

    h = hashlib.sha256()
    engine = Path(zimage_site.images.__file__).parent
    for path in (Path(root) / "content/images.yaml", Path(root) / "site.yaml", Path(__file__),
                 *sorted(engine.glob("*.py"))):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("pillow", "numpy", "scikit-image"):
        h.update(f"{package}=={version(package)}\0".encode())
    return h.hexdigest()[:24]


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on `path` (created if need be), held by one process at a time."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cached_store(root: Path) -> Path:
    """The folder of the fixture store made for the site at `root`, with `images/` (the store) and
    `variants/` (the variant cache a build fills from it), under root/.cache/fixture-store/<digest>/.

    Made once per digest of its inputs (`_digest`): the first process takes a lock, builds the
    entry in a private folder and renames it into place; every other process (a parallel test
    worker, a later run) waits for the lock and reuses it. An entry is never changed once there."""
    from zimage_site.images.catalog import test_images_allowed
    from zimage_site.site import build_site

    root = Path(root)
    base = root / ".cache" / "fixture-store"
    base.mkdir(parents=True, exist_ok=True)
    digest = _digest(root)
    entry = base / digest
    if entry.is_dir():
        return entry
    with _locked(base / f"{digest}.lock"):
        if entry.is_dir():  # made by the process that held the lock before
            return entry
        work = base / f".{digest}.{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        site = _copy_sources(root, work / "site")
        make_fixture_store(site)
        with test_images_allowed():  # fills site/.cache/variants/
            build_site(site, work / "out")
        (site / "images").rename(work / "images")
        (site / ".cache" / "variants").rename(work / "variants")
        shutil.rmtree(site)
        shutil.rmtree(work / "out")
        os.rename(work, entry)  # atomic: a reader sees no entry or a whole one
        for old in base.iterdir():  # entries of earlier inputs, and work folders of dead processes
            if old.name != digest and not old.name.endswith(".lock") and not _in_use(old):
                shutil.rmtree(old, ignore_errors=True)
    return entry


def _in_use(folder: Path) -> bool:
    """A work folder of a live process (another digest's maker, still writing)."""
    parts = folder.name.split(".")
    if len(parts) != 3 or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _copy_sources(root: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for part in SITE_PARTS:
        src = Path(root) / part
        if src.is_dir():
            shutil.copytree(src, dest / part, dirs_exist_ok=True)
        elif src.is_file():
            shutil.copy2(src, dest / part)
    return dest


def copy_site(root: Path, dest: Path) -> Path:
    """A copy of the site's sources (no build/) at `dest`, with the fixture store as its images/
    and the variants made from it in its .cache/: a self-contained site folder, copied from the
    cached entry (`cached_store`), so the test images are drawn and encoded once per machine and
    never land in the committed images/."""
    entry = cached_store(root)
    _copy_sources(root, dest)
    shutil.copytree(entry / "images", dest / "images", dirs_exist_ok=True)
    shutil.copytree(entry / "variants", dest / ".cache" / "variants", dirs_exist_ok=True)
    return dest


def build_with_fixture_store(root: Path, out: Path, work: Path, **options):
    """Build the site at `root` into `out` with a test image for every manifest entry; `work` is
    a temporary folder for the copy of the site and its fixture store."""
    from zimage_site.images.catalog import test_images_allowed
    from zimage_site.site import build_site

    site = copy_site(root, Path(work) / "site")
    with test_images_allowed():
        return build_site(site, out, **options)
