#!/usr/bin/env bash
# The main job end to end on a dataset generated on the spot, on the CPU:
# set up the environment (if needed), generate the shapes dataset, train a
# FishNet-150 Mask R-CNN from scratch, evaluate COCO bbox/segm mAP and save
# pictures of its predictions. About 13 minutes on 2 cores after setup
# (767 s on an AVX512-BF16 Xeon, 2026-12-07).
#
#   bash tools/demo/run_demo.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
# The active Python when it has what the demo needs (mmcv's ops, mmdet,
# mmfishnet), as in a pip-installed GPU environment; otherwise the
# project's environment, set up first if needed (tools/setup_env.sh).
if [[ -z ${MMFISHNET_VENV:-} ]] && python=$(command -v python) \
  && "$python" -c 'import mmcv.ops, mmdet, mmfishnet' >/dev/null 2>&1; then
  echo "[demo] using the active environment: $python"
else
  bash tools/setup_env.sh
  python=${MMFISHNET_VENV:-$repo/.venv}/bin/python
fi
config=configs/demo/mask_rcnn_fishnet150_fpn_shapes.py
out=work_dirs/demo
start=$(date +%s)

echo "[demo] 1/4 generating the shapes dataset in $out/shapes"
rm -rf "$out"
"$python" tools/demo/make_shapes_dataset.py "$out/shapes"

echo "[demo] 2/4 training Mask R-CNN FishNet-150 from scratch (900 iterations)"
"$python" tools/train.py "$config" --work-dir "$out"
checkpoint=$out/$(basename "$(cat "$out/last_checkpoint")")

echo "[demo] 3/4 evaluating COCO bbox and segm mAP on the 40 val images"
"$python" tools/test.py "$config" "$checkpoint" --work-dir "$out/test" \
  --out "$out/predictions.pkl"
metrics=$(ls "$out"/test/*/*.json | tail -n 1)

echo "[demo] 4/4 drawing ground truth and predictions of 6 val images"
mkdir -p "$out/pictures"  # tee opens its log before image_demo.py makes it
"$python" tools/demo/image_demo.py "$config" "$checkpoint" \
  "$out"/shapes/val/00000{1,2,3,4,5,6}.png --out-dir "$out/pictures" --score-thr 0.5 \
  --ann-file "$out/shapes/annotations/instances_val.json" --grid "$out/pictures/grid.png" \
  | tee "$out/pictures/log.txt"

"$python" - "$metrics" <<'PY'
import json, sys
m = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print('[demo] 40 val images: bbox mAP {:.3f} (AP50 {:.3f}), segm mAP {:.3f} (AP50 {:.3f})'.format(
    m['coco/bbox_mAP'], m['coco/bbox_mAP_50'], m['coco/segm_mAP'],
    m['coco/segm_mAP_50']))
PY
echo "[demo] the 6 drawn images: $(grep -o 'box mAP .*' "$out/pictures/log.txt")"
echo "[demo] done in $(( $(date +%s) - start )) s"
echo "[demo] checkpoint: $checkpoint"
echo "[demo] metrics:    $metrics"
echo "[demo] pictures:   $out/pictures/grid.png (ground truth | prediction)"
