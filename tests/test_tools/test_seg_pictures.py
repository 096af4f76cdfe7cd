"""tools/analysis/seg_pictures.py: image | ground truth | prediction rows
with the CamVid palette and a legend, from a real checkpoint file."""

import numpy as np
import pytest
import torch
from conftest import CAMVID, CAMVID_CONFIG, REPO, load_tool

pytest.importorskip('mmseg')

TOOL = REPO / 'tools' / 'analysis' / 'seg_pictures.py'
CONFIG = CAMVID_CONFIG


def test_rows_of_image_ground_truth_and_prediction(tmp_path):
    if not (CAMVID / 'valannot').is_dir():
        pytest.skip(f'CamVid not found at {CAMVID}')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmfishnet.runtime.cpu_fallback import replace_sync_bn
    cfg = Config.fromfile(CONFIG)
    replace_sync_bn(cfg.model)
    init_default_scope('mmseg')
    checkpoint = tmp_path / 'camvid.pth'
    # as a Runner saves it (mmseg's init_model reads its meta)
    torch.save(
        dict(state_dict=MODELS.build(cfg.model).state_dict(), meta={}),
        checkpoint)
    tool = load_tool(TOOL)
    out = tmp_path / 'grid.png'
    grid = tool.main([
        str(CONFIG),
        str(checkpoint), '--data-root',
        str(CAMVID), '--num', '2', '--out',
        str(out)
    ])
    assert out.is_file()
    # two rows of three 480x360 panels, then the legend of 11 classes
    assert grid.shape[1] == 3 * 480 and grid.shape[0] > 2 * 360
    image, truth = grid[:360, :480], grid[:360, 480:960]
    # the ground-truth panel is the image coloured by its labels
    assert np.abs(image.astype(int) - truth.astype(int)).mean() > 10
    legend = grid[2 * 360:]
    assert (legend == 255).mean() > 0.5 and (legend != 255).any()
