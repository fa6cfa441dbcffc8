"""Hostile input and hostile machines: every case here once hung, crashed, leaked or lost data.

Each test builds a real fixture site (in-process through the CLI, or as a subprocess where a
regression would hang or exhaust memory) and asserts what the user sees: one error naming the
file, line and fix, or a build that does the right thing.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from zimage_site.cli import main
from zimage_site.errors import ConfigError, ContentError, ImageError, Report, SiteError
from zimage_site.images import ImageCatalog
from zimage_site.writer import Writer
from zimage_site.output import MARKER
from zimage_site.site import build_site

REPO = Path(__file__).resolve().parent.parent


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def snapshot(folder: Path) -> dict[str, bytes]:
    """The files a folder shows, by path: as a web server reads them, following its links (an
    output on a mount point is a set of links into .zimage-site/), leaving that folder out."""
    found = {}
    for parent, dirs, files in os.walk(folder, followlinks=True):
        if Path(parent) == folder:
            dirs[:] = [d for d in dirs if d != ".zimage-site"]
        for name in files:
            path = Path(parent) / name
            if path.is_file():
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return dict(sorted(found.items()))


@pytest.fixture
def site(site_factory):
    """The bilingual fixture site, built once (build/ holds a previous output)."""
    root = site_factory("bilingual")
    build_site(root)
    return root


def broken(capsys, root: Path, *extra: str) -> str:
    """Build a site that must fail: exit 1, one message, no traceback, build/ unchanged."""
    before = snapshot(root / "build") if (root / "build").is_dir() else None
    code, _, err = run_cli(capsys, "build", "--root", str(root), *extra)
    assert code == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    if before is not None:
        assert snapshot(root / "build") == before
    return err


# --------------------------------------------------------------------------- 1. YAML alias bomb

BOMB = "a0: &a0 [lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 11))


BOMB_TARGETS = ["content/data/bomb.yaml", "site.yaml", "content/images.yaml", "content/en/01-intro.md"]


def limit_memory():  # in a child process: a regression must fail there, not take the machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    from helpers import make_site

    roots = []
    for i, target in enumerate(BOMB_TARGETS):
        root = make_site(tmp_path / str(i), "bilingual")
        path = root / target
        if target.endswith(".md"):
            edit(path, "layout: hero\n", "layout: hero\n" + BOMB)
        elif target == "site.yaml":
            path.write_text(path.read_text(encoding="utf-8") + BOMB, encoding="utf-8")
        else:
            path.write_text(BOMB, encoding="utf-8")
        roots.append(str(root))
    # one child process builds the four sites (under a memory limit: an expansion would exhaust
    # it; the timeout only keeps a regression from hanging the suite)
    code = ("import sys\n"
            "from zimage_site.cli import main\n"
            "for root in sys.argv[1:]:\n"
            "    code = main(['build', '--root', root])\n"
            "    print(f'@@ {code}', file=sys.stderr, flush=True)\n")
    proc = subprocess.run([sys.executable, "-c", code, *roots], capture_output=True, text=True, timeout=300,
                          preexec_fn=limit_memory, env={**os.environ, "PYTHONPATH": str(REPO)})
    results = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("@@ ")]
    assert len(results) == len(BOMB_TARGETS), proc.stderr[-2000:]
    for target, status in zip(BOMB_TARGETS, results):
        assert status == "1", (target, status)
        assert f"error: {target}, line " in proc.stderr
    assert proc.stderr.count("expands to more than 100,000 values") >= 3  # site.yaml: also its unknown keys


def test_the_bomb_check_looks_at_each_value_once():
    """The check counts the values an alias would expand to without expanding it: the lines it
    runs are counted (not timed, which would flake under load) and stay near the document's own
    size, though the document stands for ten billion values."""
    from zimage_site.errors import SiteError
    from zimage_site.yamlfile import parse_yaml

    count = 0

    def local(frame, event, arg):
        nonlocal count
        count += event == "line"
        return local

    sys.settrace(lambda frame, event, arg: local if frame.f_code.co_filename.endswith("yamlfile.py") else None)
    try:
        with pytest.raises(SiteError, match="expands to more than"):
            parse_yaml(BOMB, "bomb.yaml")
    finally:
        sys.settrace(None)
    nodes = BOMB.count("*") + BOMB.count("&") + BOMB.count("lol")  # the document's own values, about 110
    assert count < 100 * nodes, count


# --------------------------------------------------------------------------- 2. wrong types, duplicate keys

FACTS = "content/data/facts.yaml"


@pytest.mark.parametrize("file, old, new, where", [
    (FACTS, "source: readme, verdict: verified}", "source: [readme], verdict: verified}", 'line 5, key "facts.params.source"'),
    (FACTS, "  report: {title:", "  42: {title:", 'line 3, key "sources.42"'),
    (FACTS, "  steps: {value: 8,", "  params: {value: 8,", "line 6: the key 'params' appears twice"),
    ("site.yaml", "  en:\n    locale: en", "  7:\n    locale: en", 'line 12, key "languages.7"'),
    ("site.yaml", "default_language: zh", "default_language: zh\nbase_url: https://evil.example/",
     "line 3: the key 'base_url' appears twice"),
    ("site.yaml", "favicon: favicon.svg", "favicon: ../../../etc/passwd", 'line 23, key "favicon"'),
    ("site.yaml", "social_image: img/og.png", "social_image: /etc/passwd", 'line 22, key "social_image"'),
    ("site.yaml", "base_url: https://fixture.example.org/", 'base_url: "https://fixture.example.org/\\"x/"',
     'line 1, key "base_url"'),
    ("site.yaml", "base_url: https://fixture.example.org/", 'base_url: "https://f.example/\\nDisallow: /\\n/"',
     'line 1, key "base_url"'),
])
def test_wrong_values_are_errors_with_file_and_line(site, capsys, file, old, new, where):
    edit(site / file, old, new)
    err = broken(capsys, site)
    assert err.startswith(f"error: {file}, {where}"), err


MANIFEST = """\
sets:
  pair:
    section: intro
    varies: steps
    title: {zh: 步数, en: Steps}
