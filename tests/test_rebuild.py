"""A rebuild is a full build: random sequences of edits, additions and deletions of every kind of
input (inputs.KINDS), each followed by a rebuild that reuses what it can (in memory, or from the
.cache/ of an earlier process) and by a cold build of a copy of the same sources; both must give the
same output byte for byte, the same warnings, or the same errors.

ZIMAGE_SLOW=1 runs many more examples.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from zimage_site.errors import SiteError
from zimage_site.images.manifest import load_manifest, store_key
from zimage_site.images.store import Store
from zimage_site.inputs import FEEDS, KINDS
from zimage_site.site import Site

from conftest import FIXTURES, REPO

SLOW = os.environ.get("ZIMAGE_SLOW") == "1"

MANIFEST = """\
images:
  - id: pic-a
    section: intro
    prompt: 一只猫
    caption: {zh: 猫, en: A cat}
    alt: {zh: 一只猫, en: A cat}
    seed: 1
    width: 96
    height: 64
  - id: pic-b
    section: faq
    prompt: A dog
    caption: {zh: 狗, en: A dog}
    alt: {zh: 一只狗, en: A dog}
    seed: 2
    width: 64
    height: 64
"""


def store_image(root: Path, image_id: str, shade: int) -> None:
    """Store an image as `generate` would (a drawing stands in for the model's pixels)."""
    spec = load_manifest(root).images[image_id]
    im = Image.new("RGB", (spec.width, spec.height), (shade % 256, 90, 160))
    ImageDraw.Draw(im).line([(0, 0), (spec.width, spec.height)], fill=(255, 255, 0), width=3)
    key = store_key(spec.pixels(), "Tongyi-MAI/Z-Image-Turbo", "r1", "bf16")
    Store(root).write(image_id, key, im, {
        **{k: v for k, v in spec.pixels().items() if k != "guidance"}, "guidance_scale": spec.guidance,
        "spec": spec.spec_hash, "model": "Tongyi-MAI/Z-Image-Turbo", "model_revision": "r1", "dtype": "bf16",
        "created": "2026-01-01T00:00:00+00:00"})


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1) if old else text + new, encoding="utf-8")


SNIPPETS = [
    "\n\nMore text {n}.\n",
    "\n\nAgain {{fact}}`score` and {{fact}}`steps`.\n",
    "\n\nSee [the FAQ](#faq).\n",
    "\n\n::: note tip\nA note {n} with {{fact}}`params`.\n:::\n",
    "\n\n```python\nx = {n}\n```\n",
    "\n\n### Heading {n}\n\nSee [it](#missing-{n}).\n",  # a broken anchor: an error in both builds
    "\n\n::: figure pic-a\n:::\n",
    "\n\n::: gallery\n- pic-b\n- pic-a\n:::\n",
]


def apply(root: Path, op: tuple[str, int, int]) -> None:
    """One edit of one kind of input; `n` varies what is written, `which` picks a target."""
    kind, which, n = op
    lang = ("zh", "en")[which % 2]
    if kind == "content":
        action = which % 5
        extra = root / "content" / lang / f"0{3 + n % 2}-extra{n % 2}.md"
        if action == 0:
            edit(root / "content" / lang / ("01-intro.md", "02-faq.md")[n % 2], "", SNIPPETS[n % len(SNIPPETS)].format(n=n))
        elif action == 1:
            extra.write_text(f"---\nid: extra{n % 2}\norder: {3 + n % 2}\ntitle: Extra {n}\n---\n\n"
                             f"Cites {{fact}}`{('score', 'steps', 'params')[n % 3]}`; back to [intro](#intro).\n",
                             encoding="utf-8")
        elif action == 2:
            extra.unlink(missing_ok=True)
        elif action == 4:  # the first source the page cites changes: the sections after it renumber
            path = root / "content" / lang / "01-intro.md"
            text = path.read_text(encoding="utf-8")
            body = text.index("---\n", 4) + 4
            first = ("{fact}`score` first. ", "{fact}`steps` first. ")[n % 2]
            path.write_text(text[:body] + "\n" + first + text[body:], encoding="utf-8")
        else:  # a section file disappears, or comes back
            path = root / "content" / lang / "02-faq.md"
            if path.exists():
                path.rename(path.with_suffix(".md.off"))
            elif path.with_suffix(".md.off").exists():
                path.with_suffix(".md.off").rename(path)
    elif kind == "data":
        facts = root / "content/data/facts.yaml"
        if which % 3 == 0:
            edit(facts, "steps: {value: 8,", f"steps: {{value: {8 + n},")
        elif which % 3 == 1:  # the source cited first changes: every number on the page moves
            text = facts.read_text(encoding="utf-8")
            a, b = "label: {zh: 步数, en: Steps}, source: readme", "label: {zh: 步数, en: Steps}, source: report"
            facts.write_text(text.replace(a, b) if a in text else text.replace(b, a), encoding="utf-8")
        else:
            edit(root / "content/data/links.yaml", "", f"\nextra{n}: value {n}\n")
    elif kind == "templates":
        name = ("blocks/note.html", "sources.html", "base.html", "blocks/figure.html")[which % 4]
        edit(root / "templates" / name, "", f"\n<!-- edit {n} -->\n")
    elif kind == "strings":
        edit(root / "templates/i18n/core.yaml", "sources_title: {zh: 来源,", f"sources_title: {{zh: 来源{n},")
    elif kind == "static":
        if which % 3 == 0:
            edit(root / "static/css/20-blocks.css", "", f"\n.edit-{n} {{ color: red; }}\n")
        elif which % 3 == 1:
            (root / f"static/extra-{n % 2}.txt").write_text(f"extra {n}\n", encoding="utf-8")
        else:
            for extra in root.glob("static/extra-*.txt"):
                extra.unlink()
    elif kind == "manifest":
        manifest = root / "content/images.yaml"
        if which % 2:
            edit(manifest, "caption: {zh: 猫,", f"caption: {{zh: 猫{n},")
        else:
            edit(manifest, "seed: 2", f"seed: {3 + n}")  # the stored image no longer matches
    elif kind == "store":
        image_id = ("pic-a", "pic-b")[which % 2]
        if n % 3 == 0:
            for path in (root / "images").glob(f"{image_id}.*"):
                path.unlink()
        else:
            store_image(root, image_id, n)
    elif kind == "glossary":
        glossary = root / "content/i18n/zh-Hant.glossary.yaml"
        if which % 3 == 0:
            edit(glossary, "", f"  测试: 測試{n}\n")
        elif which % 3 == 1:
            edit(glossary, "参数: 參數", f"参数: 參數{n}")
        else:
            glossary.unlink(missing_ok=True)  # an error in both builds
    elif kind == "config":
        if which % 2:
            edit(root / "site.yaml", "title: 测试站点：双语页面", f"title: 测试站点{n}：双语页面")
        else:
            edit(root / "site.yaml", "nav: [intro, faq]", "nav: [intro]")
    else:
        raise AssertionError(kind)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def outcome(site: Site, out: Path):
    """What a build gives: its files and warnings, or its errors."""
    try:
        result = site.build(out)
    except SiteError as exc:
        return "error", exc.format()
    return "built", tree(out), sorted(w.format("warning") for w in result.warnings)


