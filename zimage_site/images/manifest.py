"""The image manifest, `content/images.yaml`: every image the page shows and how it is made.

The file is validated with `zimage_site.yamlfile` like the site configuration: unknown keys, wrong
types, missing values, duplicate ids, unknown set references, sizes that are not multiples of 16,
and comparison sets whose images differ in anything but the varied parameter are all reported
together, each with its file, line and key.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from zimage_site.errors import ImageError, Report
from zimage_site.yamlfile import Field, Validation, load_yaml, validate_mapping

MANIFEST = "content/images.yaml"
DEFAULT_MODEL = "Tongyi-MAI/Z-Image-Turbo"
# Z-Image-Turbo's schedule: 8 steps without classifier-free guidance (the one place of these defaults)
DEFAULTS = {"steps": 8, "guidance": 0.0}

# What a comparison set may vary, and the manifest fields each name covers.
VARIES = {
    "steps": ("steps",),
    "guidance": ("guidance",),
    "resolution": ("width", "height"),
    "prompt": ("prompt",),
    "seed": ("seed",),
}
# The fields that change the pixels (besides the model and dtype).
PIXEL_FIELDS = ("prompt", "seed", "width", "height", "steps", "guidance")

_CJK_PROMPT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")  # a prompt holding Chinese may have prompt_en
_ID_RE = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")


def _check_id(value: str) -> str | None:
    if not _ID_RE.match(value):
        return f"{value!r} is not a valid id (lowercase letters and digits, joined by single hyphens or dots)"
    return None


def _check_size(value: int) -> str | None:
    if value % 16:
        return f"{value} is not a multiple of 16 (Z-Image works on 16-pixel blocks)"
    if not 64 <= value <= 2048:
        return f"{value} is out of range (64 to 2048 pixels)"
    return None


def _check_steps(value: int) -> str | None:
    return None if 1 <= value <= 100 else f"{value} is out of range (1 to 100 steps)"


def _check_seed(value: int) -> str | None:
    return None if 0 <= value < 2**63 else f"{value} is out of range (0 to 2^63-1)"


def _check_guidance(value: float) -> str | None:
    return None if 0.0 <= value <= 20.0 else f"{value} is out of range (0.0 to 20.0)"


def _check_text(value: str) -> str | None:
    return None if value.strip() else "the text is empty"


def _localized(langs: tuple[str, ...], fix: str, required: bool = True) -> Field:
    """A text in each language of site.yaml written by hand (a derived language's page converts
    its source's text)."""
    if not langs:
        return Field(dict, required=required, values=Field(str, check=_check_text, fix=fix), fix=fix)
    return Field(dict, required=required, schema={lang: Field(str, check=_check_text, fix=fix) for lang in langs},
                 fix=fix)


def _schemas(langs: tuple[str, ...]) -> dict:
    """The manifest's schema for the languages of site.yaml written by hand."""
    codes = ", ".join(f"{code}: …" for code in langs)
    image = {
    "id": Field(str, check=_check_id, fix="give the image a unique id such as showcase-teahouse-sign"),
    "prompt": Field(str, check=_check_text, fix="the exact prompt sent to the model, in Chinese or English"),
    "prompt_en": Field(str, required=False, check=_check_text,
                       fix="an English rendering of a Chinese prompt, shown beside it on the English page"),
    "caption": _localized(langs, f"a caption in every language: caption: {{{codes}}}"),
    "alt": _localized(langs, f"alt text in every language, describing what the image shows: alt: {{{codes}}}"),
    "seed": Field(int, check=_check_seed),
    "width": Field(int, check=_check_size),
    "height": Field(int, check=_check_size),
    "steps": Field(int, required=False, default=DEFAULTS["steps"], check=_check_steps),
    "guidance": Field(float, required=False, default=DEFAULTS["guidance"], check=_check_guidance),
    "section": Field(str, required=False, check=_check_id,
                     fix="the id of the section that shows the image (a comparison image inherits its set's)"),
    "set": Field(str, required=False, fix="the id of a set under `sets:`"),
    "label": _localized(langs, f"for a comparison image, the varied value in every language: label: {{{codes}}}",
                        required=False),
    }
    sets = {
        "section": Field(str, check=_check_id),
        "varies": Field(str, choices=tuple(VARIES)),
        "title": _localized(langs, f"a title in every language: title: {{{codes}}}"),
        "note": _localized(langs, f"a note in every language: note: {{{codes}}}", required=False),
    }
    return {
        "model": Field(str, required=False, default=DEFAULT_MODEL,
                       fix="the Hugging Face id of the model the images are made with"),
        "sets": Field(dict, required=False, default={}, values=Field(dict, schema=sets)),
        "images": Field(list, items=Field(dict, schema=image),
                        fix="a list of images, each with id, prompt, caption, alt, seed, width, height"),
    }


@dataclass(frozen=True)
class ImageSpec:
    """One image of the manifest, validated."""

    id: str
    prompt: str
    caption: dict
    alt: dict
    seed: int
    width: int
    height: int
    steps: int
    guidance: float
    section: str
    set: str | None = None
    label: dict | None = None
    line: int | None = None
    prompt_en: str | None = None  # an English rendering of a Chinese prompt; it never reaches the model

    def pixels(self) -> dict:
        """The manifest fields that change the pixels."""
        return {"prompt": self.prompt, "seed": self.seed, "width": self.width, "height": self.height,
                "steps": self.steps, "guidance": float(self.guidance)}

    @property
    def spec_hash(self) -> str:
        """A hash of the manifest fields that change the pixels (model-independent)."""
        return spec_hash(self.pixels())


@dataclass(frozen=True)
class SetSpec:
    id: str
    section: str
    varies: str
    title: dict
    note: dict | None
    image_ids: tuple[str, ...]


@dataclass
class Manifest:
    images: dict[str, ImageSpec] = field(default_factory=dict)
    sets: dict[str, SetSpec] = field(default_factory=dict)
    model: str = DEFAULT_MODEL
    file: str = MANIFEST


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def spec_hash(pixels: dict) -> str:
    normal = dict(pixels)
    normal["guidance"] = float(normal["guidance"])
    return hashlib.sha256(_canonical(normal)).hexdigest()


def store_key(pixels: dict, model: str, revision: str | None, dtype: str) -> str:
    """The store key: a hash of everything that changes the pixels."""
    data = dict(pixels)
    data["guidance"] = float(data["guidance"])
    data.update(model=model, revision=revision or "unknown", dtype=dtype)
    return hashlib.sha256(_canonical(data)).hexdigest()


def load_manifest(root: Path, path: Path | None = None, report: Report | None = None) -> Manifest | None:
    """Load and validate the manifest; None when the file does not exist.

    Raises SiteError listing every problem found.
    """
    path = path or (root / MANIFEST)
    try:
        display = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        display = str(path)
    if not path.exists():
        return None
    data, lines = load_yaml(path, display, report=report, error=ImageError)
    from zimage_site.config import load_languages

    # (a manifest used on its own, by `zimage-site generate` in a folder without site.yaml: its texts
    # are not checked against languages; the build always has them)
    langs = tuple(code for code, lang in load_languages(root).items() if not lang.source)
    return parse_manifest(data, lines, display, langs)


def parse_manifest(data, lines: dict[str, int], display: str, langs: tuple[str, ...]) -> Manifest:
    """Validate the manifest's data; its texts in each of `langs` (the languages written by hand)."""
    schema = _schemas(langs)
    v = Validation(display, lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        v.add("", "expected a mapping with `images:` (and optionally `sets:` and `model:`)",
              "see docs/images.md for the format")
        raise ImageError(v.problems)
    out = validate_mapping(data, schema, "", v)

    # The checks below see only values of the right type (the wrong ones are reported above).
    sets_raw = {k: _typed(spec, schema["sets"].values.schema) for k, spec in _typed_value(out.get("sets"), dict, {}).items()
                if isinstance(k, str)}  # other keys are reported above
    images_raw = [_typed(item, schema["images"].items.schema) if isinstance(item, dict) else None
                  for item in _typed_value(out.get("images"), list, [])]
    for set_id in sets_raw:
        msg = _check_id(set_id)
        if msg:
            v.add(f"sets.{set_id}", msg)

    images: dict[str, ImageSpec] = {}
    members: dict[str, list[tuple[int, dict]]] = {s: [] for s in sets_raw}
    for i, item in enumerate(images_raw):
        if not isinstance(item, dict):
            continue
        path = f"images[{i}]"
        image_id = item.get("id")
        if isinstance(image_id, str) and image_id in images:
            first = images[image_id].line
            v.add(f"{path}.id", f'duplicate id "{image_id}" (first used on line {first})',
                  "give every image its own id")
            continue
        set_id = item.get("set")
        section = item.get("section")
        if set_id is not None and isinstance(set_id, str):
            if set_id not in sets_raw:
                known = ", ".join(sets_raw) or "none defined"
                v.add(f"{path}.set", f'unknown set "{set_id}"',
                      f"use one of the sets defined under `sets:` ({known}), or define it there")
            else:
                members[set_id].append((i, item))
                if item.get("label") is None:
                    v.add(f"{path}.label", "missing value",
                          "a comparison image needs the label of its varied value: label: {zh: …, en: …}")
                set_section = (sets_raw[set_id] or {}).get("section")
                if section is None:
                    section = set_section
        elif item.get("label") is not None:
            v.add(f"{path}.label", "a label is only used by comparison images",
                  "add set: SET-ID, or remove the label")
        if section is None and set_id is None:
            v.add(f"{path}.section", "missing value", "add section: SECTION-ID (for example use-cases)")
        prompt = item.get("prompt")
        if isinstance(prompt, str) and item.get("prompt_en") is not None and not _CJK_PROMPT.search(prompt):
            v.add(f"{path}.prompt_en", "the prompt is already English",
                  "remove prompt_en (it renders a Chinese prompt for English readers)")
        if not isinstance(image_id, str):
            continue
        images[image_id] = ImageSpec(
            id=image_id, prompt=item.get("prompt") or "", caption=item.get("caption") or {},
            alt=item.get("alt") or {}, seed=item.get("seed") or 0, width=item.get("width") or 0,
            height=item.get("height") or 0, steps=item.get("steps") or DEFAULTS["steps"],
            guidance=float(item.get("guidance") or DEFAULTS["guidance"]), section=section or "",
            set=set_id, label=item.get("label"), line=lines.get(path), prompt_en=item.get("prompt_en"))

    sets: dict[str, SetSpec] = {}
    for set_id, spec in sets_raw.items():
        spec = spec or {}
        items = members.get(set_id, [])
        if len(items) < 2:
            v.add(f"sets.{set_id}", f"the set has {len(items)} image(s); a comparison needs at least 2",
                  f"add images with set: {set_id}")
        varies = spec.get("varies")
        if varies in VARIES and len(items) >= 2:
            _check_set_members(set_id, varies, items, v)
        sets[set_id] = SetSpec(id=set_id, section=spec.get("section") or "", varies=varies or "",
                               title=spec.get("title") or {}, note=spec.get("note"),
                               image_ids=tuple(it.get("id") for _, it in items))

    if v.problems:
        seen: set = set()
        unique = [p for p in v.problems if p.key is None or not (p.key in seen or seen.add(p.key))]
        raise ImageError(unique)
    return Manifest(images=images, sets=sets, model=out.get("model") or DEFAULT_MODEL, file=display)


def _typed_value(value, kind, default):
    return value if isinstance(value, kind) else default


def _typed(item, schema: dict[str, Field]) -> dict:
    """The keys of a mapping whose values have the type their schema asks for."""
    if not isinstance(item, dict):
        return {}
    out = {}
    for key, value in item.items():
        spec = schema.get(key)
        if spec is None:
            continue
        kinds = spec.type if isinstance(spec.type, tuple) else (spec.type,)
        if float in kinds and isinstance(value, int):
            kinds = kinds + (int,)
        if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
            out[key] = value
    return out


def _check_set_members(set_id: str, varies: str, items: list[tuple[int, dict]], v: Validation) -> None:
    """The images of a set must differ in the varied parameter and agree on everything else."""
    varied = VARIES[varies]
    def value(item: dict, key: str):
        val = item.get(key, DEFAULTS.get(key))
        return float(val) if key == "guidance" and isinstance(val, (int, float)) else val

    first_i, first = items[0]
    for i, item in items[1:]:
        for key in PIXEL_FIELDS:
            if key in varied:
                continue
            if value(item, key) != value(first, key):
                v.add(f"images[{i}].{key}",
                      f'differs from the first image of set "{set_id}" (which varies only {varies})',
                      f"use the same {key} as images[{first_i}], or change what the set varies")
    seen: dict = {}
    for i, item in items:
        val = tuple(value(item, k) for k in varied)
        if val in seen:
            v.add(f"images[{i}].{varied[0]}",
                  f'the same {varies} as images[{seen[val]}] in set "{set_id}": nothing is compared',
                  f"give each image of the set a different {varies}")
        else:
            seen[val] = i