images:
  - id: one
    set: pair
    label: {zh: 4 步, en: 4 steps}
    prompt: 一碗面
    caption: {zh: 面, en: Noodles}
    alt: {zh: 一碗面, en: A bowl of noodles}
    seed: 1
    steps: 4
    width: 64
    height: 64
  - id: two
    set: pair
    label: {zh: 8 步, en: 8 steps}
    prompt: 一碗面
    caption: {zh: 面, en: Noodles}
    alt: {zh: 一碗面, en: A bowl of noodles}
    seed: 1
    width: 64
    height: 64
"""


@pytest.mark.parametrize("old, new, where", [
    ("seed: 1\n    steps: 4", "seed: [1]\n    steps: 4", 'line 13, key "images[0].seed"'),
    ("  pair:\n    section: intro\n    varies: steps\n    title: {zh: 步数, en: Steps}", "  pair: [intro]",
     'line 2, key "sets.pair"'),
    ("varies: steps", "varies: [steps]", 'line 4, key "sets.pair.varies"'),
    ("seed: 1\n    steps: 4", "seed: 1\n    steps: 4\n    guidance: high", 'line 15, key "images[0].guidance"'),
    ("  pair:\n", "  3:\n", 'line 2, key "sets.3"'),
])
def test_wrong_types_in_the_image_manifest_are_errors(site, capsys, old, new, where):
    manifest = MANIFEST.replace(old, new, 1)
    if "seed: [1]" in new:  # the set varies the seed, whose value is a list
        manifest = manifest.replace("varies: steps\n", "varies: seed\n").replace("    steps: 4\n", "").replace(
            "seed: 1\n    width", "seed: 2\n    width")
    (site / "content/images.yaml").write_text(manifest, encoding="utf-8")
    err = broken(capsys, site)
    assert err.startswith(f"error: content/images.yaml, {where}"), err


def test_errors_belong_to_a_family_and_keep_their_cause(site, capsys):
    edit(site / "site.yaml", "nav: [intro, faq]", "nav: [intro, faq")
    with pytest.raises(ConfigError) as info:
        build_site(site)
    assert isinstance(info.value, SiteError) and info.value.__cause__ is not None
    err = broken(capsys, site)
    assert err.startswith("error: site.yaml, line 20: this is not valid YAML") and "fix: " in err
    code, _, err = run_cli(capsys, "--debug", "build", "--root", str(site))
    assert code == 1
    assert "yaml.parser.ParserError" in err and "direct cause of the following exception" in err
    assert issubclass(ContentError, SiteError) and issubclass(ImageError, SiteError)
    assert str(SiteError("plain", file="x.yaml", line=3)) == "error: x.yaml, line 3: plain"


# --------------------------------------------------------------------------- 3. static/ and links

def test_a_link_out_of_static_is_refused(site, capsys, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("API_TOKEN=hunter2")
    os.symlink(secret, site / "static/env.txt")
    err = broken(capsys, site)
    assert err.startswith("error: static/env.txt: a symbolic link to ") and "outside the site folder" in err
    os.unlink(site / "static/env.txt")
    os.symlink("/proc/self/environ", site / "static/env.txt")
    assert broken(capsys, site).startswith("error: static/env.txt: a symbolic link")
    os.unlink(site / "static/env.txt")
    os.symlink(tmp_path, site / "static/outside")  # a folder outside
    assert broken(capsys, site).startswith("error: static/outside: a symbolic link")
    os.unlink(site / "static/outside")
    os.symlink("favicon.svg", site / "static/icon.svg")  # inside static/: fine
    assert run_cli(capsys, "build", "--root", str(site))[0] == 0
    assert (site / "build/assets/icon.svg").read_bytes() == (site / "static/favicon.svg").read_bytes()
    assert b"hunter2" not in b"".join(snapshot(site / "build").values())


def test_a_pipe_in_static_is_refused_not_read(site, capsys):
    os.mkfifo(site / "static/pipe.txt")
    assert broken(capsys, site).startswith("error: static/pipe.txt: a pipe (FIFO) where a file is expected")


# --------------------------------------------------------------------------- 4. the image variant cache

def manifest_site(tmp_path: Path) -> Path:
    from helpers import image_site as make_site
    from helpers import store_test_image

    root = make_site(tmp_path / "site", MANIFEST.replace("section: intro", "section: quick-start"))
    for image_id in ("one", "two"):
        store_test_image(root, image_id)
    return root


def publish(root: Path, out: Path) -> ImageCatalog:
    """The images phase of the site's catalog, its files written into `out` by the build's writer."""
    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    Writer(out).files(catalog.prepare("/", Report()).files)
    return catalog


def test_a_damaged_cache_file_is_encoded_again(tmp_path):
    root = manifest_site(tmp_path)
    publish(root, tmp_path / "out1")
    cached = sorted((root / ".cache/variants").rglob("*.avif"))
    assert cached
    for path in cached:  # truncated, as by a full disk or a killed copy
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data[: len(data) // 2])
    catalog = publish(root, tmp_path / "out2")
    assert catalog.cache.encoded > 0
    for path in (tmp_path / "out2/img").iterdir():
        with Image.open(path) as im:
            im.load()


def test_a_stored_png_of_garbage_with_its_sha256_is_an_error_naming_it(tmp_path):
    root = manifest_site(tmp_path)
    png = next((root / "images").glob("one.*.png"))
    data = png.read_bytes()
    garbage = data[:100] + bytes(len(data) - 100)  # a valid header, then zeros
    png.write_bytes(garbage)
    sidecar = png.with_suffix(".json")
    prov = json.loads(sidecar.read_text())
    import hashlib

    prov["sha256"] = hashlib.sha256(garbage).hexdigest()
    sidecar.write_text(json.dumps(prov))
    with pytest.raises(ImageError) as info:
        publish(root, tmp_path / "out")
    problem = info.value.problems[0]
    assert problem.file == f"images/{png.name}" and "cannot be decoded" in problem.message
    assert "zimage-site generate --force" in problem.fix
    assert not [p for p in (root / ".cache/variants").iterdir() if p.name.startswith(".")], "no private folder left"


def test_two_processes_share_the_variant_cache(tmp_path):
    root = manifest_site(tmp_path)
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from zimage_site.errors import Report\n"
        "from zimage_site.images import ImageCatalog\n"
        "from zimage_site.writer import Writer\n"
        "root, out, start = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])\n"
        "c = ImageCatalog.load(root, Report(), allow_test_images=True)\n"
        "time.sleep(max(0, start - time.time()))\n"
        "Writer(out).files(c.prepare('/', Report()).files)\n")
    for round_ in range(2):
        shutil.rmtree(root / ".cache", ignore_errors=True)
        start = time.time() + 1.5
        procs = [subprocess.Popen([sys.executable, "-c", script, str(root), str(tmp_path / f"out{round_}-{i}"),
                                   str(start)], env={**os.environ, "PYTHONPATH": str(REPO)},
                                  stderr=subprocess.PIPE, text=True) for i in range(3)]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        for i in range(3):
            for path in (tmp_path / f"out{round_}-{i}/img").iterdir():
                with Image.open(path) as im:
                    im.load()


def test_a_stored_image_made_from_other_values_is_named(tmp_path):
    root = manifest_site(tmp_path)
    path = root / "content/images.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("seed: 1\n", "seed: 2\n"), encoding="utf-8")
    catalog = ImageCatalog.load(root, Report(), allow_test_images=True)
    report = Report()
    Writer(tmp_path / "out").files(catalog.prepare("/", report).files)
    text = "\n".join(w.format("warning") for w in report.warnings)
    assert "made from other values than the manifest's (seed 1 here, 2 in the manifest)" in text


# --------------------------------------------------------------------------- 5. the output folder

def test_a_symlink_given_as_out_is_followed(site, capsys, tmp_path):
    real = tmp_path / "real-out"
    link = tmp_path / "link-out"
    os.symlink(real, link)
    assert run_cli(capsys, "build", "--root", str(site), "--out", str(link))[0] == 0
    assert link.is_symlink() and (real / "index.html").is_file()
    assert run_cli(capsys, "build", "--root", str(site), "--out", str(link))[0] == 0
    assert link.is_symlink() and (real / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_killed_builds_are_removed(site, capsys):
    stale = site / f".build-new-{dead_pid()}-abc123"
    (stale / "en").mkdir(parents=True)
    (stale / "en/index.html").write_text("half")
    old = site / f".build-old-{dead_pid()}-def456"
    old.mkdir()
    alive = site / f".build-new-{os.getpid()}-live"  # a build in progress: left alone
    alive.mkdir()
    assert run_cli(capsys, "build", "--root", str(site))[0] == 0
    assert not stale.exists() and not old.exists() and alive.exists()


def test_a_folder_is_a_previous_build_only_by_its_marker(site, capsys, tmp_path):
    out = tmp_path / "pages"
    out.mkdir()
    (out / ".nojekyll").write_text("")
    (out / "CNAME").write_text("zimage.example.org\n")
    err = broken(capsys, site, "--out", str(out))
    assert "holds files that are not a zimage-site build" in err
    assert (out / "CNAME").read_text() == "zimage.example.org\n"
    shutil.rmtree(out)
    assert run_cli(capsys, "build", "--root", str(site), "--out", str(out))[0] == 0
    marker = json.loads((out / MARKER).read_text())
    assert "index.html" in marker["files"] and "en/index.html" in marker["files"]
    assert run_cli(capsys, "build", "--root", str(site), "--out", str(out))[0] == 0  # a previous build
    (out / "CNAME").write_text("zimage.example.org\n")
    err = broken(capsys, site, "--out", str(out))
    assert "also holds files the build did not write: CNAME" in err
    assert (out / "CNAME").read_text() == "zimage.example.org\n"


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def tmpfs(tmp_path):
    """A fresh tmpfs mounted at tmp_path/mnt (root only): `mount(size)` mounts it."""
    if not can_mount():
        pytest.skip("needs root to mount a tmpfs (a real mount point, a real full disk)")
    point = tmp_path / "mnt"
    point.mkdir()
    mounted = []

    def mount(size: str) -> Path:
        if size == "bind":  # a folder of the same file system bound here, as a container volume is
            source = tmp_path / "volume"
            source.mkdir()
            command = ["mount", "--bind", str(source), str(point)]
        else:
            command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for p in mounted:
        subprocess.run(["umount", "-l", str(p)], check=False)


@pytest.mark.parametrize("kind", ["8m", "bind"])
def test_out_at_a_mount_point_has_its_contents_replaced(site, capsys, tmpfs, kind):
    out = tmpfs(kind)
    assert run_cli(capsys, "build", "--root", str(site), "--out", str(out))[0] == 0
    first = snapshot(out)
    (site / "content/en/02-faq.md").unlink()
    edit(site / "content/en/01-intro.md", "[FAQ](#faq)", "FAQ")
    edit(site / "content/en/01-intro.md", 'href: "#faq"', 'href: "#intro"')
    code, _, err = run_cli(capsys, "build", "--root", str(site), "--out", str(out))
    assert code == 0, err
    second = snapshot(out)
    assert second != first and "index.html" in second
    assert sorted(second) == sorted(json.loads(second[MARKER])["files"] + [MARKER])
    assert not [p for p in os.listdir(out) if p.startswith(".mnt-")]
    store = sorted(os.listdir(out / ".zimage-site"))  # the build shown, and the link to it
    assert len(store) == 2 and store[1] == "current", store
    assert main(["check", "--root", str(site), "--out", str(out), "--no-html-validator"]) in (0, 1)
    assert "checked 3 pages" in capsys.readouterr().out
    edit(site / "site.yaml", "nav: [intro, faq]", "nav: [intro, faq")
    broken(capsys, site, "--out", str(out))
    assert snapshot(out) == second


def test_a_full_disk_is_an_error_and_the_output_stays_whole(site, capsys, tmpfs):
    disk = tmpfs("1m")
    out = disk / "site"
    assert run_cli(capsys, "build", "--root", str(site), "--out", str(out))[0] == 0
    before = snapshot(out)
    with open(disk / "filler", "wb") as f:  # fill the disk
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    err = broken(capsys, site, "--out", str(out))
    assert err.startswith(f"error: {out}: the disk is full") and "fix: free some space" in err
    assert snapshot(out) == before
    assert sorted(os.listdir(disk)) == ["filler", "site"]


# --------------------------------------------------------------------------- 6. smaller ones

def test_a_template_runtime_error_names_its_file_and_line(site, capsys):
    shutil.rmtree(site / "templates")
    shutil.copytree(REPO / "templates", site / "templates")
    edit(site / "templates/partials/footer.html", "\n", '\n{{ 1 + "a" }}\n')
    err = broken(capsys, site)
    assert err.startswith("error: templates/partials/footer.html, line 2: template error: unsupported operand")


def test_a_value_cut_short_by_a_comment_is_a_warning(site, capsys):
    (site / "content/data/notes.yaml").write_text("see:\n  zh: 参见 issue #16\n  en: 'see issue #16'\n",
                                                  encoding="utf-8")
    edit(site / "content/en/01-intro.md", "description: One line", "description: One line #1")
    code, out, err = run_cli(capsys, "build", "--root", str(site))
    assert code == 0, err
    assert ("warning: content/data/notes.yaml, line 2: the value '参见 issue' stops before \" #16\"" in err)
    assert "fix: if the # and what follows belong to the value, put the value in quotes" in err
    assert "warning: content/en/01-intro.md, line 6: the value 'One line' stops before \" #1\"" in err
    assert "line 3" not in err  # a quoted value is whole
    code, _, err = run_cli(capsys, "build", "--root", str(site), "--strict", "--out", str(site / "strict"))
    assert code == 1


def test_a_fact_with_a_display_form_keeps_its_unit(site, capsys):
    edit(site / FACTS, "  steps: {value: 8,", "  tokens: {value: 512, display: {zh: \"512\", en: \"512\"}, "
         "unit: {zh: \" 个 token\", en: \" tokens\"}, source: readme, verdict: verified}\n  steps: {value: 8,")
    edit(site / "content/en/01-intro.md", "needs {fact}`steps` steps.", "needs {fact}`steps` steps and {fact}`tokens`.")
    edit(site / "content/zh/01-intro.md", "\n\n", "\n\n提示词最长 {fact}`tokens`。\n\n")
    assert run_cli(capsys, "build", "--root", str(site))[0] == 0
    import lxml.html

    for page, expected in (("en/index.html", "512 tokens"), ("index.html", "512 个 token")):
        doc = lxml.html.fromstring((site / "build" / page).read_bytes())
        assert expected in [s.text_content() for s in doc.xpath('//span[@data-fact="tokens"]')]


# --------------------------------------------------------------------------- 7. special files, links out, unreadable

# Every kind of file the build reads, and what a hostile or mistaken site can put in its place.
SPECIAL_TARGETS = ["site.yaml", "content/data/facts.yaml", "content/images.yaml", "templates/i18n/core.yaml",
                   "content/en/01-intro.md", "content/zh/03-new.md", "templates/base.html",
                   "static/css/extra.css", "images/x.json", "images/x.png"]
SPECIAL_KINDS = ["fifo", "device", "zero-link", "folder", "broken-link", "link-loop", "outside-link"]

# One child process (under a memory limit and a timeout: a regression must fail, not hang or
# exhaust the machine) puts each special file in place, builds, reports, and puts the file back.
SPECIAL_CHILD = r'''
import contextlib, io, json, os, shutil, stat, sys
from zimage_site.cli import main
root, outside, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
for target, kind in cases:
    path = os.path.join(root, target)
    saved = path + ".saved"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.rename(path, saved)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # what /dev/zero is
    elif kind == "zero-link":
        os.symlink("/dev/zero", path)
    elif kind == "folder":
        os.mkdir(path)
    elif kind == "broken-link":
        os.symlink("nowhere-" + os.path.basename(target), path)
    elif kind == "link-loop":
        os.symlink(os.path.basename(target), path)
    elif kind == "outside-link":
        copy = os.path.join(outside, target.replace("/", "_"))
        if os.path.exists(saved):
            shutil.copyfile(saved, copy)
        else:
            open(copy, "w").write("secret: hunter2\n")
        os.symlink(copy, path)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["build", "--root", root, "--out", os.path.join(outside, "out")])
    print(json.dumps([target, kind, code, err.getvalue()]), flush=True)
    if os.path.isdir(path) and not os.path.islink(path):
        os.rmdir(path)
    else:
        os.unlink(path)
    if os.path.lexists(saved):
        os.rename(saved, path)
'''


def special_cases() -> list[tuple[str, str]]:
    kinds = [k for k in SPECIAL_KINDS if k != "device" or os.geteuid() == 0]  # mknod needs root
    cases = [(t, k) for t in SPECIAL_TARGETS for k in kinds]
    # a folder is a folder's right in static/ and the store (nothing is read from it)
    return [(t, k) for t, k in cases if not (k == "folder" and t.startswith(("static/", "images/")))]


def test_special_files_are_refused_never_opened(site_factory, tmp_path):
    from helpers import make_site

    root = make_site(tmp_path, "bilingual")
    (root / "templates/i18n/core.yaml").exists() or pytest.skip("the templates have no i18n/ui.yaml")
    outside = tmp_path / "outside"
    outside.mkdir()
    cases = special_cases()
    proc = subprocess.run([sys.executable, "-c", SPECIAL_CHILD, str(root), str(outside), json.dumps(cases)],
                          capture_output=True, text=True, timeout=240, preexec_fn=limit_memory,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(cases), proc.stderr[-3000:]
    for target, kind, code, err in results:
        assert code == 1 and "Traceback" not in err and "internal error" not in err, (target, kind, err)
        assert f"error: {target}" in err, (target, kind, err)
        assert "fix: " in err, (target, kind, err)
        assert "hunter2" not in err
    print(f"{len(cases)} special files refused")


def without_root_powers() -> list[str]:
    """How to run a command so that file permissions apply to it: as is, or, for root, without
    the capabilities that let root read any file (setpriv)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    caps = "-dac_override,-dac_read_search"
    if setpriv is None or subprocess.run([setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "true"],
                                         capture_output=True).returncode:
        pytest.skip("running as root without setpriv: every file is readable")
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.mark.parametrize("target, built", [
    ("static/css", False), ("content/en", False), ("content/data", False), ("content/zh/01-intro.md", False),
    ("templates/i18n", False), ("templates/partials", False), ("content/drafts", True),
])
def test_an_unreadable_file_or_folder_is_an_error_naming_it(site, tmp_path, target, built):
    path = site / target
    if not path.exists():
        path.mkdir()
        (path / "idea.md").write_text("not yet\n", encoding="utf-8")
    before = snapshot(site / "build")
    path.chmod(0)
    try:
        proc = subprocess.run([*without_root_powers(), sys.executable, "-m", "zimage_site", "build", "--root", str(site)],
                              capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if built:  # a folder the build does not read (drafts) may stay private
        assert proc.returncode == 0, proc.stderr
        return
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {target}: cannot be read: Permission denied\n  fix: make it readable"), proc.stderr
    assert snapshot(site / "build") == before


def test_a_file_name_that_is_not_utf8_is_an_error_naming_it(site, capsys):
    for folder in ("content/en", "static", "templates/i18n"):
        path = os.path.join(os.fsencode(site / folder), b"bad-\xff.md")
        with open(path, "wb") as f:
            f.write(b"x")
        err = broken(capsys, site)
        assert err.startswith(f"error: {folder}/bad-\\xff.md: the file name is not UTF-8 text"), err
        os.unlink(path)


# --------------------------------------------------------------------------- 8. user strings in XML

HOSTILE_TEXT = ['"/><script xmlns="http://www.w3.org/1999/xhtml">alert(1)</script><x y="', "'", '"', "<", ">", "&",
                "&amp;", "]]>", "<!--", "a\"b'c<d>e&f", "zh-CN\" onload=\"x", "<?xml-stylesheet href='x'?>"]


@pytest.mark.parametrize("value", HOSTILE_TEXT + ["zh_CN", "zh CN", "", "x-default", "zh-", "-zh", "zh--CN", "中文"])
def test_a_locale_that_is_not_a_bcp47_tag_is_refused(site, capsys, value):
    edit(site / "site.yaml", "locale: zh-CN", f"locale: {json.dumps(value)}")
    err = broken(capsys, site)
    assert err.startswith('error: site.yaml, line 5, key "languages.zh.locale": ') and "BCP 47" in err, err
    assert "fix: the BCP 47 tag" in err


@pytest.mark.parametrize("value", ["zh-CN", "en", "zh-Hans-CN", "en-GB-oxendict", "es-419", "zh-yue-HK", "x-private", "de-CH-1996"])
def test_bcp47_tags_are_accepted(value):
    from zimage_site.config import _locale

    assert _locale(value) is None


def test_every_string_of_the_sitemap_is_escaped(site):
    """Whatever a value of site.yaml holds (the checks of config.py aside), sitemap.xml stays the
    same tree: the strings come back from an XML parser exactly as they went in."""

    from lxml import etree

    from zimage_site.config import load_config
    from zimage_site.render import sitemap

    config = load_config(site)
    for value in HOSTILE_TEXT:
        config.languages = {code: lang.model_copy(update={"locale": value + code}) for code, lang in config.languages.items()}
        config.base_url = "https://x.example/" + value + "/"
        tree = etree.fromstring(sitemap(config, lastmod=value).encode("utf-8"))  # strict XML
        names = {etree.QName(el).localname for el in tree.iter()}
        assert names == {"urlset", "url", "loc", "lastmod", "link"}, names
        hreflangs = [el.get("hreflang") for el in tree.iter("{http://www.w3.org/1999/xhtml}link")]
        assert set(hreflangs) == {value + code for code in config.languages} | {"x-default"}
        assert {el.text for el in tree.iter("{*}loc")} == {config.page_url(c) for c in config.languages}
        assert {el.text for el in tree.iter("{*}lastmod")} == {value}


# --------------------------------------------------------------------------- 9. links that leave the site

# Spellings of a link to another host or scheme that a browser follows although they look local,
# or that the page must not carry; every place a link comes from is tried with each.
HOSTILE_LINKS = ["/\\evil.example/", "/\t/evil.example/", "/\n/evil.example/", "/\r\n/evil.example/", "//evil.example/",
                 "\\\\evil.example/", " //evil.example/", "/\\/evil.example/", "\t//evil.example",
                 "mailto:a@evil.example", "MAILTO:a@evil.example", "ftp://evil.example/", "tel:+100",
                 "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,<b>x</b>",
                 "vbscript:x", "file:///etc/passwd", "https://[::1/", "https://[evil.example]/", "http://",
                 "https:evil.example", "https:/evil.example", "x.html", "../x", "/../x", "/a/%2e%2e/x", "?x=1",
                 "https://evil.example/\"onmouseover=\"x", "https://evil.example/<script>"]


def published_links(folder: Path) -> list[tuple[str, str]]:
    """Every href and src of the built pages, resolved by the WHATWG parser against the page."""
    from ada_url import join_url
    from lxml import html

    found = []
    for page in folder.rglob("*.html"):
        base = "https://fixture.example.org/" + page.relative_to(folder).as_posix()
        for el in html.fromstring(page.read_bytes()).iter():
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is not None:
                    found.append((value, join_url(base, value)))
    return found


def assert_refused_or_harmless(capsys, root: Path, file: str, explicit: bool = False) -> str:
    """The build refuses the link with its file, line and fix; or, where the link never became a
    link (Markdown leaves javascript: as text), nothing published leads off the site's schemes,
    or to evil.example unless the link says so (`explicit`: it is written http(s)://…)."""
    code, _, err = run_cli(capsys, "build", "--root", str(root), "--out", str(root / "out"))
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 1:
        assert err.startswith(f"error: {file}"), err
        assert "fix: " in err, err
        return "refused"
    assert code == 0, err
    from ada_url import URL

    for value, url in published_links(root / "out"):
        parsed = URL(url)
        assert explicit or "evil.example" not in parsed.hostname, (value, url)
        assert parsed.protocol in ("https:", "http:"), (value, url)
    return "harmless"


@pytest.mark.parametrize("href", HOSTILE_LINKS)
def test_no_spelling_of_a_foreign_link_is_published(site, capsys, href):
    intro = site / "content/en/01-intro.md"
    original = intro.read_text(encoding="utf-8")
    outcomes = {}
    # a button of ::: cta (YAML: any character can be written)
    edit(intro, 'href: "@github"', f"href: {json.dumps(href)}")
    outcomes["cta"] = assert_refused_or_harmless(capsys, site, "content/en/01-intro.md, line 14")
    intro.write_text(original, encoding="utf-8")
    # a Markdown link and image, written with <> so that spaces and newlines stay in the target
    for form in (f"[x](<{href}>)", f"![x](<{href}>)", f"[x]({href})"):
        if "\n" in href and "<" not in form:
            continue
        edit(intro, "See the [FAQ](#faq)", f"See {form} the [FAQ](#faq)")
        explicit = href.lower().startswith(("http:", "https:"))
        outcomes[form[:2]] = assert_refused_or_harmless(capsys, site, "content/en/01-intro.md", explicit)
        intro.write_text(original, encoding="utf-8")
    # a link of site.yaml (used by the cta as @github), and the base URL
    config = site / "site.yaml"
    text = config.read_text(encoding="utf-8")
    edit(config, "github: https://github.com/Tongyi-MAI/Z-Image", f"github: {json.dumps(href)}")
    assert assert_refused_or_harmless(capsys, site, 'site.yaml, line 26, key "links.github"') == "refused"
    config.write_text(text, encoding="utf-8")
    edit(config, "base_url: https://fixture.example.org/", f"base_url: {json.dumps(href)}")
    assert assert_refused_or_harmless(capsys, site, 'site.yaml, line 1, key "base_url"') == "refused"
    config.write_text(text, encoding="utf-8")
    assert outcomes["cta"] == "refused", outcomes


@pytest.mark.parametrize("href, published", [
    ("HTTPS://ok.example/a", "https://ok.example/a"), ("Http://ok.example/", "http://ok.example/"),
    ("/en/#faq", "/en/#faq"), ("https://[::1]/x", "https://[::1]/x"),
])
def test_good_links_in_any_case_are_published_in_lower_case(site, capsys, href, published):
    edit(site / "content/en/01-intro.md", 'href: "@github"', f"href: {json.dumps(href)}")
    code, _, err = run_cli(capsys, "build", "--root", str(site))
    assert code == 0, err
    assert f'href="{published}"' in (site / "build/en/index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("base", ["https://x.example//", "https://x.example/a//", "https://x.example/./",
                                  "https://x.example/a/../", "https://x.example/%2e%2e/", "https://x.example/?a/",
                                  "https://[::1/", "https://x.example"])
