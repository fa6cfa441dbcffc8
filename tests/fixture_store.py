"""A store of test images: one photo-like picture for every entry of content/images.yaml.

The pictures are scikit-image's sample photographs (astronaut, coffee, chelsea, rocket, …),
cropped to each entry's aspect ratio, resized to its exact size, sharpened a little and given a
fine grain, so that they compress like photographs (smooth areas, edges, texture), not like flat
colour or noise. Each is stored with a provenance that says `"test_fixture": true` and
`"model": "test-fixture"`:

- the production build refuses such files (they are never shown as the model's output);
- only `zimage_site.images.catalog.test_images_allowed()` lets them in, which the tests and the
  measuring scripts (scripts/lighthouse.py --fixture-store, scripts/page_heights.py) enter.

The store is always made in a temporary folder, never in the site's images/:

    from fixture_store import build_with_fixture_store
    result = build_with_fixture_store(REPO, out_dir, work_dir)   # a BuildResult

Needs scikit-image (a test dependency, in the `test` extra).
"""

from __future__ import annotations

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
        entry = store.write(image_id, key, photo_like(spec.width, spec.height, index), {
            **{k: v for k, v in pixels.items() if k != "guidance"},
            "guidance_scale": spec.guidance, "spec": spec.spec_hash, "model": MODEL,
            "model_revision": "0", "dtype": "fp32", "created": "2026-01-01T00:00:00+00:00",
            "test_fixture": True, "source": f"scikit-image sample photograph {PHOTOS[index % len(PHOTOS)]}",
        })
        written.append(entry.png)
    return written


def copy_site(root: Path, dest: Path) -> Path:
    """A copy of the site's sources (no images/, no build/) at `dest`. Its store and its variant
    cache live in the real site's .cache/ (ignored by git): `images` links to
    .cache/fixture-store/, `.cache` to .cache/, so the test images are drawn and encoded once per
    machine, and never land in the committed images/."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in SITE_PARTS:
        src = Path(root) / part
        if src.is_dir():
            shutil.copytree(src, dest / part, dirs_exist_ok=True)
        elif src.is_file():
            shutil.copy2(src, dest / part)
    cache = Path(root) / ".cache"
    cache.mkdir(exist_ok=True)
    store = cache / "fixture-store"
    store.mkdir(exist_ok=True)
    for name, target in ((".cache", cache), ("images", store)):
        if not (dest / name).exists():
            (dest / name).symlink_to(target.resolve(), target_is_directory=True)
    return dest


def build_with_fixture_store(root: Path, out: Path, work: Path, **options):
    """Build the site at `root` into `out` with a test image for every manifest entry; `work` is
    a temporary folder for the copy of the site and its fixture store."""
    from zimage_site.images.catalog import test_images_allowed
    from zimage_site.site import build_site

    site = copy_site(root, Path(work) / "site")
    make_fixture_store(site)
    with test_images_allowed():
        return build_site(site, out, **options)
