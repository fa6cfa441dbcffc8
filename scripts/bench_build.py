#!/usr/bin/env python3
"""Build speed, as ratios measured in one run: whole-process builds, paired, medians.

    python scripts/bench_build.py [--files 1000] [--repeat 10] [--compare-with DIR] [--no-hugo]
                                  [--corpus varied|uniform]

Prints, for the same synthetic Markdown (1 file and --files files per language, output on tmpfs;
by default a varied corpus: no two sections alike, in prose, headings, lists, tables, notes, and
code in ten languages, so that no memo of the engine hides what highlighting or parsing costs):

- zimage-site cold (no rendered sections and no parts in .cache/; compiled templates kept), the same cold build
  with `--processes 1` (no fork pool: whether the pool pays) and warm (nothing changed since the
  last build), and with --compare-with DIR the same builds of another checkout
  of zimage-site (e.g. `git worktree add /tmp/base <commit>`), whose templates it uses, after a
  check that both outputs are byte-identical (a difference stops the run and names the files).
  A checkout from before a change of the site files' format (one that cannot build this
  checkout's site.yaml and data) builds its own site files instead, its real site included, and
  the outputs are not compared (the header says so);
- a bare single-process markdown-it-py + Jinja2 script (front matter, the same plugins, Pygments
  for code, one page per language): the floor a Python generator can hope for;
- Hugo, when `hugo` is on the PATH (Debian: apt-get install hugo);
- the real site's warm whole-process `zimage-site build`, against `python -c "import jinja2,
  markdown_it, yaml"` on the same machine.

Each round runs every command once, in turn (paired); the figures are medians over the rounds, of
wall-clock time and of CPU time (user + system, the process and the children it waited for: on a
busy machine the CPU time shows what a build costs when the wall-clock time cannot).
Nothing is asserted: the aims are read from the ratios.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# --corpus uniform: every section the same but for its number (one code block, repeated: the
# highlighted-code memo then hides what Pygments costs). Kept to compare with earlier figures.
SECTION = """---
id: s{n:04d}
order: {n}
title: {title} {n}
---

