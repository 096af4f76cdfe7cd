#!/usr/bin/env bash
# One-command environment for mmfishnet on a CPU machine (x86_64).
#
#   bash tools/setup_env.sh                        # newest supported stack in ./.venv
#   MMFISHNET_STACK=oldest bash tools/setup_env.sh # oldest supported stack in ./.venv-oldest
#
# The two ends of the supported range (MMFISHNET_STACK):
#   newest (default)  torch 2.14.1 + torchvision 0.29.1, numpy 2.x, mmcv 2.1.0 built with C++20
#   oldest            torch 2.1.2 + torchvision 0.16.2, numpy 1.26, mmcv 2.1.0 built with C++17
#                     (the stack OpenMMLab's prebuilt mmcv 2.1.0 wheels are made for)
# Both get mmengine 0.10.7, mmcv 2.1.0 with its compiled ops, mmdet 3.3.0,
# mmpretrain 1.2.0, mmsegmentation 1.2.2, pycocotools, scikit-learn, scikit-image, pytest, flake8,
# isort, yapf and mmfishnet in
# editable mode; the newest stack also gets onnx, onnxscript and onnxruntime
# (tools/deployment/). It is
# idempotent: when nothing changed, a re-run only checks the imports. mmcv 2.1.0
# ships only as a source release, so its wheel is built once per machine and torch
# version and kept in a cache outside the checkout:
#
#   MMFISHNET_PYTHON      the interpreter the virtualenv is made from (default:
#                         python3): Python 3.10-3.12 for the newest stack,
#                         3.9-3.11 for the oldest (torch 2.1.2 has no wheels
#                         for 3.12, numpy 1.26 needs 3.9); tested with 3.11
#   MMFISHNET_CACHE       wheel cache and unfinished builds (default: ${XDG_CACHE_HOME:-~/.cache}/mmfishnet)
#   MMFISHNET_VENV        virtualenv path  (default: <repo>/.venv, <repo>/.venv-oldest)
#   MAX_JOBS              parallel compile jobs for the mmcv build (default: nproc)
#   MMFISHNET_MMCV_CUDA   build mmcv's CUDA ops too: auto (default: when nvidia-smi
#                         sees a GPU and torch is a CUDA build), 1 or 0
#   TORCH_CUDA_ARCH_LIST  GPU architectures of the CUDA ops (default: "8.0;9.0",
#                         A100 and H100)
#   MMFISHNET_BUILD_ONLY  1: only build (and cache) the mmcv wheel, install nothing
#   MMFISHNET_TORCH_INDEX index that torch and torchvision come from (default: the
#                         package index pip is set to, whose Linux torch is the CUDA
#                         build, several GB); a CPU-only machine saves most of that
#                         with https://download.pytorch.org/whl/cpu
set -euo pipefail

stack=${MMFISHNET_STACK:-newest}
case $stack in
  newest)
    TORCH_VERSION=2.14.1 TORCHVISION_VERSION=0.29.1 NUMPY_SPEC='numpy>=2' CXX_STD=c++20
    PYTHONS='3.10 3.11 3.12'
    OPENCV_SPEC=opencv-python default_venv=.venv
    DEPLOY_SPECS='onnx==1.23.2 onnxruntime==1.32.0 onnxscript==0.7.2' ;;
  oldest)
    # opencv-python >= 4.12 needs numpy 2.
    TORCH_VERSION=2.1.2 TORCHVISION_VERSION=0.16.2 NUMPY_SPEC='numpy>=1.26,<2' CXX_STD=c++17
    PYTHONS='3.9 3.10 3.11'
    OPENCV_SPEC='opencv-python<4.12' default_venv=.venv-oldest
    # ONNX export needs torch >= 2.5 (torch.onnx.export(dynamo=True))
    DEPLOY_SPECS='' ;;
  *)
    echo "[setup_env] ERROR: MMFISHNET_STACK=$stack; choose newest or oldest" >&2
    exit 2 ;;
esac
MMENGINE_VERSION=0.10.7
MMCV_VERSION=2.1.0
MMDET_VERSION=3.3.0
MMPRETRAIN_VERSION=1.2.0
MMSEG_VERSION=1.2.2

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${MMFISHNET_VENV:-$repo/$default_venv}
cache=${MMFISHNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmfishnet}
python=$venv/bin/python
pip=("$python" -m pip install --quiet --disable-pip-version-check)

log() { printf '[setup_env] %s\n' "$*"; }

# The stamp records what this venv was built from; a matching stamp and working
# imports mean there is nothing to do.
stamp_source() {
  cat "$repo/tools/setup_env.sh" "$repo/setup.py"
}
stamp_file=$venv/.mmfishnet-setup-stamp

imports_ok() {
  "$python" - <<'EOF' >/dev/null 2>&1
import mmcv.ops, mmdet, mmpretrain, mmseg.utils, mmengine, pycocotools, pytest, xdist, torch, torchvision
import mmfishnet
EOF
}

