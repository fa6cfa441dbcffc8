"""The image manifest, `content/images.yaml`: every image the page shows and how it is made.

The file is described by its models (`ManifestFile`, `ImageEntry`, `SetEntry`; zimage_site/model.py):
unknown keys, wrong types, missing values, duplicate ids, unknown set references, sizes that are not
multiples of 16, texts that lack a language of site.yaml, and comparison sets whose images differ in
anything but the varied parameter are all reported together, each with its file, line and key.
"""

from __future__ import annotations

import hashlib
import json
import re
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import ConfigDict, ValidationError

from zimage_site.errors import ImageError, Problem, Report
from zimage_site.model import (NonEmpty, Strict, Texts, adapter, check, field, language_problems, line_of,
                               one_of, problems_of)
from zimage_site.yamlfile import load_yaml

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


Id = Annotated[str, check(_check_id)]
Size = Annotated[int, check(_check_size)]

# The fix of a text that lacks a language, by field (CODES: the languages of site.yaml).
_TEXT_FIXES = {
    "caption": "a caption in every language: caption: {CODES}",
    "alt": "alt text in every language, describing what the image shows: alt: {CODES}",
    "label": "for a comparison image, the varied value in every language: label: {CODES}",
    "title": "a title in every language: title: {CODES}",
    "note": "a note in every language: note: {CODES}",
}


class ImageEntry(Strict):
    """One image of content/images.yaml, as written."""

    id: Id = field(fix="give the image a unique id such as showcase-teahouse-sign")
    prompt: NonEmpty = field(fix="the exact prompt sent to the model, in Chinese or English")
    prompt_en: NonEmpty | None = field(  # an English rendering of a Chinese prompt; it never reaches the model
        None, fix="an English rendering of a Chinese prompt, shown beside it on the English page")
    caption: Texts = field(fix=_TEXT_FIXES["caption"])
    alt: Texts = field(fix=_TEXT_FIXES["alt"])
    seed: Annotated[int, check(_check_seed)]
    width: Size
    height: Size
    steps: Annotated[int, check(_check_steps)] = DEFAULTS["steps"]
    guidance: Annotated[float, check(_check_guidance)] = DEFAULTS["guidance"]
    section: Id | None = field(
        None, fix="the id of the section that shows the image (a comparison image inherits its set's)")
    set: str | None = field(None, fix="the id of a set under `sets:`")
    label: Texts | None = field(None, fix=_TEXT_FIXES["label"])


class ImageSpec(ImageEntry):
    """One image of the manifest, validated: its section resolved (a comparison image's is its
    set's), and the line it starts on."""

    model_config = ConfigDict(frozen=True)
    section: str = ""
    line: int | None = None

    def pixels(self) -> dict:
        """The manifest fields that change the pixels."""
        return {"prompt": self.prompt, "seed": self.seed, "width": self.width, "height": self.height,
                "steps": self.steps, "guidance": float(self.guidance)}

    @property
    def spec_hash(self) -> str:
        """A hash of the manifest fields that change the pixels (model-independent)."""
        return spec_hash(self.pixels())


class SetEntry(Strict):
    """A comparison set of content/images.yaml (`sets: {ID: …}`), as written."""

    section: Id
    varies: Annotated[str, one_of(*VARIES)]
    title: Texts = field(fix=_TEXT_FIXES["title"])
    note: Texts | None = field(None, fix=_TEXT_FIXES["note"])


class SetSpec(SetEntry):
    """A comparison set with its id and its images, in manifest order."""

    model_config = ConfigDict(frozen=True)
    id: str
    image_ids: tuple[str, ...] = ()


class ManifestFile(Strict):
    """content/images.yaml as written."""

    model: str = field(DEFAULT_MODEL, fix="the Hugging Face id of the model the images are made with")
    sets: dict[str, SetEntry] = {}
    images: list[ImageEntry] = field(fix="a list of images, each with id, prompt, caption, alt, seed, width, height")