def test_a_base_url_whose_links_would_leave_the_site_is_refused(site, capsys, base):
    err = broken(capsys, site, "--base-url", base)
    assert err.startswith('error: key "--base-url": ') and "fix: pass an absolute URL ending in /" in err, err
    edit(site / "site.yaml", "base_url: https://fixture.example.org/", f"base_url: {json.dumps(base)}")
    assert broken(capsys, site).startswith('error: site.yaml, line 1, key "base_url": ')


def test_a_malformed_ipv6_url_in_the_facts_is_an_error_with_its_line(site, capsys):
    edit(site / "content/data/facts.yaml", "https://", "https://[::1", )
    err = broken(capsys, site)
    assert err.startswith("error: content/data/facts.yaml, line ") and "is not a valid URL" in err, err


# --------------------------------------------------------------------------- 10. planted caches

class _Payload:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):  # what a planted pickle does when loaded: run a function of its choosing
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("signed", [False, True])
def test_a_planted_cache_runs_no_code_and_changes_nothing(site, capsys, tmp_path, signed):
    """A cache file planted in .cache/ (unsigned: it was not written with this user's key) is
    ignored. Even one that carries the key (a damaged cache of one's own) holds only data: its
    objects cannot name a function to call, and an entry of the wrong shape is made again."""
    import marshal
    import pickle

    from zimage_site.cache import decode, sign

    seal = sign if signed else (lambda data: data)
    reference = snapshot(site / "build")
    ran = tmp_path / "ran"
    cache = site / ".cache"
    cache.mkdir(exist_ok=True)
    (cache / "parts.pickle").write_bytes(pickle.dumps((str(site.resolve()), {"config": _Payload(str(ran))})))
    forged = [{"$": "object", "type": t, "v": {"args": f"touch {ran}"}}
              for t in ("os:system", "subprocess:Popen", "builtins:eval", "zimage_site.cli:main",
                        "zimage_site.images.generate:os.system", "zimage_site:__builtins__")]
    for value in forged:
        with pytest.raises(ValueError):
            decode(value)
    (cache / "parts.json").write_bytes(seal(json.dumps({"format": 1, "root": str(site.resolve()), "parts": {
        name: ["key", value, []] for name, value in zip(("config", "data", "sections", "strings", "catalog", "images"),
                                                        forged)}}).encode()))
    keys = [f"{i:032x}" for i in range(40)]
    (cache / "sections.marshal").write_bytes(seal(marshal.dumps((1, {k: ("x",) if i % 2 else 42 for i, k in enumerate(keys)}))))
    for compiled in (cache / "jinja").glob("*"):  # compiled templates: code, if they were trusted
        compiled.write_bytes(seal(b"j2\n" + pickle.dumps(_Payload(str(ran)))))
    planted = 0
    for asset in (cache / "assets").glob("*/assets/**/*.*"):  # published as they are, if they were trusted
        asset.write_bytes(asset.read_bytes() + b"\n/* planted */ alert(1)\n")
        planted += 1
    assert planted
    assert run_cli(capsys, "build", "--root", str(site))[0] == 0
    assert not ran.exists()
    assert snapshot(site / "build") == reference


