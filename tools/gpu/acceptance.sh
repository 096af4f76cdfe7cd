#!/usr/bin/env bash
# The GPU acceptance in one command, on a CUDA machine that has torch and no
# network: install the wheels prepared by tools/gpu/prepare_wheels.py, build
# mmcv with CUDA ops for the GPU found (or install a carried mmcv wheel), then
# run tools/gpu/acceptance.py (equivalence, training through dist_train.sh,
# throughput).
#
#   bash tools/gpu/acceptance.sh [OUT]
#
#   OUT                    results (acceptance.json, acceptance.md, logs);
#                          default: $OUT if set, else work_dirs/gpu_acceptance
#   MMFISHNET_GPU_WHEELS   the prepared wheels (default: <repo>/.gpu_wheels)
#   MMFISHNET_GPU_SITE     where they are installed (default: /tmp/mmfishnet-gpu)
#   PYTHON                 the interpreter that has torch (default: python3)
#   MAX_JOBS               mmcv build jobs (default: nproc)
#   TORCH_CUDA_ARCH_LIST   default: the GPU's compute capability only
#   extra arguments after OUT go to acceptance.py (e.g. --steps training)
#
# Each setup phase is timed into OUT/setup.json as it ends, and acceptance.py
# rewrites its report after every row: a stop at any point leaves what was
# done.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-${OUT:-$repo/work_dirs/gpu_acceptance}}
shift || true
wheels=${MMFISHNET_GPU_WHEELS:-$repo/.gpu_wheels}
site=${MMFISHNET_GPU_SITE:-/tmp/mmfishnet-gpu}
python=${PYTHON:-python3}
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

if ! "$python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
  log "ERROR: $python's torch sees no GPU ($("$python" -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>&1)); this is the GPU acceptance"
  exit 1
fi
if [[ ! -f $wheels/manifest.json ]]; then
  log "ERROR: $wheels/manifest.json does not exist: prepare the wheels on a machine with a package index (python tools/gpu/prepare_wheels.py --out $wheels) and carry that folder"
  exit 1
fi

start=$SECONDS
mapfile -t pure < <(ls "$wheels"/*.whl | grep -v '/mmcv-')
"$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$site" "${pure[@]}" || { log "ERROR: installing the wheels of $wheels failed"; exit 1; }
export PYTHONPATH=$repo:$site${PYTHONPATH:+:$PYTHONPATH}
phase install $((SECONDS - start)) "${#pure[@]} wheels from $wheels into $site"

start=$SECONDS
capability=$("$python" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')
mmcv_wheel=$(ls "$wheels"/mmcv-*.whl 2>/dev/null | head -n 1 || true)
if [[ -n $mmcv_wheel ]]; then
  how="carried wheel $(basename "$mmcv_wheel")"
else
  sdist=$(ls "$wheels"/mmcv-*.tar.gz | head -n 1)
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$capability}
  jobs=${MAX_JOBS:-$(nproc)}
  log "building mmcv with CUDA ops for $TORCH_CUDA_ARCH_LIST with $jobs jobs (log: $out/mmcv_build.log)"
  mmcv_wheel=$(MAX_JOBS=$jobs MMFISHNET_MMCV_CUDA=1 MMCV_BUILD_DIR=$site-build \
    bash "$repo/tools/build_mmcv.sh" "$python" "$site-build/wheels" "$sdist" 2>"$out/mmcv_build.log" | tail -n 1)
  if [[ -z $mmcv_wheel ]]; then
    phase mmcv $((SECONDS - start)) "build FAILED, see mmcv_build.log"
    log "ERROR: the mmcv build failed: $(tail -n 3 "$out/mmcv_build.log")"
    exit 1
  fi
  how="built from $(basename "$sdist") for sm_${TORCH_CUDA_ARCH_LIST//./} with $jobs jobs"
fi
"$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$site" "$mmcv_wheel" || { log "ERROR: installing $mmcv_wheel failed"; exit 1; }
phase mmcv $((SECONDS - start)) "$how"

log "running tools/gpu/acceptance.py --out $out $*"
"$python" "$repo/tools/gpu/acceptance.py" --out "$out" --setup-json "$setup_json" "$@"
