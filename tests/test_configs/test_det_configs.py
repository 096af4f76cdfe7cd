"""Every detection config loads a pretrained FishNet in mmdet's scope with
necks that take its maps; the README's Mask R-CNN runs a loss, a backward and a
prediction at full width. Each detector family (Faster / Mask / Cascade
R-CNN, RetinaNet, DINO, Mask2Former) runs its loss and prediction with the
same recipe lines in the zoo walk (tests/test_tools/test_zoo_compat.py)."""
import pytest
from conftest import REPO, load_config
from mmengine.config import Config

from mmfishnet.testing import build_model, predict, random_batch, train_step

DET_CONFIGS = sorted(
    p.name for p in (REPO / 'configs').glob('*_fish*_coco.py'))
USER_CONFIG = REPO / 'tests' / 'data' / 'configs' / \
    'cascade_mask_rcnn_fishnet150_user.py'
README_CONFIG = REPO / 'configs' / 'mask_rcnn_fishnet150_fpn_coco.py'


def test_all_detection_configs_are_found():
    expected = {
        f'{det}_fishnet{depth}_fpn_coco.py'
        for det in ('mask_rcnn', 'faster_rcnn')
        for depth in (99, 150, 201)
    }
    expected |= {
        'retinanet_fishnet150_fpn_coco.py',
        'mask_rcnn_fishnet150_fpn_amp_coco.py',
        'mask_rcnn_fishnext150_fpn_coco.py',
        'faster_rcnn_fishnext150_fpn_coco.py',
        'cascade_mask_rcnn_fishnet150_fpn_coco.py',
        'dino-4scale_fishnet150_8xb2-12e_coco.py',
        'mask2former_fishnet150_8xb2-lsj-50e_coco.py'
    }
    assert expected <= set(DET_CONFIGS)


@pytest.mark.parametrize(
    'path', [REPO / 'configs' / name for name in DET_CONFIGS] + [USER_CONFIG],
    ids=lambda p: p.name)
@pytest.mark.compat
def test_every_detection_config_loads_pretrained_fishnet_and_fits_its_neck(
        path):
    """(tests/test_docs.py builds every config of model-index.yml.)"""
    from mmfishnet.runtime import check_neck_channels
    cfg = load_config(path)
    assert cfg.default_scope == 'mmdet'
    assert cfg.model.backbone.type == 'FishNet'
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    check_neck_channels(cfg)


@pytest.mark.compat
def test_the_readme_detector_trains_and_predicts():
    """Mask R-CNN FishNet-150 at full width on two images of different
    sizes: padded to 32, every loss, gradients in the trained stages and
    none in the frozen ones, boxes and masks of the images' sizes."""
    cfg = load_config(README_CONFIG)
    model = build_model(cfg, pretrained=False)
    batch = random_batch(model, cfg, [(3, 96, 128), (3, 128, 96)])
    assert model.data_preprocessor(batch,
                                   True)['inputs'].shape[-2:] == (128, 128)
    losses = train_step(model, batch)
    for name in ('loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask'):
        assert name in losses, losses
    assert model.backbone.head3.trunk[0].conv1.weight.grad is not None
    # frozen stem + tail1 (frozen_stages=1) get no gradient
    assert model.backbone.tail1.blocks[0].conv1.weight.grad is None
    results = predict(model, batch)
    for result in results:
        pred = result.pred_instances
        assert pred.bboxes.ndim == 2 and pred.bboxes.shape[1] == 4
        assert len(pred.scores) == len(pred.labels) == len(pred.bboxes)
        assert pred.masks.shape[0] == len(pred.bboxes)
        assert pred.masks.shape[1:] == result.ori_shape


def test_fpn_channels_are_checked():
    from mmfishnet.runtime import check_neck_channels
    cfg = Config.fromfile(REPO / 'configs' /
                          'faster_rcnn_fishnet99_fpn_coco.py')
    check_neck_channels(cfg)  # the config's channels fit
    cfg.model.backbone.out_indices = (7, 8, 9)
    with pytest.raises(ValueError, match=r'\[832, 1600, 2112\]'):
        check_neck_channels(cfg)
