"""SeparableRoIExtractor: mmdet's SingleRoIExtractor with RoIAlign computed
by SeparableRoIAlign: the same RoI features over the four FPN levels, and
any other RoI layer left to mmdet."""
import pytest
import torch
from mmcv.ops import RoIPool
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope

from mmfishnet.ops import SeparableRoIAlign

pytestmark = pytest.mark.compat


def extractor(kind, roi_layer):
    init_default_scope('mmdet')
    return MODELS.build(
        dict(
            type=kind,
            roi_layer=roi_layer,
            out_channels=8,
            featmap_strides=[4, 8, 16, 32]))


def test_same_features_as_mmdets_extractor_over_every_level():
    torch.manual_seed(0)
    layer = dict(type='RoIAlign', output_size=7, sampling_ratio=0)
    ours = extractor('SeparableRoIExtractor', layer)
    theirs = extractor('SingleRoIExtractor', layer)
    assert all(isinstance(m, SeparableRoIAlign) for m in ours.roi_layers)
    feats = [torch.randn(2, 8, 128 // s, 160 // s) for s in (4, 8, 16, 32)]
    # sides of 10-500 px and a few larger boxes: every level of mmdet's
    # scale rule gets RoIs
    xy = torch.rand(60, 2) * 100
    wh = torch.exp(torch.rand(60, 2) * 3.9) * 10
    wh[:4] = torch.tensor([600., 500.])
    rois = torch.cat([torch.randint(0, 2, (60, 1)).float(), xy, xy + wh], 1)
    assert len(set(theirs.map_roi_levels(rois, 4).tolist())) == 4
    expected = theirs(feats, rois)
    assert (ours(feats, rois) -
            expected).abs().max() < 1e-5 * expected.abs().max()


def test_other_roi_layers_are_built_as_in_mmdet():
    built = extractor('SeparableRoIExtractor',
                      dict(type='RoIPool', output_size=7))
    assert all(isinstance(m, RoIPool) for m in built.roi_layers)
