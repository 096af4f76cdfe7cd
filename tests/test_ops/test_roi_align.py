"""SeparableRoIAlign against mmcv's RoIAlign kernel: forward and backward,
adaptive and fixed sampling, both pixel models, boxes partly or wholly off
the map, empty and zero-size boxes."""
import pytest
import torch
from mmcv.ops import roi_align

from mmfishnet.ops import SeparableRoIAlign, roi_align_separable

pytestmark = pytest.mark.compat


def random_rois(num, batch, height, width, stride, seed=0):
    """Boxes in input pixels (map size x stride), some crossing the edges,
    some tiny, some larger than the map."""
    g = torch.Generator().manual_seed(seed)
    h, w = height * stride, width * stride
    centre = torch.rand(
        num, 2, generator=g) * torch.tensor([w, h]) * 1.2 - (
            0.1 * torch.tensor([w, h]))
    size = torch.rand(num, 2, generator=g)**2 * torch.tensor([w, h]) * 0.9
    size[:num // 10] = torch.rand(num // 10, 2, generator=g) * stride
    boxes = torch.cat([centre - size / 2, centre + size / 2], dim=1)
    index = torch.randint(0, batch, (num, 1), generator=g).float()
    return torch.cat([index, boxes], dim=1)


def both(feats, rois, out, scale, ratio, aligned):
    """(ours, mmcv's) outputs and feature gradients for one random
    upstream gradient."""
    results = []
    upstream = None
    for fn in (roi_align_separable, None):
        x = feats.clone().requires_grad_()
        if fn is None:
            y = roi_align(x, rois, out, scale, ratio, 'avg', aligned)
        else:
            y = fn(x, rois, out, scale, ratio, aligned)
        if upstream is None:
            upstream = torch.randn(
                y.shape, generator=torch.Generator().manual_seed(1))
        y.backward(upstream)
        results.append((y.detach(), x.grad))
    return results


def assert_close(actual, expected):
    scale = expected.abs().max().clamp(min=1e-6)
    assert (actual - expected).abs().max() / scale < 1e-5


@pytest.mark.parametrize('ratio', [0, 2])
@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('out,stride', [(7, 4), (14, 8), ((7, 5), 16)])
def test_matches_mmcv_forward_and_backward(ratio, aligned, out, stride):
    torch.manual_seed(0)
    feats = torch.randn(2, 16, 23, 31)
    rois = random_rois(120, 2, 23, 31, stride)
    (ours, our_grad), (mmcv_out, mmcv_grad) = both(feats, rois, out,
                                                   1 / stride, ratio, aligned)
    assert ours.shape == mmcv_out.shape and ours.is_contiguous()
    assert_close(ours, mmcv_out)
    assert_close(our_grad, mmcv_grad)


def test_channels_last_map_and_zero_size_boxes():
    torch.manual_seed(0)
    feats = torch.randn(1, 8, 12, 12)
    rois = torch.tensor([[0, 5., 5., 5., 5.], [0, 2., 3., 40., 30.],
                         [0, -20., -20., -10., -10.]])
    expected = roi_align(feats, rois, 7, 0.25, 0, 'avg', True)
    ours = roi_align_separable(
        feats.contiguous(memory_format=torch.channels_last), rois, 7, 0.25)
    assert_close(ours, expected)
    assert ours[0].abs().max() == 0 and ours[2].abs().max() == 0


def test_no_rois_and_bad_arguments():
    feats = torch.randn(1, 4, 8, 8)
    assert roi_align_separable(feats, torch.zeros(0, 5),
                               7).shape == (0, 4, 7, 7)
    with pytest.raises(ValueError, match='x2 < x1'):
        roi_align_separable(feats, torch.tensor([[0, 5., 5., 2., 8.]]), 7)
    with pytest.raises(ValueError, match=r'rois \(R, 5\)'):
        roi_align_separable(feats, torch.zeros(3, 4), 7)
    with pytest.raises(ValueError, match="pool_mode='avg' only"):
        SeparableRoIAlign(7, pool_mode='max')
    with pytest.raises(ValueError, match='sampling_ratio'):
        SeparableRoIAlign(7, sampling_ratio=-1)


def test_bf16_map_gives_bf16_features_close_to_fp32():
    torch.manual_seed(0)
    feats = torch.randn(2, 32, 20, 24)
    rois = random_rois(50, 2, 20, 24, 8)
    expected = roi_align(feats, rois, 7, 1 / 8, 0, 'avg', True)
    ours = SeparableRoIAlign(7, 1 / 8)(feats.bfloat16(), rois)
    assert ours.dtype == torch.bfloat16
    assert (ours.float() - expected).abs().max() < 0.05


def test_batches_of_windows_give_the_same_result(monkeypatch):
    """RoIs are processed in memory-bounded batches: many small batches give
    the result of one."""
    from mmfishnet.ops import roi_align as module
    torch.manual_seed(0)
    feats = torch.randn(2, 8, 30, 40)
    rois = random_rois(64, 2, 30, 40, 4)
    whole = roi_align_separable(feats, rois, 7, 0.25)
    monkeypatch.setattr(module, 'MAX_WINDOW_ELEMENTS', 8 * 40)
    assert_close(roi_align_separable(feats, rois, 7, 0.25), whole)
