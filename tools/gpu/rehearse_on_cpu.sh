#!/usr/bin/env bash
# A rehearsal of the offline GPU acceptance on a CPU machine (CI runs it):
# a fresh environment holding only what the GPU machine's image holds
# (tools/gpu/example_image_packages.txt: numpy 2, transformers 5, OpenCV headless; no
# mmcv, mmengine, mmdet or pycocotools), the wheels prepared by
# prepare_wheels.py run on a bare Python, then exactly what acceptance.sh
# does there, with the CPU mmcv wheel of tools/setup_env.sh carried in place
# of the CUDA one, through every step of acceptance.py --allow-cpu --quick.
#
#   bash tools/gpu/rehearse_on_cpu.sh [WORK]
#
#   WORK   scratch folder, emptied first (default: $MMFISHNET_CACHE/rehearsal,
#          outside the checkout); WORK/out holds the acceptance report
#
# Needs the newest stack (bash tools/setup_env.sh): its torch, and its mmcv
# wheel from the cache. Downloads the image's packages and the wheels from
# the package index (pip's cache makes a re-run quick).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${MMFISHNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmfishnet}
work=${1:-$cache/rehearsal}
stack_python=${MMFISHNET_VENV:-$repo/.venv}/bin/python
pip_quiet=(-m pip install --quiet --disable-pip-version-check)
log() { printf '[rehearse] %s\n' "$*"; }

# What the rehearsal installs from the image's list: every distribution the
# OpenMMLab stack and the acceptance import that the image provides.
IMAGE_SPECS=('numpy>=2' 'transformers>=5,<6' opencv-python-headless scipy matplotlib
  pyyaml regex rich einops pillow packaging tqdm six click markdown zipp)

[[ -x $stack_python ]] || { log "ERROR: $stack_python does not exist: run bash tools/setup_env.sh first"; exit 1; }
for spec in "${IMAGE_SPECS[@]}"; do
  name=${spec%%[<>=]*}
  grep -qix "$name\(==.*\)\?" "$repo/tools/gpu/example_image_packages.txt" \
    || { log "ERROR: $name is not in tools/gpu/example_image_packages.txt: the rehearsal installs only what the image has"; exit 1; }
done
torch_key=$("$stack_python" -c 'import torch, sys; print(f"torch{torch.__version__}-py{sys.version_info[0]}{sys.version_info[1]}")')
mmcv_wheel=$(ls "$cache/wheels/$torch_key"/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1 || true)
[[ -n $mmcv_wheel ]] || { log "ERROR: no mmcv wheel in $cache/wheels/$torch_key: run bash tools/setup_env.sh first"; exit 1; }

rm -rf "$work"
mkdir -p "$work/mmcv"
cp "$mmcv_wheel" "$work/mmcv/"
start=$SECONDS

log "the image: a fresh virtualenv with the stack's torch linked in and ${#IMAGE_SPECS[@]} of the image's packages"
python3 -m venv "$work/image"
image_site=$("$work/image/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# torch, torchvision and what they require, linked from the stack's venv
# (the image has its own torch; the carried mmcv wheel is built against this one)
"$stack_python" - "$image_site" <<'PY'
import os, sys
from importlib import metadata
from packaging.requirements import Requirement
site, todo, seen = sys.argv[1], ['torch', 'torchvision'], set()
while todo:
    name = todo.pop().lower()
    if name in seen:
        continue
    seen.add(name)
    dist = metadata.distribution(name)
    for text in dist.requires or []:
        requirement = Requirement(text)
        if not requirement.marker or requirement.marker.evaluate({'extra': ''}):
            todo.append(requirement.name)
    for top in {f.parts[0] for f in dist.files if f.parts[0] != '..'}:
        target = os.path.join(site, top)
        if not os.path.lexists(target):
            os.symlink(dist.locate_file(top), target)
PY
"$work/image/bin/python" "${pip_quiet[@]}" "${IMAGE_SPECS[@]}"
for absent in mmcv mmengine mmdet mmpretrain mmseg pycocotools; do
  if "$work/image/bin/python" -c "import $absent" 2>/dev/null; then
    log "ERROR: the image environment has $absent, which the GPU image lacks"; exit 1
  fi
done
log "image ready in $((SECONDS - start)) s: $("$work/image/bin/python" -c 'import numpy, torch, transformers; print("torch", torch.__version__, "numpy", numpy.__version__, "transformers", transformers.__version__)')"

start=$SECONDS
log "the wheels, prepared on a bare Python"
python3 -m venv "$work/bare"
"$work/image/bin/python" -m pip freeze > "$work/image_packages.txt"
"$work/bare/bin/python" "$repo/tools/gpu/prepare_wheels.py" --out "$work/wheels" \
  --image-packages "$work/image_packages.txt" --python-version "$("$work/image/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
log "wheels ready in $((SECONDS - start)) s"

start=$SECONDS
log "acceptance.sh, as on the GPU machine (CPU mmcv wheel carried, --allow-cpu --quick)"
MMFISHNET_GPU_ALLOW_CPU=1 PYTHON=$work/image/bin/python MMFISHNET_GPU_WHEELS=$work/wheels \
  MMFISHNET_MMCV_WHEELS=$work/mmcv MMFISHNET_GPU_SITE=$work/site \
  bash "$repo/tools/gpu/acceptance.sh" "$work/out" --quick
log "acceptance.sh passed in $((SECONDS - start)) s"
"$work/image/bin/python" - "$work/out/acceptance.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))['rows']
steps = {r['step'] for r in rows}
missing = {'environment', 'equivalence', 'training', 'throughput'} - steps
assert not missing, f'steps without a row: {missing}'
versions = next(r for r in rows if r['name'] == 'versions')
assert versions['transformers'].startswith('5.'), versions
ran = [r for r in rows if r['status'] == 'ok']
print(f'[rehearse] ok: {len(ran)} rows ran, {len(rows) - len(ran)} skipped '
      f'(CUDA only); transformers {versions["transformers"]}, mmpretrain '
      f'multimodal models {"on" if versions["mmpretrain_multimodal"] else "off"}')
PY