# --------------------------------------------------------------------------- 11. builds at once

def test_builds_of_one_site_at_once_all_succeed(site, tmp_path):
    """Builds of the same site folder, started together on an empty .cache/, each publish the same
    content-addressed asset folder: one rename wins, none fails."""
    rounds, width = (10, 8) if os.environ.get("ZIMAGE_SLOW") == "1" else (2, 4)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    failures = []
    for r in range(rounds):
        shutil.rmtree(site / ".cache", ignore_errors=True)
        procs = [subprocess.Popen([sys.executable, "-m", "zimage_site", "build", "--root", str(site),
                                   "--out", str(tmp_path / f"out-{r}-{i}")], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for i in range(width)]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            if proc.returncode:
                failures.append(err)
    assert failures == [], failures[0]
    outputs = {json.dumps(snapshot(tmp_path / f"out-{r}-{i}"), default=str, sort_keys=True) == json.dumps(
        snapshot(tmp_path / "out-0-0"), default=str, sort_keys=True) for r in range(rounds) for i in range(width)}
    assert outputs == {True}
    assert [p.name for p in (site / ".cache/assets").iterdir() if p.name.startswith(".")] == []


# --------------------------------------------------------------------------- 12. errors blame the right file

@pytest.fixture(scope="module")
def project_copy(tmp_path_factory):
    """The project's own site (it has charts), copied once; each test restores what it edits."""
    root = tmp_path_factory.mktemp("project") / "site"
    root.mkdir()
    for name in ("site.yaml", "content", "templates", "static"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copyfile)(REPO / name, root / name)
    return root


@pytest.mark.parametrize("old, new, expected", [
    ("Elo（{date}）", "Elo（{date}）{price}", "the zh text of 'chart_arena_title' has the field {price}, which is not filled here"),
    ("Elo ({date})", "Elo ({date}) {0}", "the en text of 'chart_arena_title' has the field {0}, which is not filled here"),
    ("Elo ({date})", "Elo ({date}) {", "the en text of 'chart_arena_title' has braces that are not a field"),
    ("Elo ({date})", "Elo ({date.year})", "the en text of 'chart_arena_title' has the field {date.year}, which is not"),
])
def test_a_wrong_field_in_a_ui_string_names_its_file_line_and_key(project_copy, capsys, old, new, expected):
    strings = project_copy / "templates/i18n/charts.yaml"
    original = strings.read_text(encoding="utf-8")
    try:
        edit(strings, old, new)
        code, _, err = run_cli(capsys, "build", "--root", str(project_copy), "--out", str(project_copy / "out"))
    finally:
        strings.write_text(original, encoding="utf-8")
    assert code == 1 and "Traceback" not in err, err
    lang = "zh" if "zh text" in expected else "en"
    assert f'\nerror: templates/i18n/charts.yaml, line 13, key "chart_arena_title.{lang}": {expected}' in err, err
    assert err.count("\nerror: ") == 1, err
    assert "\n  fix: use only these fields: {date}" in err, err


@pytest.mark.parametrize("folder", ["static", "templates", "content/en", "content/data", "templates/i18n", "static/css",
                                    "content"])
def test_a_folder_linked_from_outside_the_site_is_refused(site, capsys, tmp_path, folder):
    """A linked folder is read (and, for static/, published) only when it stays in the site."""
    outside = tmp_path / "elsewhere" / folder
    shutil.copytree(site / folder, outside) if (site / folder).exists() else outside.mkdir(parents=True)
    (outside / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY----- hunter2\n", encoding="utf-8")
    if (site / folder).exists():
        shutil.rmtree(site / folder)
    os.symlink(outside, site / folder)
    err = broken(capsys, site)
    assert err.startswith(f"error: {folder}: a symbolic link to ") and "outside the site folder" in err, err
    assert "hunter2" not in err
