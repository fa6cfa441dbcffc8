#!/usr/bin/env python3
"""Build speed: a full build of the real site, and of a synthetic site of N sections per language.

    python scripts/bench_build.py [--sections 1000] [--repeat 5]

Prints wall times (best and median of the repeats) and ms per section. Nothing here is asserted:
the aims (well under 1 s for the real site, at most 2 ms per section at 1,000 sections) are
tracked by reading the figures.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from zimage_site.site import Site  # noqa: E402

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


def synthetic_site(target: Path, sections: int) -> Path:
    """The real site's config, templates, static files and data, with N generated sections per language."""
    target.mkdir(parents=True)
    for name in ("site.yaml", "templates", "static"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copyfile)(src, target / name)
    shutil.copytree(REPO / "content/data", target / "content/data")
    from zimage_site.data import load_data

    fact = sorted(load_data(REPO).facts)[0]
    text = {
        "zh": dict(title="第", sub="小节", item="要点", para="造相是一个高效的文生图模型，参数量为"),
        "en": dict(title="Section", sub="Subsection", item="Point", para="Z-Image is an efficient model with"),
    }
    for lang, words in text.items():
        folder = target / "content" / lang
        folder.mkdir(parents=True)
        for n in range(1, sections + 1):
            (folder / f"{n:04d}.md").write_text(
                SECTION.format(n=n, next=n % sections + 1, fact=fact, **words), encoding="utf-8")
    site_yaml = target / "site.yaml"
    lines = [ln if not ln.startswith("nav:") else "nav: [s0001]" for ln in site_yaml.read_text().splitlines()]
    site_yaml.write_text("\n".join(lines) + "\n")
    return target


def timed_builds(root: Path, repeat: int) -> tuple[list[float], Site]:
    times = []
    site = None
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeat):
            site = Site(root, allow_placeholders=True)
            start = time.perf_counter()
            site.build(Path(out) / "build")
            times.append(time.perf_counter() - start)
    return times, site


def report(label: str, times: list[float], site: Site, pages: int, sections: int) -> None:
    best, median = min(times), statistics.median(times)
    phases = ", ".join(f"{k} {v * 1000:.0f}" for k, v in site.timings.items())
    print(f"{label}: best {best * 1000:.0f} ms, median {median * 1000:.0f} ms over {len(times)} builds; "
          f"{pages} pages, {sections} sections → {median * 1000 / sections:.2f} ms per section "
          f"({median * 1000 / pages:.1f} ms per page)")
    print(f"  phases of the last build (ms): {phases}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    times, site = timed_builds(REPO, args.repeat)
    n = sum(len(s) for s in site.sections.values())
    report("real site", times, site, len(site.sections), n)

    with tempfile.TemporaryDirectory() as tmp:
        root = synthetic_site(Path(tmp) / "site", args.sections)
        times, site = timed_builds(root, max(2, args.repeat // 2))
        report(f"synthetic site ({args.sections} sections per language)", times, site, len(site.sections),
               2 * args.sections)


if __name__ == "__main__":
    main()
