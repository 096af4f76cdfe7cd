"""The test preprocessing of configs as stored in exported files."""
import pytest
from mmengine.config import Config

from mmfishnet.deployment import preprocessing_from_config
from .conftest import CAMVID_CONFIG, REPO

CONFIGS = REPO / 'configs'


def test_imagenet_classifier():
    spec = preprocessing_from_config(
        Config.fromfile(CONFIGS / 'fishnet150_8xb32_in1k.py'))
    assert spec['channel_order'] == 'RGB'  # BGR files, to_rgb=True
    assert spec['mean'] == [123.675, 116.28, 103.53]
    assert spec['transforms'] == [
        dict(type='resize_edge', size=256, edge='short'),
        dict(type='center_crop', size=[224, 224]),
    ]


def test_detector_and_segmentor_keep_the_aspect_ratio():
    det = preprocessing_from_config(
        Config.fromfile(CONFIGS / 'mask_rcnn_fishnet150_fpn_coco.py'))
    assert det['transforms'] == [
        dict(type='rescale', max_long=1333, max_short=800)
    ]
    pytest.importorskip('mmseg')
    seg = preprocessing_from_config(Config.fromfile(CAMVID_CONFIG))
    assert seg['transforms'] == [] and seg['channel_order'] == 'RGB'


def test_unsupported_transform_names_the_config():
    cfg = Config.fromfile(CONFIGS / 'fishnet150_8xb32_in1k.py')
    cfg.test_dataloader.dataset.pipeline.insert(
        1, dict(type='Pad', size=(300, 300)))
    with pytest.raises(ValueError, match=r'fishnet150_8xb32_in1k.py.*Pad'):
        preprocessing_from_config(cfg)