{para} {{fact}}`{fact}`，见 [下一节](#s{next:04d})。

### {sub}

- {item} **一** 与 *二*
- {item} `code`

| a | b |
|---|---|
| 1 | 2 |

::: note tip
{para}
:::

```python
import torch
pipe = ZImagePipeline.from_pretrained("Tongyi-MAI/Z-Image-Turbo", torch_dtype=torch.bfloat16)
```
"""

TEXT = {
    "zh": dict(title="第", sub="小节", item="要点", para="造相是一个高效的文生图模型，参数量为"),
    "en": dict(title="Section", sub="Subsection", item="Point", para="Z-Image is an efficient model with"),
}

# --corpus varied (the default): every section different from every other, in both languages —
# prose of varying length, headings, lists (nested, ordered), tables of varying shape, notes, and
# one to three code blocks in ten languages whose code, comments included, is the section's own.
WORDS = {
    "zh": ("模型 图像 文本 生成 扩散 采样 步数 分辨率 显存 推理 权重 中文 英文 提示词 画面 细节 光照 风格 "
           "速度 质量 评测 开源 部署 量化 缓存 批量 种子 噪声 编码器 解码器 注意力 参数 训练 数据 蒸馏").split(),
    "en": ("model image text generation diffusion sampling steps resolution memory inference weights prompt "
           "detail lighting style speed quality benchmark open deployment quantization cache batch seed noise "
           "encoder decoder attention parameters training data distillation latency throughput").split(),
}
VARIED = {
    "zh": dict(title="第 {n} 节：{a}与{b}", sub="{a}的{b}（{n}.{k}）", note="注意：{text}", see="见",
               link="相关内容", cols=("项目", "数值", "单位", "说明", "备注"), comment="计算第 {k} 项"),
    "en": dict(title="Section {n}: {a} and {b}", sub="The {b} of {a} ({n}.{k})", note="Note: {text}", see="see",
               link="related", cols=("Item", "Value", "Unit", "Notes", "Remarks"), comment="compute item {k}"),
}
CODE_LANGS = ("python", "javascript", "bash", "json", "yaml", "rust", "go", "c", "toml", "sql")


def _sentence(rng, lang: str, n: int) -> str:
    words = [rng.choice(WORDS[lang]) for _ in range(rng.randint(6, 16))]
    i = rng.randrange(len(words))
    words[i] = f"**{words[i]}**" if rng.random() < 0.5 else f"`{words[i]}_{n}`"
    if lang == "zh":
        return "".join(words) + rng.choice(("。", "，而且更快。", "；这是第 %d 个例子。" % rng.randint(1, 999)))
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice((".", ", and faster.", f"; example {rng.randint(1, 999)}."))


def _paragraph(rng, lang: str, n: int) -> str:
    return ("" if lang == "zh" else " ").join(_sentence(rng, lang, n) for _ in range(rng.randint(2, 6)))


def _code(rng, lang: str, code_lang: str, n: int, k: int) -> str:
    """A code block of 4 to 24 lines in `code_lang`, unique to section n, block k and the language."""
    name = f"{rng.choice(WORDS['en'])}_{n}_{k}"
    note = VARIED[lang]["comment"].format(k=k)
    lines = []
    for i in range(rng.randint(4, 24)):
        a, b, w = rng.randint(0, 9999), rng.randint(1, 512), rng.choice(WORDS["en"])
        quoted = '"' + f"{name}-{b}" + '"'
        lines.append({
            "python": (f"# {note}" if i == 0 else
                       rng.choice((f"{w}_{i} = {name}({a}, steps={b})", f"if {w} > {a}:\n    return {w} * {b}",
                                   f'print(f"{{{w}!r}}: {a}")', f"for {w} in range({b}):\n    total += {w} ** 2",
                                   f"def {name}_{i}({w}, scale={b / 7:.3f}):\n    return {w} * scale"))),
            "javascript": (f"// {note}" if i == 0 else
                           rng.choice((f"const {w}{i} = await {name}({a}, {{ steps: {b} }});",
                                       f"if ({w} > {a}) {{ return {w} * {b}; }}", f"console.log(`{w}: ${{{a}}}`);",
                                       f"for (let i = 0; i < {b}; i++) {{ sum += i * {a}; }}"))),
            "bash": (f"# {note}" if i == 0 else
                     rng.choice((f"export {w.upper()}_{i}={a}", f'echo "{w} {a}" | grep -c {w}',
                                 f"for f in *.{w}; do cp \"$f\" /tmp/{name}-{b}/; done",
                                 f"python -m zimage_site build --out /tmp/{w}-{a}"))),
            "json": f'  "{w}_{i}": {rng.choice((str(a), f"{a / b:.4f}", quoted, "true", "null"))},',
            "yaml": (f"# {note}" if i == 0 else
                     f"{w}_{i}: {rng.choice((str(a), f'{a / b:.3f}', f'[{a}, {b}]', f'{name}-{b}', 'true'))}"),
            "rust": (f"// {note}" if i == 0 else
                     rng.choice((f"let {w}_{i}: u32 = {name}({a}, {b});", f"if {w} > {a} {{ return {w} * {b}; }}",
                                 f'println!("{{}} {w}", {a});', f"for i in 0..{b} {{ sum += i * {a}; }}"))),
            "go": (f"// {note}" if i == 0 else
                   rng.choice((f"{w}{i} := {name}({a}, {b})", f"if {w} > {a} {{ return {w} * {b} }}",
                               f'fmt.Printf("%d {w}\\n", {a})', f"for i := 0; i < {b}; i++ {{ sum += i * {a} }}"))),
            "c": (f"/* {note} */" if i == 0 else
                  rng.choice((f"int {w}_{i} = {name}({a}, {b});", f"if ({w} > {a}) return {w} * {b};",
                              f'printf("%d {w}\\n", {a});', f"for (int i = 0; i < {b}; i++) sum += i * {a};"))),
            "toml": (f"# {note}" if i == 0 else
                     f"{w}_{i} = {rng.choice((str(a), f'{a / b:.2f}', quoted, 'false', f'[{a}, {b}]'))}"),
            "sql": (f"-- {note}" if i == 0 else
                    rng.choice((f"SELECT {w}, COUNT(*) FROM {name} WHERE steps > {a} GROUP BY {w};",
                                f"INSERT INTO {name} ({w}) VALUES ({a});", f"UPDATE {name} SET {w} = {b} WHERE id = {a};"))),
        }[code_lang])
    body = "\n".join(lines)
    return "{\n" + body.rstrip(",") + "\n}" if code_lang == "json" else body


def varied_section(n: int, lang: str, files: int, facts: list[str]) -> str:
    """Section n of `files` in `lang`: its own prose, lists, tables, notes and code."""
    import random

    rng = random.Random(f"{lang}:{n}")  # the same corpus on every run
    t = VARIED[lang]
    a, b = rng.sample(WORDS[lang], 2)
    parts = [f"---\nid: s{n:04d}\norder: {n}\ntitle: \"{t['title'].format(n=n, a=a, b=b)}\"\n---\n",
             f"{_paragraph(rng, lang, n)} {{fact}}`{rng.choice(facts)}`，{t['see']} "
             f"[{t['link']} {n}](#s{rng.randint(1, files):04d})。" if lang == "zh" else
             f"{_paragraph(rng, lang, n)} {{fact}}`{rng.choice(facts)}`, {t['see']} "
             f"[{t['link']} {n}](#s{rng.randint(1, files):04d})."]
    kinds = ["prose", "list", "table", "code", "note", "prose", "code"]
    rng.shuffle(kinds)
    for k, kind in enumerate(kinds[:rng.randint(3, len(kinds))]):
        if rng.random() < 0.4:
            parts.append(f"### {t['sub'].format(a=rng.choice(WORDS[lang]), b=rng.choice(WORDS[lang]), n=n, k=k)}")
        if kind == "prose":
            parts.append(_paragraph(rng, lang, n))
        elif kind == "list":
            ordered = rng.random() < 0.4
            items = []
            for i in range(rng.randint(3, 7)):
                items.append(f"{f'{i + 1}.' if ordered else '-'} {_sentence(rng, lang, n)}")
                if rng.random() < 0.25:
                    items.append(f"   - {_sentence(rng, lang, n)}")
            parts.append("\n".join(items))
        elif kind == "table":
            cols = t["cols"][:rng.randint(2, 5)]
            rows = [f"| {' | '.join(cols)} |", "|" + "---|" * len(cols)]
            for _ in range(rng.randint(2, 8)):
                cells = [rng.choice(WORDS[lang])] + [str(rng.choice((rng.randint(1, 99999), round(rng.random() * 100, 2),
                                                                       rng.choice(WORDS[lang])))) for _ in cols[1:]]
                rows.append(f"| {' | '.join(cells)} |")
            parts.append("\n".join(rows))
        elif kind == "note":
            parts.append(f"::: note {rng.choice(('tip', 'warning', 'info'))}\n"
                         f"{t['note'].format(text=_sentence(rng, lang, n))}\n:::")
        else:
            code_lang = CODE_LANGS[(n + k + rng.randrange(len(CODE_LANGS))) % len(CODE_LANGS)]
            parts.append(f"```{code_lang}\n{_code(rng, lang, code_lang, n, k)}\n```")
    return "\n\n".join(parts) + "\n"


BARE = r'''
import sys, re
from pathlib import Path
import yaml, jinja2
from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.myst_role import myst_role_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

root, out = Path(sys.argv[1]), Path(sys.argv[2])
fmt = HtmlFormatter(nowrap=True)
md = (MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).use(front_matter_plugin)
      .use(container_plugin, "block", validate=lambda *_: True).use(attrs_block_plugin).use(attrs_plugin)
      .use(anchors_plugin, min_level=3, max_level=4).use(footnote_plugin).use(deflist_plugin).use(myst_role_plugin))
md.add_render_rule("fence", lambda self, t, i, o, e: '<pre class="highlight"><code>'
                   + highlight(t[i].content, get_lexer_by_name(t[i].info.strip() or "text"), fmt) + "</code></pre>\n")
page = jinja2.Environment(autoescape=True).from_string(
    "<!doctype html><html lang={{ lang }}><title>{{ lang }}</title><main>{% for s in sections %}"
    "<section id={{ s.id }}><h2>{{ s.title }}</h2>{{ s.html | safe }}</section>{% endfor %}</main></html>")
for lang in ("zh", "en"):
    sections = []
    for path in sorted((root / "content" / lang).glob("*.md")):
        text = path.read_text(encoding="utf-8")
        meta = yaml.safe_load(text.split("---", 2)[1])
        sections.append({**meta, "html": md.render(text)})
    sections.sort(key=lambda s: s["order"])
    target = out / ("" if lang == "zh" else "en") / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page.render(lang=lang, sections=sections), encoding="utf-8")
'''

HUGO_CONFIG = """baseURL = "https://example.org/"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
defaultContentLanguage = "zh"
[languages.zh]
contentDir = "content/zh"
weight = 1
[languages.en]
contentDir = "content/en"
weight = 2
[markup.highlight]
noClasses = false
[markup.goldmark.renderer]
unsafe = false
"""
HUGO_HOME = """<!doctype html><html lang="{{ .Site.Language.Lang }}"><title>{{ .Site.Title }}</title><main>
{{ range .Site.RegularPages.ByWeight }}<section id="{{ .Params.id }}"><h2>{{ .Title }}</h2>{{ .Content }}</section>
{{ end }}</main></html>
"""


def synthetic_site(target: Path, files: int, templates: Path, corpus: str = "varied", site: Path = REPO) -> Path:
    """The config, static files and data of the real site in checkout `site`, `templates`, and N
    sections per language."""
    import yaml

    target.mkdir(parents=True)
    for name in ("site.yaml", "static"):
        src = site / name
        (shutil.copytree if src.is_dir() else shutil.copyfile)(src, target / name)
    shutil.copytree(templates, target / "templates")
    shutil.copytree(site / "content/data", target / "content/data")
    if (site / "content/i18n").is_dir():  # the glossary of a derived language
        shutil.copytree(site / "content/i18n", target / "content/i18n")
    # the fact keys, read as plain YAML (the checkout's own engine may read them differently)
    facts = sorted(yaml.safe_load((site / "content/data/facts.yaml").read_text(encoding="utf-8"))["facts"])
    for lang, words in TEXT.items():
        folder = target / "content" / lang
        folder.mkdir(parents=True)
        for n in range(1, files + 1):
            text = (varied_section(n, lang, files, facts) if corpus == "varied" else
                    SECTION.format(n=n, next=n % files + 1, fact=facts[0], **words))
            (folder / f"{n:04d}.md").write_text(text, encoding="utf-8")
    # the same work as the bare script: the two written languages (no page derived from another)
    site_yaml = target / "site.yaml"
    config = yaml.safe_load(site_yaml.read_text(encoding="utf-8"))
    config["languages"] = {code: lang for code, lang in config["languages"].items() if "from" not in lang}
    config["nav"] = ["s0001"]
    site_yaml.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def hugo_site(source: Path, target: Path) -> Path:
    """The same Markdown as a Hugo site: one page per language listing every section."""
    (target / "layouts").mkdir(parents=True)
    (target / "config.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    (target / "layouts/index.html").write_text(HUGO_HOME, encoding="utf-8")
    (target / "layouts/_default").mkdir()
    (target / "layouts/_default/single.html").write_text("", encoding="utf-8")
    (target / "layouts/_default/list.html").write_text("", encoding="utf-8")
    for lang in TEXT:
        folder = target / "content" / lang
        folder.mkdir(parents=True)
        for path in sorted((source / "content" / lang).glob("*.md")):
            text = path.read_text(encoding="utf-8")
            n = int(path.stem)
            (folder / path.name).write_text(text.replace("---\n", f"---\nweight: {n}\n", 1), encoding="utf-8")
    return target


class Command:
    def __init__(self, label: str, argv: list[str], env: dict | None = None, before=None) -> None:
        self.label, self.argv, self.env, self.before = label, argv, env, before
        self.times: list[float] = []
        self.cpu_times: list[float] = []  # user + system time of the process and its children

    def run(self) -> None:
        if self.before:
            self.before()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(self.argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              cwd=tempfile.gettempdir())  # not a checkout: `-m` would import its package first
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"{self.label} failed:\n{proc.stderr[-2000:]}")
        self.times.append(elapsed)
        self.cpu_times.append(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime)

    def clear(self) -> None:
        self.times.clear()
        self.cpu_times.clear()

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_times)


def zimage(label: str, code: Path, root: Path, out: Path, warm: bool, *options: str) -> Command:
    env = {**os.environ, "PYTHONPATH": str(code)}
    env.pop("SOURCE_DATE_EPOCH", None)

    def forget() -> None:
        if not warm:
            (root / ".cache" / "sections.marshal").unlink(missing_ok=True)
            # the parts (older checkouts kept them in parts.pickle), and the last build kept whole
            for parts in ("parts.json", "parts.pickle", *(p.name for p in (root / ".cache").glob("build-*.marshal"))):
                (root / ".cache" / parts).unlink(missing_ok=True)
            shutil.rmtree(root / ".cache" / "assets", ignore_errors=True)

    return Command(label, [sys.executable, "-m", "zimage_site", "build", "--root", str(root), "--out", str(out),
                           "--allow-placeholders", *options], env, forget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="sections per language (default 1000)")
    parser.add_argument("--repeat", type=int, default=10, help="rounds (default 10)")
    parser.add_argument("--compare-with", type=Path, metavar="DIR", help="another checkout of zimage-site")
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--corpus", choices=("varied", "uniform"), default="varied",
                        help="varied (default): no two sections alike, code in ten languages; uniform: the "
                             "earlier corpus, one code block repeated in every section")
    args = parser.parse_args()

    shm = Path("/dev/shm")
    tmp = Path(tempfile.mkdtemp(prefix="zimage-bench-", dir=shm if shm.is_dir() else None))
    # Every command runs with compiled byte-code, as an installed package does (an environment that
    # sets PYTHONDONTWRITEBYTECODE would otherwise compile the checkout's modules in every run, but
    # not the libraries' ones): written once, by the warm-up round, to a folder of this run.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    try:
        hugo = shutil.which("hugo") if not args.no_hugo else None
        rows: dict[str, dict[int, Command]] = {}
        extra: list[Command] = []
        codes = [("zimage-site", REPO)] + ([("before", args.compare_with.resolve())] if args.compare_with else [])
        own_inputs = args.compare_with is not None and not _builds(args.compare_with.resolve(), tmp, args.corpus)
        for files in (1, args.files):
            for name, code in codes:
                site = code if own_inputs else REPO
                root = synthetic_site(tmp / f"{name}-{files}", files, code / "templates", args.corpus, site)
                out = tmp / f"out-{name}-{files}"
                subprocess.run([sys.executable, "-m", "zimage_site", "build", "--root", str(root), "--out", str(out)],
                               env={**os.environ, "PYTHONPATH": str(code)}, check=True, capture_output=True,
                               cwd=tempfile.gettempdir())
                rows.setdefault(f"{name} cold", {})[files] = zimage(f"{name} cold {files}", code, root, out, False)
                rows.setdefault(f"{name} warm", {})[files] = zimage(f"{name} warm {files}", code, root, out, True)
                if name == "zimage-site":  # the same cold build without the fork pool: does the pool pay?
                    rows.setdefault(f"{name} cold, one process", {})[files] = zimage(
                        f"{name} cold one process {files}", code, root, out, False, "--processes", "1")
            source = tmp / f"zimage-site-{files}"
            script = tmp / "bare.py"
            script.write_text(BARE, encoding="utf-8")
            rows.setdefault("bare markdown-it-py + Jinja2", {})[files] = Command(
                f"bare {files}", [sys.executable, str(script), str(source), str(tmp / f"out-bare-{files}")])
            if hugo:
                site = hugo_site(source, tmp / f"hugo-{files}")
                rows.setdefault("Hugo", {})[files] = Command(
                    f"hugo {files}", [hugo, "--quiet", "-s", str(site), "-d", str(tmp / f"out-hugo-{files}")])
        real = _real_site(REPO, tmp / "real")
        real_builds = [zimage(f"{name} real site, warm", code, real if name == "zimage-site" else
                              _real_site(code, tmp / f"real-{name}") if own_inputs else _copy(real, tmp / f"real-{name}", code),
                              tmp / f"out-real-{name}", True) for name, code in codes]
        for command in real_builds:
            command.before = None
            command.run()  # fills .cache/
            command.clear()
        floor = Command("import floor", [sys.executable, "-c", "import jinja2, markdown_it, yaml"])
        extra = real_builds + [floor]
        commands = [c for row in rows.values() for c in row.values()] + extra
        for command in commands:  # a round to warm the file cache and .cache/
            command.run()
            command.clear()
        if own_inputs:
            identical = (f"; {args.compare_with} builds its own site files (this checkout's do not build with "
                         "it), so the outputs are not compared")
        elif args.compare_with:  # the same sources give the same output, byte for byte
            for files in (1, args.files):
                now, before = _tree(tmp / f"out-zimage-site-{files}"), _tree(tmp / f"out-before-{files}")
                if now != before:
                    differ = sorted(k for k in now.keys() | before.keys() if now.get(k) != before.get(k))
                    raise SystemExit(f"the output differs from {args.compare_with}'s ({files} files/lang): "
                                     f"{', '.join(differ[:10])}")
            identical = f"; output byte-identical to {args.compare_with}'s ({len(now)} files)"
        else:
            identical = ""
        for _ in range(args.repeat):
            for command in commands:
                command.run()

        ref = rows["zimage-site cold"]
        print(f"Medians of {args.repeat} paired whole-process builds, {args.corpus} corpus; output on {tmp.parent}; "
              f"{os.cpu_count()} CPUs; Hugo: {_hugo_version(hugo) if hugo else 'not found (apt-get install hugo)'}"
              f"{identical}")
        print(f"| | floor (1 file) | {args.files} files/lang | ratio to zimage-site cold | "
              f"CPU (user+sys), {args.files} files/lang | CPU ratio |")
        print("|---|---|---|---|---|---|")
        for label, row in rows.items():
            big = row[args.files]
            print(f"| {label} | {row[1].median:.2f} s | {big.median:.2f} s ({big.median * 1000 / (2 * args.files):.2f} "
                  f"ms/file) | {big.median / ref[args.files].median:.2f} | {big.cpu:.2f} s | "
                  f"{big.cpu / ref[args.files].cpu:.2f} |")
        print(f"\nper-round ratios at {args.files} files/lang (each round's builds ran side by side), "
              f"median [min–max] of {args.repeat}:")
        for label, row in rows.items():
            if label != "zimage-site cold":
                big, cold = row[args.files], ref[args.files]
                wall = sorted(c / b for b, c in zip(big.times, cold.times))
                cpu = sorted(c / b for b, c in zip(big.cpu_times, cold.cpu_times))
                print(f"- zimage-site cold / {label}: wall {statistics.median(wall):.2f} [{wall[0]:.2f}–{wall[-1]:.2f}], "
                      f"CPU {statistics.median(cpu):.2f} [{cpu[0]:.2f}–{cpu[-1]:.2f}]")
        warm, cold = rows["zimage-site warm"][args.files].median, ref[args.files].median
        print(f"\nwarm rebuild, nothing changed, {args.files} files/lang: {warm:.2f} s = {warm / cold:.2f} × cold; "
              f"CPU {rows['zimage-site warm'][args.files].cpu:.2f} s")
        if "before cold" in rows:
            b = rows["before cold"][args.files].median
            print(f"before → now, cold {args.files} files/lang: {b:.2f} s → {cold:.2f} s ({cold / b:.2f} ×); CPU "
                  f"{rows['before cold'][args.files].cpu:.2f} s → {ref[args.files].cpu:.2f} s")
        for command in real_builds:
            print(f"{command.label}: {command.median * 1000:.0f} ms = {command.median / floor.median:.2f} × "
                  f"`python -c \"import jinja2, markdown_it, yaml\"` ({floor.median * 1000:.0f} ms); CPU "
                  f"{command.cpu * 1000:.0f} ms = {command.cpu / floor.cpu:.2f} × ({floor.cpu * 1000:.0f} ms)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _real_site(code: Path, target: Path) -> Path:
    """A copy of the real site of checkout `code` (its inputs only, no .cache/)."""
    target.mkdir()
    for name in ("site.yaml", "content", "templates", "static", "images"):
        src = code / name
        if src.exists():
            (shutil.copytree if src.is_dir() else shutil.copyfile)(src, target / name)
    return target


def _builds(code: Path, tmp: Path, corpus: str) -> bool:
    """Whether checkout `code` builds this checkout's site files (config, data, static) with its
    own templates. A checkout from before a change of their format does not: then each checkout
    builds its own site files, and the outputs cannot be compared."""
    root = synthetic_site(tmp / "probe", 1, code / "templates", corpus)
    try:
        return subprocess.run([sys.executable, "-m", "zimage_site", "build", "--root", str(root), "--out",
                               str(tmp / "probe-out")], env={**os.environ, "PYTHONPATH": str(code)},
                              capture_output=True, cwd=tempfile.gettempdir()).returncode == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(tmp / "probe-out", ignore_errors=True)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _copy(real: Path, target: Path, code: Path) -> Path:
    """The real site with the templates of another checkout."""
    shutil.copytree(real, target, ignore=shutil.ignore_patterns(".cache"))
    shutil.rmtree(target / "templates")
    shutil.copytree(code / "templates", target / "templates")
    return target


def _hugo_version(hugo: str) -> str:
    out = subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.split()
    return out[1] if len(out) > 1 else "?"


if __name__ == "__main__":
    main()