build_only=${MMFISHNET_BUILD_ONLY:-0}
if [[ $build_only != 1 && -x $python && -f $stamp_file ]] && cmp -s <(stamp_source) "$stamp_file" && imports_ok; then
  log "environment in $venv is up to date"
  exit 0
fi

if [[ ! -x $python ]]; then
  base_python=${MMFISHNET_PYTHON:-python3}
  log "creating virtualenv $venv with $base_python"
  "$base_python" -m venv "$venv"
fi
python_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [[ " $PYTHONS " != *" $python_version "* ]]; then
  echo "[setup_env] ERROR: $venv has Python $python_version; the $stack stack needs one of $PYTHONS" \
    "(torch $TORCH_VERSION's wheels). Remove $venv and set MMFISHNET_PYTHON to such an interpreter," \
    "e.g. MMFISHNET_PYTHON=python3.11 bash tools/setup_env.sh" >&2
  exit 2
fi

torch_index=()
if [[ -n ${MMFISHNET_TORCH_INDEX:-} ]]; then
  torch_index=(--index-url "$MMFISHNET_TORCH_INDEX")
fi
log "installing torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION from ${MMFISHNET_TORCH_INDEX:-the default index} ($stack stack)"
"${pip[@]}" ${torch_index[@]+"${torch_index[@]}"} "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
log "installing $NUMPY_SPEC and build tools"
"${pip[@]}" "$NUMPY_SPEC" 'setuptools>=77,<81' wheel ninja "mmengine==$MMENGINE_VERSION"

# ---- mmcv with compiled ops: build once per torch version, then reuse -------------
torch_key=$("$python" -c 'import torch, sys; print(f"torch{torch.__version__}-py{sys.version_info[0]}{sys.version_info[1]}")')
with_cuda=${MMFISHNET_MMCV_CUDA:-auto}
if [[ $with_cuda == auto ]]; then
  with_cuda=0
  if nvidia-smi -L >/dev/null 2>&1 && "$python" -c 'import sys, torch; sys.exit(torch.version.cuda is None)'; then
    with_cuda=1
  fi
fi
wheel_dir=$cache/wheels/$torch_key
if [[ $with_cuda == 1 ]]; then
  arch_list=${TORCH_CUDA_ARCH_LIST:-8.0;9.0}
  wheel_dir=$wheel_dir-cuda${arch_list//;/-}
fi
mmcv_wheel=$(ls "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)

if [[ -z $mmcv_wheel ]]; then
  if [[ $with_cuda == 1 ]]; then
    duration="CUDA ops for $arch_list: about 30 min on 2 cores"
  else
    duration="CPU ops only: about 13 min on 2 cores"
  fi
  log "no cached mmcv $MMCV_VERSION wheel in $wheel_dir: building it ($duration)"
  mmcv_wheel=$(MMCV_VERSION=$MMCV_VERSION CXX_STD=$CXX_STD MMFISHNET_MMCV_CUDA=$with_cuda \
    MMCV_BUILD_DIR=$cache/build bash "$repo/tools/build_mmcv.sh" "$python" "$wheel_dir" | tail -n 1)
  log "cached $mmcv_wheel"
else
  log "using cached $mmcv_wheel"
fi
if [[ $build_only == 1 ]]; then
  exit 0
fi
"${pip[@]}" --no-deps "$mmcv_wheel"
# mmcv's own runtime requirements (the wheel was installed without them).
"${pip[@]}" addict packaging Pillow pyyaml regex yapf "$OPENCV_SPEC" "$NUMPY_SPEC"

log "installing mmdet $MMDET_VERSION, mmpretrain $MMPRETRAIN_VERSION, mmsegmentation $MMSEG_VERSION, pycocotools, pytest (+ xdist), linters"
# mmseg.utils imports ftfy and regex without declaring them; scikit-learn
# (PAA) and scikit-image (BoxInst) are mmdet's optional dependencies that
# the zoo walk (tools/analysis/zoo_compat.py) needs
"${pip[@]}" "mmdet==$MMDET_VERSION" "mmpretrain==$MMPRETRAIN_VERSION" \
  "mmsegmentation==$MMSEG_VERSION" ftfy regex pycocotools pytest pytest-xdist \
  flake8 isort yapf scikit-learn scikit-image \
  "$NUMPY_SPEC" "$OPENCV_SPEC"

if [[ -n $DEPLOY_SPECS ]]; then
  log "installing $DEPLOY_SPECS"
  # shellcheck disable=SC2086
  "${pip[@]}" $DEPLOY_SPECS "$NUMPY_SPEC"
fi

log "installing mmfishnet (editable)"
"${pip[@]}" --no-deps --no-build-isolation -e "$repo"

if ! imports_ok; then
  log "ERROR: the environment was installed but its imports fail:"
  "$python" -c 'import mmcv.ops, mmdet, mmpretrain, mmfishnet'
  exit 1
fi
stamp_source >"$stamp_file"
log "done: activate with 'source $venv/bin/activate'"
