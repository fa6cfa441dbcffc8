#!/usr/bin/env bash
# Device check of `zimage-site generate` on a CUDA machine, with the tiny test pipeline (random
# weights: its images are noise and go to a temporary folder only). Takes under 5 minutes.
#
# The machine has torch and transformers but not diffusers; install the carried wheel first:
#   pip install --no-deps --target /tmp/site .whl/*.whl; export PYTHONPATH=/tmp/site
#   bash scripts/device_check.sh
# Prints provenance JSON and timings; copies them to $OUT/ when $OUT is set.
# FULL_SIZE=1 also runs scripts/bench_routes.py: the routes measured at the real model's size
# (random weights), written to $OUT/performance.md (copy it to docs/performance.md).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$REPO:$REPO/tests"
export HF_HUB_OFFLINE=1
WORK=$(mktemp -d /tmp/zimage-device-check.XXXXXX)
RESULTS="$WORK/results"
mkdir -p "$RESULTS"
status=0

step() { echo; echo "=== $*"; }

step "environment"
python - <<'EOF' 2>&1 | tee "$RESULTS/environment.txt"
import importlib, sys
print("python", sys.version.split()[0])
for name in ("torch", "diffusers", "transformers", "accelerate", "tokenizers", "PIL", "yaml", "flash_attn"):
    try:
        m = importlib.import_module(name)
        print(f"{name:13} {getattr(m, '__version__', '?')}")
    except Exception as exc:
        print(f"{name:13} missing ({exc.__class__.__name__}: {exc})")
import torch
print("cuda available", torch.cuda.is_available(), "| cuda", torch.version.cuda)
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "| capability", torch.cuda.get_device_capability(0),
          "| bf16", torch.cuda.is_bf16_supported())
EOF

step "tiny pipeline"
python tests/tiny_pipeline.py "$WORK/tiny-zimage" >/dev/null 2>"$WORK/tiny.log" || { cat "$WORK/tiny.log"; echo "FAILED: building the tiny pipeline"; exit 1; }
echo "saved $WORK/tiny-zimage"

CLI=zimage_site
echo "command: python -m $CLI generate"

make_site() {
  mkdir -p "$1/content"
  cat > "$1/content/images.yaml" <<'EOF'
images:
  - id: check-512
    section: intro
    prompt: 国风茶馆门口的木质招牌，行书清晰写着「茗香」二字，暖色灯笼光，傍晚
    caption: {zh: 检查, en: Check}
    alt: {zh: 检查, en: Check}
    seed: 42
    width: 512
    height: 512
  - id: check-1024
    section: intro
    prompt: A studio portrait of a ginger Shiba Inu puppy in a knitted red scarf, soft window light
    caption: {zh: 检查, en: Check}
    alt: {zh: 检查, en: Check}
    seed: 7
    width: 1024
    height: 1024
  - id: check-cfg
    section: intro
    prompt: 一只在雪地里奔跑的北极狐，绿色极光
    caption: {zh: 检查, en: Check}
    alt: {zh: 检查, en: Check}
    seed: 3
    width: 512
    height: 512
    guidance: 3.5
EOF
}

ATTN=native
python -c "import flash_attn" >/dev/null 2>&1 && ATTN=flash

run_case() {  # name, extra args…
  local name=$1; shift
  step "generate: $name ($*)"
  make_site "$WORK/$name"
  local t0=$(date +%s.%N)
  timeout 240 python -m "$CLI" generate --root "$WORK/$name" --model "$WORK/tiny-zimage" --device cuda "$@" \
    > "$RESULTS/$name.stdout" 2> "$RESULTS/$name.stderr"
  local rc=$?
  local t1=$(date +%s.%N)
  cat "$RESULTS/$name.stdout"
  grep -v "^$" "$RESULTS/$name.stderr" | tail -n 15
  echo "exit $rc, wall $(python -c "print(f'{$t1-$t0:.1f}')") s"
  [ $rc -eq 0 ] || status=1
  for f in "$WORK/$name"/images/*.json; do
    [ -e "$f" ] || continue
    cp "$f" "$RESULTS/$name.$(basename "$f")"
  done
  local first
  first=$(ls "$WORK/$name"/images/check-512.*.json 2>/dev/null | head -n1)
  [ -n "$first" ] && { echo "--- provenance of check-512"; cat "$first"; }
}

run_case bf16
run_case attention-$ATTN --attention "$ATTN"
if [ "$ATTN" != native ]; then run_case attention-native --attention native; fi
run_case compile --compile
run_case offload --offload
step "fp16 must be refused"
python -m "$CLI" generate --root "$WORK/bf16" --model "$WORK/tiny-zimage" --device cuda --dtype fp16 2>&1 | tee "$RESULTS/fp16.txt"

step "same pixels as the first run (same key → same SHA-256)"
python - "$WORK" <<'EOF' 2>&1 | tee "$RESULTS/determinism.txt"
import json, sys, glob, os
work = sys.argv[1]
def shas(name):
    return {os.path.basename(p).split(".")[0]: json.load(open(p))["sha256"] for p in glob.glob(f"{work}/{name}/images/*.json")}
a = shas("bf16")
for other in ("compile", "offload"):
    b = shas(other)
    same = sorted(k for k in a if b.get(k) == a[k])
    print(f"bf16 vs {other}: identical {same} of {sorted(a)}")
EOF

step "benchmark: generate vs bare diffusers (tiny pipeline, cuda, 512 px)"
timeout 120 python scripts/bench_generate.py --device cuda --size 512 --images 4 2>&1 | grep -v -i warn | tail -n 6 | tee "$RESULTS/bench_generate.txt"

step "routes: dry run for a 16 GB card, then the automatic choice on this GPU"
python -m "$CLI" generate --root "$WORK/bf16" --model "$WORK/tiny-zimage" --dry-run --force --gpu-memory 16 2>&1 | tail -n 8 | tee "$RESULTS/routes-dry-run.txt"
run_case sequential-offload --route sequential-offload

if [ "${FULL_SIZE:-0}" = 1 ]; then
  # The real model's size with random bf16 weights: about 24 GiB of GPU memory, 25 GB of RAM, minutes.
  step "full-size routes: scripts/bench_routes.py"
  timeout 540 python scripts/bench_routes.py --out "$RESULTS/performance.md" 2>&1 | grep -v -i warn | tee "$RESULTS/bench_routes.txt" || status=1
fi

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  cp -r "$RESULTS"/. "$OUT"/
  echo; echo "results copied to $OUT"
fi
echo; echo "device check finished, status $status"
exit $status
