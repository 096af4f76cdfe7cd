#!/usr/bin/env bash
# The GPU acceptance in one command, on a CUDA machine that has torch and no
# network: check and install the wheels prepared by
# tools/gpu/prepare_wheels.py, install a carried mmcv wheel (or build mmcv
# with CUDA ops for the GPU found), then run tools/gpu/acceptance.py
# (equivalence, training through dist_train.sh, throughput).
#
#   bash tools/gpu/acceptance.sh [OUT] [acceptance.py options]
#
#   OUT                    results (acceptance.json, acceptance.md, logs);
#                          default: $OUT if set, else work_dirs/gpu_acceptance
#   MMFISHNET_GPU_WHEELS   the prepared wheels (default: <repo>/.gpu_wheels)
#   MMFISHNET_MMCV_WHEELS  a folder holding one prebuilt mmcv-2.1.0-*.whl for
#                          this Python and torch (built with CUDA ops); without
#                          it mmcv is built from the sdist among the wheels
#   MMFISHNET_GPU_SITE     where they are installed (default: /tmp/mmfishnet-gpu)
#   MMFISHNET_GPU_BUDGET_S stop the measurements cleanly this many seconds
#                          after this script started (rows not reached are
#                          reported as such); default: no limit
#   MMFISHNET_GPU_ALLOW_CPU  1: run without CUDA (the CPU rehearsal,
#                          tools/gpu/rehearse_on_cpu.sh): passes --allow-cpu
#   PYTHON                 the interpreter that has torch (default: python3)
#   MAX_JOBS               mmcv build jobs (default: nproc)
#   TORCH_CUDA_ARCH_LIST   default: the GPU's compute capability only
#
# Each setup phase is timed into OUT/setup.json as it ends, and acceptance.py
# rewrites its report after every row: a stop at any point leaves what was
# done.
set -uo pipefail
started=$(date +%s)
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-${OUT:-$repo/work_dirs/gpu_acceptance}}
shift || true
wheels=${MMFISHNET_GPU_WHEELS:-$repo/.gpu_wheels}
mmcv_wheels=${MMFISHNET_MMCV_WHEELS:-}
site=${MMFISHNET_GPU_SITE:-/tmp/mmfishnet-gpu}
python=${PYTHON:-python3}
allow_cpu=${MMFISHNET_GPU_ALLOW_CPU:-0}
mkdir -p "$out"
out=$(cd "$out" && pwd)
setup_json=$out/setup.json
log() { printf '[acceptance.sh] %s\n' "$*"; }

# phase NAME SECONDS DETAIL: add one entry to setup.json
phase() {
  "$python" - "$setup_json" "$1" "$2" "$3" <<'PY'
import json, os, sys
path, name, seconds, detail = sys.argv[1:]
data = json.load(open(path)) if os.path.exists(path) else {}
data[name] = dict(seconds=int(seconds), detail=detail)
json.dump(data, open(path + '.partial', 'w'), indent=1)
os.replace(path + '.partial', path)
PY
}
rm -f "$setup_json"

extra=()
if [[ $allow_cpu == 1 ]]; then
  extra+=(--allow-cpu)
elif ! "$python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
  log "ERROR: $python's torch sees no GPU ($("$python" -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>&1)); this is the GPU acceptance (MMFISHNET_GPU_ALLOW_CPU=1 rehearses it on a CPU)"
  exit 1
fi
if [[ -n ${MMFISHNET_GPU_BUDGET_S:-} ]]; then
  extra+=(--deadline $((started + MMFISHNET_GPU_BUDGET_S)))
fi

# the carried folders, before anything is installed
"$python" "$repo/tools/gpu/prepare_wheels.py" --verify "$wheels" || exit 1
mmcv_wheel=
if [[ -n $mmcv_wheels ]]; then
  mapfile -t found < <(ls "$mmcv_wheels"/mmcv-*.whl 2>/dev/null)
  if [[ ${#found[@]} != 1 ]]; then
    log "ERROR: MMFISHNET_MMCV_WHEELS=$mmcv_wheels holds ${#found[@]} mmcv-*.whl files; put exactly one there (cp PATH/TO/mmcv-2.1.0-*.whl $mmcv_wheels/)"
    exit 1
  fi
  mmcv_wheel=${found[0]}
  tag=$("$python" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
  if [[ $(basename "$mmcv_wheel") != *-"$tag"-* ]]; then
    log "ERROR: $mmcv_wheel is not built for this Python ($tag): build one with tools/build_mmcv.sh, or leave MMFISHNET_MMCV_WHEELS unset to build it here"
    exit 1
  fi
fi

start=$SECONDS
mapfile -t pure < <(ls "$wheels"/*.whl | grep -v '/mmcv-')
"$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$site" "${pure[@]}" || { log "ERROR: installing the wheels of $wheels failed"; exit 1; }
export PYTHONPATH=$repo:$site${PYTHONPATH:+:$PYTHONPATH}
phase install $((SECONDS - start)) "${#pure[@]} wheels from $wheels into $site, sha256 checked"

start=$SECONDS
if [[ -n $mmcv_wheel ]]; then
  how="carried wheel $(basename "$mmcv_wheel"), sha256 $(sha256sum "$mmcv_wheel" | cut -c1-64)"
else
  sdist=$(ls "$wheels"/mmcv-*.tar.gz 2>/dev/null | head -n 1)
  if [[ -z $sdist ]]; then
    log "ERROR: no mmcv wheel carried (MMFISHNET_MMCV_WHEELS) and no mmcv sdist in $wheels (prepared with --no-sdist?)"
    exit 1
  fi
  cuda=1
  [[ $allow_cpu == 1 ]] && cuda=0
  if [[ $cuda == 1 ]]; then
    capability=$("$python" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')
    export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$capability}
  fi
  jobs=${MAX_JOBS:-$(nproc)}
  log "building mmcv (CUDA ops: $cuda ${TORCH_CUDA_ARCH_LIST:-}) with $jobs jobs (log: $out/mmcv_build.log)"
  mmcv_wheel=$(MAX_JOBS=$jobs MMFISHNET_MMCV_CUDA=$cuda MMCV_BUILD_DIR=$site-mmcv-build \
    bash "$repo/tools/build_mmcv.sh" "$python" "$site-mmcv-wheel" "$sdist" 2>"$out/mmcv_build.log" | tail -n 1)
  if [[ -z $mmcv_wheel || ! -f $mmcv_wheel ]]; then
    phase mmcv $((SECONDS - start)) "build FAILED, see mmcv_build.log"
    log "ERROR: the mmcv build failed: $(tail -n 3 "$out/mmcv_build.log")"
    exit 1
  fi
  how="built from $(basename "$sdist") (CUDA ops: $cuda ${TORCH_CUDA_ARCH_LIST:-}) with $jobs jobs"
fi
"$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$site" "$mmcv_wheel" || { log "ERROR: installing $mmcv_wheel failed"; exit 1; }
phase mmcv $((SECONDS - start)) "$how"

log "running tools/gpu/acceptance.py --out $out ${extra[*]} $*"
"$python" "$repo/tools/gpu/acceptance.py" --out "$out" --setup-json "$setup_json" "${extra[@]}" "$@"
