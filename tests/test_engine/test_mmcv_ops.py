"""mmcv's kernels under bf16 and channels_last (the op guard): run on the
CPU here; the CUDA rules are checked as a table, and on a GPU by
tools/gpu/acceptance.py (its mmcv ops row)."""
import pytest
import torch
from mmcv.ops import batched_nms, nms, roi_align
from mmcv.utils import ext_loader

from mmfishnet.engine.mmcv_ops import (copy_dtype, guarded_ext_functions,
                                       mmcv_op_guard)

pytestmark = pytest.mark.compat


@pytest.fixture(autouse=True)
def guard():
    with mmcv_op_guard.scope():
        yield


def test_the_guard_wraps_every_op_while_enabled_and_restores_them():
    ext = ext_loader.load_ext('_ext', [])
    wrapped = guarded_ext_functions()
    assert {'nms', 'roi_align_forward', 'roi_align_backward'} <= set(wrapped)
    original = ext.nms.__wrapped__
    mmcv_op_guard.disable()  # the fixture's enable: off now
    try:
        assert ext.nms is original and guarded_ext_functions() == []
        with pytest.raises(RuntimeError, match='BFloat16|Float'):
            nms(torch.tensor([[0, 0, 10, 10.]]).bfloat16(),
                torch.tensor([0.9]).bfloat16(),
                iou_threshold=0.5)
    finally:
        mmcv_op_guard.enable()


def test_roi_align_takes_bf16_and_channels_last():
    torch.manual_seed(0)
    feats = torch.randn(2, 8, 20, 24)
    rois = torch.tensor([[0, 1., 2., 15., 12.], [1, 3., 4., 20., 18.]])
    expected = roi_align(feats, rois, 7, 0.5, 2)
    nhwc = roi_align(
        feats.contiguous(memory_format=torch.channels_last), rois, 7, 0.5, 2)
    assert torch.equal(nhwc, expected)
    bf16 = roi_align(feats.bfloat16(), rois, 7, 0.5, 2)
    assert bf16.dtype == torch.bfloat16
    assert (bf16.float() - expected).abs().max() < 0.05


def test_roi_align_gradient_in_bf16():
    feats = torch.randn(1, 4, 16, 16).bfloat16().requires_grad_()
    rois = torch.tensor([[0, 2., 2., 12., 10.]])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = roi_align(feats, rois, 4, 1.0, 2)
    out.sum().backward()
    assert feats.grad.dtype == torch.bfloat16
    assert feats.grad.abs().sum() > 0


def test_nms_takes_bf16_scores():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores.bfloat16(), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    _, keep = batched_nms(boxes, scores.bfloat16(), torch.tensor([0, 1, 0]),
                          dict(type='nms', iou_threshold=0.5))
    assert sorted(keep.tolist()) == [0, 1, 2]


@pytest.mark.parametrize(
    'device,dtype,contiguous,copy',
    [
        ('cpu', torch.float32, True, None),
        ('cpu', torch.float32, False, torch.float32),
        ('cpu', torch.bfloat16, True, torch.float32),
        ('cpu', torch.float16, True, torch.float32),
        # mmcv 2.1's CUDA kernels dispatch float32 and float16, and read NCHW
        ('cuda', torch.float32, True, None),
        ('cuda', torch.float16, True, None),
        ('cuda', torch.bfloat16, True, torch.float32),
        ('cuda', torch.float16, False, torch.float16),
        ('cuda', torch.float32, False, torch.float32),
        ('meta', torch.bfloat16, False, None),
    ])
def test_the_copy_each_kernel_gets(device, dtype, contiguous, copy):
    assert copy_dtype(device, dtype, contiguous) == copy
