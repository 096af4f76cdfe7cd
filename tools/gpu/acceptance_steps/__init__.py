"""The steps of the GPU acceptance run (``tools/gpu/acceptance.py``), one
module each, and the report they are written to:

- ``report``: the rows, saved as JSON and markdown after each one;
- ``device``: which device the rows run on, TF32 on or off;
- ``environment``: versions, and mmcv's compiled ops on the device;
- ``equivalence``: the converted official FishNet-99 against its reference;
- ``synthetic_data``: the small datasets the training runs read;
- ``training``: ``tools/dist_train.sh`` runs and what their logs say;
- ``throughput``: which speed rows run, in which order, and one measurement.
"""
from pathlib import Path

#: The repository whose configs and tools the steps run.
REPO = Path(__file__).resolve().parents[3]
