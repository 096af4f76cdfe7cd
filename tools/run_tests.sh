#!/usr/bin/env bash
# The project's test command: set up the environment if needed (idempotent,
# see tools/setup_env.sh), then run the test suite on the CPU.
#
#   bash tools/run_tests.sh [pytest args]
#   MMFISHNET_STACK=oldest bash tools/run_tests.sh -m compat   # torch 2.1 + numpy 1.26
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/tools/setup_env.sh"
case ${MMFISHNET_STACK:-newest} in
  oldest) default_venv=.venv-oldest ;;
  *) default_venv=.venv ;;
esac
venv=${MMFISHNET_VENV:-$repo/$default_venv}
cd "$repo"
exec "$venv/bin/python" -m pytest tests "$@"