@dataclass
class Manifest:
    images: dict[str, ImageSpec] = dataclasses.field(default_factory=dict)
    sets: dict[str, SetSpec] = dataclasses.field(default_factory=dict)
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
    """Validate the manifest's data (ManifestFile); its texts in each of `langs` (the languages
    written by hand). Every problem is reported at once: a wrong value, and what the others say
    about each other (duplicate ids, unknown sets, comparison sets that compare nothing)."""
    problems: list[Problem] = []

    def add(path: str, message: str, fix: str | None = None) -> None:
        problems.append(Problem(message, file=display, line=line_of(lines, path, 1), key=path or None, fix=fix))

    if data is None:
        data = {}
    if not isinstance(data, dict):
        add("", "expected a mapping with `images:` (and optionally `sets:` and `model:`)",
            "see docs/images.md for the format")
        raise ImageError(problems)
    parsed: ManifestFile | None = None
    bad: set[tuple] = set()
    try:
        parsed = adapter(ManifestFile).validate_python(data)
    except ValidationError as exc:
        problems += problems_of(exc, ManifestFile, data, display, lines)
        bad = {tuple(e["loc"][:3]) for e in exc.errors()}

    # The checks below see the values of the right type (the wrong ones are reported above).
    def typed(section: str, key, entry, model: type[Strict]) -> dict:
        if not isinstance(entry, dict) or (section, key) in bad:
            return {}
        known = {info.alias or name for name, info in model.model_fields.items()}
        return {k: v for k, v in entry.items() if k in known and (section, key, k) not in bad}

    raw_sets = data.get("sets") if isinstance(data.get("sets"), dict) and ("sets",) not in bad else {}
    raw_images = data.get("images") if isinstance(data.get("images"), list) and ("images",) not in bad else []
    sets_raw = {k: typed("sets", k, spec, SetEntry) for k, spec in raw_sets.items() if isinstance(k, str)}
    images_raw = [typed("images", i, item, ImageEntry) if isinstance(item, dict) else None
                  for i, item in enumerate(raw_images)]
    for set_id, spec in sets_raw.items():
        msg = _check_id(set_id)
        if msg:
            add(f"sets.{set_id}", msg)
        for name in ("title", "note"):
            if isinstance(spec.get(name), dict):
                problems.extend(language_problems(spec[name], langs, display, lines, f"sets.{set_id}.{name}",
                                                  lambda _, __, name=name: ("missing value", _TEXT_FIXES[name])))

    first_line: dict[str, int | None] = {}
    sections: dict[str, str] = {}
    members: dict[str, list[tuple[int, dict]]] = {s: [] for s in sets_raw}
    for i, item in enumerate(images_raw):
        if not isinstance(item, dict):
            continue
        path = f"images[{i}]"
        image_id = item.get("id")
        if isinstance(image_id, str) and image_id in first_line:
            add(f"{path}.id", f'duplicate id "{image_id}" (first used on line {first_line[image_id]})',
                "give every image its own id")
            continue
        for name in ("caption", "alt", "label"):
            if isinstance(item.get(name), dict):
                problems.extend(language_problems(item[name], langs, display, lines, f"{path}.{name}",
                                                  lambda _, __, name=name: ("missing value", _TEXT_FIXES[name])))
        set_id = item.get("set")
        section = item.get("section")
        if set_id is not None:
            if set_id not in sets_raw:
                known = ", ".join(sets_raw) or "none defined"
                add(f"{path}.set", f'unknown set "{set_id}"',
                    f"use one of the sets defined under `sets:` ({known}), or define it there")
            else:
                members[set_id].append((i, item))
                if item.get("label") is None and ("images", i, "label") not in bad:
                    add(f"{path}.label", "missing value",
                        "a comparison image needs the label of its varied value: label: {CODES}")
                if section is None:
                    section = sets_raw[set_id].get("section")
        elif item.get("label") is not None:
            add(f"{path}.label", "a label is only used by comparison images", "add set: SET-ID, or remove the label")
        if section is None and set_id is None and ("images", i, "section") not in bad:
            add(f"{path}.section", "missing value", "add section: SECTION-ID (for example use-cases)")
        prompt = item.get("prompt")
        if isinstance(prompt, str) and item.get("prompt_en") is not None and not _CJK_PROMPT.search(prompt):
            add(f"{path}.prompt_en", "the prompt is already English",
                "remove prompt_en (it renders a Chinese prompt for English readers)")
        if isinstance(image_id, str):
            first_line[image_id] = lines.get(path)
            sections[image_id] = section or ""

    for set_id, spec in sets_raw.items():
        items = members.get(set_id, [])
        if len(items) < 2:
            add(f"sets.{set_id}", f"the set has {len(items)} image(s); a comparison needs at least 2",
                f"add images with set: {set_id}")
        varies = spec.get("varies")
        if varies in VARIES and len(items) >= 2:
            problems.extend(_check_set_members(set_id, varies, items, display, lines))

    if problems or parsed is None:
        codes = "{" + ", ".join(f"{code}: …" for code in langs) + "}"
        seen: set = set()
        unique = [p for p in problems if p.key is None or not (p.key in seen or seen.add(p.key))]
        for p in unique:
            p.fix = p.fix.replace("{CODES}", codes) if p.fix else p.fix
        raise ImageError(unique)
    images = {entry.id: ImageSpec.model_construct(**{**dict(entry), "section": sections[entry.id]},
                                                  line=lines.get(f"images[{i}]"))
              for i, entry in enumerate(parsed.images)}
    sets = {set_id: SetSpec.model_construct(**dict(entry), id=set_id,
                                            image_ids=tuple(it["id"] for _, it in members[set_id]))
            for set_id, entry in parsed.sets.items()}
    return Manifest(images=images, sets=sets, model=parsed.model, file=display)


def _check_set_members(set_id: str, varies: str, items: list[tuple[int, dict]], display: str,
                       lines: dict[str, int]) -> list[Problem]:
    """The images of a set must differ in the varied parameter and agree on everything else."""
    problems: list[Problem] = []

    def add(path: str, message: str, fix: str) -> None:
        problems.append(Problem(message, file=display, line=line_of(lines, path, 1), key=path, fix=fix))

    varied = VARIES[varies]
    defaults = ImageEntry.model_fields

    def value(item: dict, key: str):
        val = item.get(key, defaults[key].default)
        return float(val) if key == "guidance" and isinstance(val, (int, float)) else val

    first_i, first = items[0]
    for i, item in items[1:]:
        for key in PIXEL_FIELDS:
            if key in varied:
                continue
            if value(item, key) != value(first, key):
                add(f"images[{i}].{key}",
                    f'differs from the first image of set "{set_id}" (which varies only {varies})',
                    f"use the same {key} as images[{first_i}], or change what the set varies")
    seen: dict = {}
    for i, item in items:
        val = tuple(value(item, k) for k in varied)
        if val in seen:
            add(f"images[{i}].{varied[0]}",
                f'the same {varies} as images[{seen[val]}] in set "{set_id}": nothing is compared',
                f"give each image of the set a different {varies}")
        else:
            seen[val] = i
    return problems
