#!/usr/bin/env bash
# OpenMMLab's style checks (flake8, isort, yapf; settings in setup.cfg) from
# the installed packages, as .pre-commit-config.yaml runs them on commits.
#
#   bash tools/lint.sh          # check
#   bash tools/lint.sh --fix    # rewrite the files isort and yapf would change
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${MMFISHNET_PYTHON:-$repo/.venv/bin/python}
cd "$repo"
sources=(mmfishnet tools tests configs setup.py)
if [[ ${1:-} == --fix ]]; then
  "$python" -m isort "${sources[@]}"
  "$python" -m yapf --in-place --recursive --parallel "${sources[@]}"
fi
"$python" -m flake8 "${sources[@]}"
"$python" -m isort --check-only --diff "${sources[@]}"
"$python" -m yapf --diff --recursive --parallel "${sources[@]}"
echo "[lint] flake8, isort and yapf: clean"
