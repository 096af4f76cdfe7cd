"""tools/analysis/feature_maps.py: one labelled panel per stage."""

import cv2
import numpy as np
import pytest
import torch
from conftest import CAMVID_CONFIG, REPO, load_tool

TOOL = REPO / 'tools' / 'analysis' / 'feature_maps.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / 'image.png'
    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), rng.integers(0, 256, (64, 96, 3), np.uint8))
    return str(path)


def test_classifier_panels_are_the_ten_stages(tool, tmp_path, image):
    config = REPO / 'configs' / 'fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py'
    out = tmp_path / 'maps.png'
    titles = tool.main([str(config), image, '--out', str(out)])
    assert titles[0] == 'input 96x64'
    # stem_stride=1: the tail halves the input three times, the body
    # doubles back to full resolution, the head halves again
    expected = [('tail1', 2), ('tail2', 4), ('tail3', 8), ('bridge', 8),
                ('body1', 4), ('body2', 2), ('body3', 1), ('head1', 2),
                ('head2', 4), ('head3', 8)]
    assert [t.split(', ')[:2] for t in titles[1:]
            ] == [[f'{i}: {name}', f'stride {stride}']
                  for i, (name, stride) in enumerate(expected)]
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape[0] > 600


def test_detector_panels_are_the_fpn_maps_with_a_checkpoint(
        tool, tmp_path, image):
    config = REPO / 'configs' / 'mask_rcnn_fishnet150_fpn_coco.py'
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    checkpoint = tmp_path / 'det.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    titles = tool.main([
        str(config), image, '--checkpoint',
        str(checkpoint), '--short-side', '128', '--out',
        str(tmp_path / 'fpn.png')
    ])
    assert titles[1:] == [
        f'FPN P{level}, stride {2**level}, 256 ch' for level in range(2, 7)
    ]


def test_segmentor_panels_keep_the_image_size(tool, tmp_path, image):
    pytest.importorskip('mmseg')
    titles = tool.main(
        [str(CAMVID_CONFIG), image, '--out',
         str(tmp_path / 'a.png')])
    # no detector-style resize; Semantic FPN's four maps, 64 channels
    assert titles[0] == 'input 96x64'
    assert titles[1:] == [
        f'FPN P{level}, stride {2**level}, 64 ch' for level in range(2, 6)
    ]
    titles = tool.main([
        str(CAMVID_CONFIG), image, '--maps', 'backbone', '--out',
        str(tmp_path / 'b.png')
    ])
    assert titles[-1] == '9: head3, stride 32, 528 ch'
