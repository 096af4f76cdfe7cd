"""Every detection config builds and runs a loss and a predict step."""
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope

DET_CONFIGS = sorted(
    p.name for p in (REPO / 'configs').glob('*_fish*_coco.py'))
# the DETR-style and mask-classification detectors, with their own test
QUERY_CONFIGS = ('dino-4scale_fishnet150_8xb2-12e_coco.py',
                 'mask2former_fishnet150_8xb2-lsj-50e_coco.py')
FPN_CONFIGS = [name for name in DET_CONFIGS if name not in QUERY_CONFIGS]


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
        'cascade_mask_rcnn_fishnet150_fpn_coco.py', *QUERY_CONFIGS
    }
    assert expected <= set(DET_CONFIGS)


def build_detector(name, folder=REPO / 'configs'):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(folder / name)
    assert cfg.model.backbone.type == 'FishNet'
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    return cfg, MODELS.build(cfg.model)


USER_CONFIG = REPO / 'tests' / 'data' / 'configs' / \
    'cascade_mask_rcnn_fishnet150_user.py'


@pytest.mark.parametrize(
    'path', [REPO / 'configs' / name for name in FPN_CONFIGS] + [USER_CONFIG],
    ids=lambda p: p.name)
@pytest.mark.compat
def test_detector_loss_and_predict(path):
    from mmdet.testing import demo_mm_inputs
    cfg, model = build_detector(path.name, path.parent)
    model.init_weights()
    with_mask = 'mask_head' in cfg.model.get('roi_head', {})
    packed = demo_mm_inputs(
        2, [(3, 96, 128), (3, 128, 96)],
        num_items=[3, 2],
        num_classes=80,
        with_mask=with_mask)

    model.train()
    data = model.data_preprocessor(packed, True)
    assert data['inputs'].shape[-2:] == (128, 128)  # padded to 32
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert model.backbone.head3.trunk[0].conv1.weight.grad is not None
    # frozen stem + tail1 (frozen_stages=1) get no gradient
    assert model.backbone.tail1.blocks[0].conv1.weight.grad is None
    expected = ['loss_cls', 'loss_bbox'] + ['loss_mask'] * with_mask
    for name in expected:  # cascade stages prefix theirs with 's0.' etc.
        assert any(key.split('.')[-1] == name for key in losses), name

    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(packed, False)
        results = model(**data, mode='predict')
    assert len(results) == 2
    for result in results:
        pred = result.pred_instances
        assert pred.bboxes.ndim == 2 and pred.bboxes.shape[1] == 4
        assert len(pred.scores) == len(pred.labels) == len(pred.bboxes)
        if with_mask:
            assert pred.masks.shape[0] == len(pred.bboxes)
            assert pred.masks.shape[1:] == result.ori_shape
    if 'rpn_head' in cfg.model:
        with torch.no_grad():
            proposals = model.rpn_head.predict(
                model.extract_feat(data['inputs']), data['data_samples'])
        # random weights: the count varies, the form does not
        max_per_img = cfg.model.test_cfg.rpn.max_per_img
        for proposal in proposals:
            assert proposal.bboxes.ndim == 2 and proposal.bboxes.shape[1] == 4
            assert len(proposal.scores) == len(proposal.bboxes) <= max_per_img


@pytest.mark.parametrize('name,maps,shape', [
    ('dino-4scale_fishnet150_8xb2-12e_coco.py', (7, 8, 9), (3, 224, 256)),
    ('mask2former_fishnet150_8xb2-lsj-50e_coco.py', (6, 7, 8, 9),
     (3, 96, 128)),
])
def test_query_detectors_run_one_iteration(name, maps, shape):
    """DINO reads head1-3, Mask2Former body3 and head1-3; one loss,
    backward and predict each (DINO's 900 queries need more than 900
    encoder positions: a 224x256 image; Mask2Former without its 1024x1024
    batch padding, a CPU cost only)."""
    from mmdet.testing import demo_mm_inputs
    cfg = Config.fromfile(REPO / 'configs' / name)
    assert cfg.model.backbone.out_indices == maps
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.batch_augments = None
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    model.init_weights()
    packed = demo_mm_inputs(
        2, shape, num_items=[3, 2], num_classes=80, with_mask=True)
    model.train()
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert model.backbone.head3.trunk[0].conv1.weight.grad is not None
    model.eval()
    with torch.no_grad():
        results = model(
            **model.data_preprocessor(packed, False), mode='predict')
    assert len(results) == 2
    for result in results:
        pred = result.pred_instances
        assert pred.bboxes.shape[1] == 4 and len(pred.scores) > 0


def test_fpn_channels_are_checked():
    from mmfishnet.runtime import check_neck_channels
    cfg = Config.fromfile(REPO / 'configs' /
                          'faster_rcnn_fishnet99_fpn_coco.py')
    check_neck_channels(cfg)  # the config's channels fit
    cfg.model.backbone.out_indices = (7, 8, 9)
    with pytest.raises(ValueError, match=r'\[832, 1600, 2112\]'):
        check_neck_channels(cfg)
