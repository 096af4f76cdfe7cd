#!/usr/bin/env bash
# The project's test command: set up the environment if needed (idempotent,
# see tools/setup_env.sh), then run the test suite on the CPU in
# pytest-xdist workers, one more than the cores (at most 4), each with its
# share of the cores as torch threads (at least one): many tests wait on
# subprocesses, imports and Python more than on arithmetic, so workers fill
# the cores better than threads do (on 2 cores of a Xeon, 2026-12-07, in
# the same code: 3 workers 11 min 53 s and 12 min 23 s, 2 workers 12 min
# 17 s).
#
#   bash tools/run_tests.sh [pytest args]
#   MMFISHNET_STACK=oldest bash tools/run_tests.sh -m compat   # torch 2.1 + numpy 1.26
#   MMFISHNET_TEST_WORKERS=1 bash tools/run_tests.sh ...       # in one process
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/tools/setup_env.sh"
case ${MMFISHNET_STACK:-newest} in
  oldest) default_venv=.venv-oldest ;;
  *) default_venv=.venv ;;
esac
venv=${MMFISHNET_VENV:-$repo/$default_venv}
cd "$repo"
cores=$(nproc)
workers=${MMFISHNET_TEST_WORKERS:-$((cores < 3 ? cores + 1 : 4))}
parallel=()
if ((workers > 1)); then
  threads=$((cores / workers))
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$((threads > 0 ? threads : 1))}
  parallel=(-n "$workers" --dist worksteal)
fi
exec "$venv/bin/python" -m pytest tests "${parallel[@]}" "$@"
