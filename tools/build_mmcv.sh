#!/usr/bin/env bash
# Build the mmcv wheel (with its compiled ops) for one Python and torch; what
# tools/setup_env.sh and tools/gpu/acceptance.sh share. Offline when SDIST is
# given, else the sdist is downloaded.
#
#   tools/build_mmcv.sh PYTHON WHEEL_DIR [SDIST]
#
# Writes WHEEL_DIR/mmcv-<version>-*.whl and prints its path last. The build
# folder ($MMCV_BUILD_DIR/<name of WHEEL_DIR>) survives a failed or
# interrupted build, so that a re-run only compiles the objects still missing;
# it is removed once the wheel is in place, so it must not be WHEEL_DIR or
# hold it (refused with exit 2).
#
#   MMCV_VERSION          default 2.1.0
#   MMCV_BUILD_DIR        where unfinished builds are kept
#                         (default: WHEEL_DIR/../.mmcv-build)
#   CXX_STD               c++17 or c++20 (default: c++20 for torch >= 2.10,
#                         whose headers need it; mmcv hard-codes c++17)
#   MAX_JOBS              parallel compile jobs (default: nproc)
#   MMFISHNET_MMCV_CUDA   1: CUDA ops too (FORCE_CUDA), for TORCH_CUDA_ARCH_LIST
#                         (default "8.0;9.0"); 0 (default): CPU ops only
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 PYTHON WHEEL_DIR [SDIST]" >&2
  exit 2
fi
python=$1
wheel_dir=$2
sdist=${3:-}
version=${MMCV_VERSION:-2.1.0}
log() { printf '[build_mmcv] %s\n' "$*" >&2; }

if [[ -z ${CXX_STD:-} ]]; then
  CXX_STD=$("$python" -c 'import torch; v = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2]); print("c++20" if v >= (2, 10) else "c++17")')
fi
build_env=(MMCV_WITH_OPS=1 "MAX_JOBS=${MAX_JOBS:-$(nproc)}")
if [[ ${MMFISHNET_MMCV_CUDA:-0} == 1 ]]; then
  arch_list=${TORCH_CUDA_ARCH_LIST:-8.0;9.0}
  build_env+=(FORCE_CUDA=1 "TORCH_CUDA_ARCH_LIST=$arch_list")
  # torch guesses CUDA_HOME from the nvcc on PATH, which goes wrong when that
  # nvcc is a wrapper script (e.g. /usr/local/bin/nvcc -> CUDA_HOME=/usr/local).
  # nvcc itself knows where its toolkit is.
  if [[ -z ${CUDA_HOME:-} ]]; then
    CUDA_HOME=$(nvcc -dryrun -E -x cu /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p' | head -n 1 || true)
    [[ -n $CUDA_HOME ]] || { log "ERROR: MMFISHNET_MMCV_CUDA=1 needs nvcc on PATH or CUDA_HOME set"; exit 1; }
    CUDA_HOME=$(cd "$CUDA_HOME" && pwd)
  fi
  log "CUDA toolkit: $CUDA_HOME, architectures $arch_list"
  build_env+=("CUDA_HOME=$CUDA_HOME")
  # mmcv compiles its .cpp sources against the toolkit's headers without a -I
  # for them, and torch's CUDA headers include cusparse.h, cublas_v2.h, ...: a
  # toolkit with nvcc alone lacks those, the nvidia-* wheels that come with
  # torch have them. The toolkit's include dir comes first, so that the crt/
  # headers and the cuda_runtime_api.h that are found belong together.
  nvidia_includes=$("$python" -c 'import glob, os, torch; root = os.path.join(os.path.dirname(os.path.dirname(torch.__file__)), "nvidia"); print(":".join(sorted(glob.glob(os.path.join(root, "*", "include")) + glob.glob(os.path.join(root, "*", "*", "include")))))')
  build_env+=("CPATH=$CUDA_HOME/include${nvidia_includes:+:$nvidia_includes}${CPATH:+:$CPATH}")
fi

build=${MMCV_BUILD_DIR:-$(dirname "$wheel_dir")/.mmcv-build}/$(basename "$wheel_dir")
# The build folder is removed when the wheel is in place: it must not be the
# wheel folder or one that holds it.
build_abs=$(realpath -m "$build")
wheel_abs=$(realpath -m "$wheel_dir")
if [[ $wheel_abs == "$build_abs" || $wheel_abs == "$build_abs"/* ]]; then
  log "ERROR: the build folder $build_abs (MMCV_BUILD_DIR/<name of WHEEL_DIR>) is or holds the wheel folder $wheel_abs, and is removed after the build: choose an MMCV_BUILD_DIR outside $wheel_abs"
  exit 2
fi
src=$build/mmcv-$version
if [[ ! -f $src/setup.py ]]; then
  rm -rf "$build"
  mkdir -p "$build"
  if [[ -z $sdist ]]; then
    # Fetching the sdist runs its setup.py, which imports torch: no build isolation.
    "$python" -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation \
      "mmcv==$version" -d "$build"
    sdist=$build/mmcv-$version.tar.gz
  fi
  [[ -f $sdist ]] || { log "ERROR: $sdist does not exist: give the mmcv-$version.tar.gz sdist"; exit 1; }
  tar -xzf "$sdist" -C "$build"
  [[ -f $src/setup.py ]] || { log "ERROR: $sdist holds no mmcv-$version/setup.py: is it the mmcv $version sdist?"; exit 1; }
  sed -i "s/-std=c++17/-std=$CXX_STD/g" "$src/setup.py"
else
  log "resuming the build in $build"
fi
log "building mmcv $version (${build_env[*]}, -std=$CXX_STD)"
rm -rf "$build/dist"
mkdir -p "$wheel_dir"
env "${build_env[@]}" \
  "$python" -m pip wheel --no-deps --no-build-isolation --no-index -w "$build/dist" "$src" >&2
# Move into place only when complete, so an interrupted build leaves no bad wheel.
built=$(ls "$build"/dist/mmcv-*.whl)
mv "$built" "$wheel_dir/"
rm -rf "$build"
echo "$wheel_dir/$(basename "$built")"
