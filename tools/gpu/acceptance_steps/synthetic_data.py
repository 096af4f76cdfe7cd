"""The three small datasets the acceptance's training runs read, generated
on the spot (the GPU machine may reach nothing): COCO-format shapes, an
ImageNet-style folder of 10 classes and a CamVid-format folder."""
import subprocess
import sys
from pathlib import Path

from . import REPO


def make_data(root: Path) -> dict:
    """Write the datasets under ``root``: 8 + 2 shape images
    (``tools/demo/make_shapes_dataset.py``), one random 64x64 image per
    class and split, two random 480x360 CamVid images with random labels per
    split. Returns their folders by name: ``shapes``, ``classes``,
    ``camvid``."""
    import cv2
    import numpy as np
    shapes = root / 'shapes'
    subprocess.run([
        sys.executable,
        str(REPO / 'tools' / 'demo' / 'make_shapes_dataset.py'),
        str(shapes), '--train', '8', '--val', '2'
    ],
                   check=True,
                   capture_output=True)
    rng = np.random.default_rng(0)
    folder = root / 'classes'
    for split in ('train', 'val'):
        for c in range(10):
            d = folder / split / f'class{c}'
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(
                str(d / '0.png'),
                rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    camvid = root / 'camvid'
    for split in ('train', 'val'):
        for kind in (split, f'{split}annot'):
            (camvid / kind).mkdir(parents=True, exist_ok=True)
        for i in range(2):
            cv2.imwrite(
                str(camvid / split / f'{i}.png'),
                rng.integers(0, 256, (360, 480, 3), dtype=np.uint8))
            cv2.imwrite(
                str(camvid / f'{split}annot' / f'{i}.png'),
                rng.integers(0, 12, (360, 480), dtype=np.uint8))
    return dict(shapes=shapes, classes=folder, camvid=camvid)
