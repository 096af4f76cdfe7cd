#!/usr/bin/env bash
# The project's test command: set up the environment if needed (idempotent,
# see tools/setup_env.sh), then run the test suite on the CPU.
#
#   bash tools/run_tests.sh [pytest args]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/tools/setup_env.sh"
venv=${MMFISHNET_VENV:-$repo/.venv}
cd "$repo"
exec "$venv/bin/python" -m pytest tests "$@"
