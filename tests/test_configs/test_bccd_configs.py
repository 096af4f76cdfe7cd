"""The BCCD detectors (FishNet-99 w0.625 and its ResNet-18 baseline): the
same recipe with only the backbone and the FPN's input channels different,
multiply-adds within 10 % of each other, SeparableRoIAlign in the RoI head,
and one training step and prediction on two real BCCD images."""
import copy

import pytest
import torch
from conftest import REPO, load_config

from mmfishnet.ops import SeparableRoIAlign
from mmfishnet.testing import build_model, predict, train_step

FISHNET = REPO / 'configs' / 'faster_rcnn_fishnet99-w0.625_fpn_1xb4-8e_bccd.py'
RESNET = REPO / 'configs' / 'faster_rcnn_r18_fpn_1xb4-8e_bccd.py'
BCCD = REPO.parent / 'shared' / 'data' / 'bccd'


def without_backbone(cfg):
    cfg = copy.deepcopy(cfg.to_dict())
    cfg['model'].pop('backbone')
    cfg['model']['neck'].pop('in_channels')
    cfg.pop('widen_factor', None)
    return cfg


def test_only_the_backbone_differs():
    from mmfishnet.runtime import check_neck_channels
    fishnet, resnet = load_config(FISHNET), load_config(RESNET)
    assert without_backbone(fishnet) == without_backbone(resnet)
    check_neck_channels(fishnet)
    for cfg in (fishnet, resnet):
        backbone = cfg.model.backbone
        assert backbone.zero_init_residual is True
        assert backbone.norm_cfg == dict(type='BN', requires_grad=True)
        assert backbone.get('init_cfg') is None
        assert cfg.model.roi_head.bbox_roi_extractor.type == \
            'SeparableRoIExtractor'


def test_fishnet_multiply_adds_within_ten_percent_of_resnet18():
    from mmengine.analysis import FlopAnalyzer
    flops = []
    for path in (FISHNET, RESNET):
        backbone = build_model(load_config(path), pretrained=False).backbone
        backbone.eval()  # mmdet's ResNet.train() returns None
        analyzer = FlopAnalyzer(backbone, torch.zeros(1, 3, 480, 640))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        flops.append(analyzer.total())
    assert abs(flops[0] / flops[1] - 1) < 0.10, flops


@pytest.mark.skipif(
    not (BCCD / 'Annotations').is_dir(), reason=f'{BCCD} not found')
@pytest.mark.parametrize('path', [FISHNET, RESNET], ids=lambda p: p.stem)
def test_one_iteration_trains_and_predicts_on_real_images(path):
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = load_config(path)
    model = build_model(cfg, pretrained=False)
    layers = model.roi_head.bbox_roi_extractor.roi_layers
    assert all(isinstance(layer, SeparableRoIAlign) for layer in layers)
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.update(data_root=str(BCCD), indices=2)
    batch = pseudo_collate(list(DATASETS.build(dataset_cfg)))
    for sample in batch['data_samples']:
        assert len(sample.gt_instances) > 0
    losses = train_step(model, batch)
    for name in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        assert torch.isfinite(torch.tensor(losses[name])), losses
    for result in predict(model, batch):
        pred = result.pred_instances
        assert set(pred.labels.tolist()) <= {0, 1, 2}
        assert (pred.bboxes[:, 2:] <= torch.tensor([640, 480]) + 1e-3).all()
