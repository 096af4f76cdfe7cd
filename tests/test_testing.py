"""mmfishnet.testing: the random batches train each model with the classes
of the head that classifies (never an RPN's single class)."""
import pytest
from conftest import REPO, load_config

from mmfishnet.runtime import fit_channels
from mmfishnet.testing import (build_model, learns_masks, num_classes,
                               random_batch)


@pytest.mark.parametrize('config, classes', [
    ('mask_rcnn_fishnet150_fpn_coco.py', 80),
    ('cascade_mask_rcnn_fishnet150_fpn_coco.py', 80),
    ('retinanet_fishnet150_fpn_coco.py', 80),
    ('faster_rcnn_fishnet99-w0.625_fpn_1xb4-8e_bccd.py', 3),
    ('fpn_fishnet99-w0.25_1xb8-10e_camvid-480x360.py', 11),
])
def test_the_labels_come_from_the_head_that_classifies(config, classes):
    cfg = load_config(REPO / 'configs' / config).copy()
    cfg.model.backbone.widen_factor = 0.125
    fit_channels(cfg)
    model = build_model(cfg, pretrained=False)
    assert num_classes(model) == classes
    if cfg.default_scope == 'mmdet':
        batch = random_batch(model, cfg, (3, 64, 64))
        labels = [s.gt_instances.labels for s in batch['data_samples']]
        assert all(int(x.max()) < classes for x in labels)
        if classes > 3:  # demo_mm_inputs draws labels of 80 classes
            assert any(int(x.max()) > 0 for x in labels)


@pytest.mark.parametrize(
    'config, without_mask_head, masks',
    [
        ('mask_rcnn_fishnet150_fpn_coco.py', False, True),
        ('faster_rcnn_fishnet150_fpn_coco.py', False, False),
        ('retinanet_fishnet150_fpn_coco.py', False, False),
        # a box-only detector made from a Mask R-CNN config: its test_cfg still
        # says mask_thr_binary, no head learns masks
        ('mask_rcnn_fishnet150_fpn_coco.py', True, False),
    ])
def test_masks_come_with_the_batch_where_a_head_learns_them(
        config, without_mask_head, masks):
    cfg = load_config(REPO / 'configs' / config).copy()
    cfg.model.backbone.widen_factor = 0.125
    if without_mask_head:
        cfg.model.roi_head.mask_head = None
        cfg.model.roi_head.mask_roi_extractor = None
    fit_channels(cfg)
    model = build_model(cfg, pretrained=False)
    assert learns_masks(model) is masks
    batch = random_batch(model, cfg, (3, 64, 64))
    assert all(
        ('masks' in s.gt_instances) is masks for s in batch['data_samples'])