def clear(folder: Path, keep: str) -> None:
    """Empty `folder` but for `keep` (a path under it)."""
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.name != keep.split("/")[0]:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        elif "/" in keep:
            clear(path, keep.split("/", 1)[1])


def cold_copy(root: Path, target: Path) -> Path:
    """A copy of the sources, without the caches of earlier builds; only the compiled templates
    (keyed on their source by Jinja) are kept, so that a cold build does not compile them again."""
    clear(target, ".cache/jinja")
    shutil.copytree(root, target, ignore=shutil.ignore_patterns(".cache", "out-*"), dirs_exist_ok=True)
    return target


def new_site(tmp_path: Path, derived: bool = False) -> Path:
    """The bilingual fixture with two images (one stored) in tmp_path/bilingual; a .cache/ left
    there by an earlier example is kept: its entries must never be taken for those of this one."""
    root = tmp_path / "bilingual"
    clear(root, ".cache")
    shutil.copytree(FIXTURES / "bilingual", root, dirs_exist_ok=True)
    for folder in ("templates", "static"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "content/images.yaml").write_text(MANIFEST, encoding="utf-8")
    (root / "content/i18n").mkdir(parents=True, exist_ok=True)
    (root / "content/i18n/zh-Hant.glossary.yaml").write_text("terms:\n  参数: 參數\n", encoding="utf-8")
    if derived:  # a third language, derived from the Chinese page with the glossary
        edit(root / "site.yaml", "nav: [intro, faq]", "  zh-Hant:\n"
             "    {from: zh, convert: s2twp, glossary: content/i18n/zh-Hant.glossary.yaml, locale: zh-Hant,\n"
             "     og_locale: zh_TW, name: 繁體, path: zh-hant/, script: Hant}\nnav: [intro, faq]")
    store_image(root, "pic-a", 0)
    edit(root / "content/zh/01-intro.md", "", "\n\n::: figure pic-a\n:::\n")
    edit(root / "content/en/02-faq.md", "", "\n\n::: figure pic-b\n:::\n")
    return root


def test_every_kind_of_input_is_in_the_map():
    assert set(KINDS) | {"engine"} == set(FEEDS)
    for kind, parts in FEEDS.items():
        assert "pages" in parts, kind  # every input can change a page


OPS = st.tuples(st.sampled_from(sorted(KINDS)), st.integers(0, 11), st.integers(0, 40))


@settings(max_examples=200 if SLOW else 10, deadline=None, derandomize=not SLOW,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.tuples(OPS, st.booleans()), min_size=1, max_size=6))
@example(ops=[(("content", 4, 0), False), (("content", 4, 1), True)])  # sources renumbered after a section
@example(ops=[(("store", 0, 3), False), (("store", 0, 4), True), (("manifest", 0, 1), False)])
@example(ops=[(("content", 3, 0), True), (("config", 0, 0), False), (("content", 3, 0), False)])
def test_a_rebuild_equals_a_full_build(tmp_path_factory, ops):
    tmp = tmp_path_factory.getbasetemp() / "rebuild"
    tmp.mkdir(exist_ok=True)
    root = new_site(tmp, derived=True)
    site = Site(root, allow_placeholders=True)
    site.build(tmp / "out-first")
    for step, (op, new_process) in enumerate(ops):
        apply(root, op)
        if new_process:  # a later process: only the .cache/ on disk is shared
            site = Site(root, allow_placeholders=True)
        warm = outcome(site, tmp / f"out-{step}")
        cold = outcome(Site(cold_copy(root, tmp / "cold"), allow_placeholders=True), tmp / "cold-out")
        assert warm[0] == cold[0], (op, warm[1] if warm[0] == "error" else cold[1])
        if warm[0] == "error":
            assert warm[1] == cold[1], op
        else:
            assert warm[1].keys() == cold[1].keys(), op
            different = [name for name in warm[1] if warm[1][name] != cold[1][name]]
            assert not different, (op, different)
            assert warm[2] == cold[2], op
        shutil.rmtree(tmp / f"out-{step}", ignore_errors=True)
