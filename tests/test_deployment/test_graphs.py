"""The export wrappers and the module swaps that keep shapes dynamic."""
import pytest
import torch
from torch import nn

from mmfishnet.deployment import exportable_copy
from mmfishnet.deployment.graphs import AdaptiveAvgPool2dWindows
from .conftest import require_onnx_export


@pytest.mark.parametrize('output_size', [2, 3, 6, (2, 5)])
@pytest.mark.parametrize('input_size', [(17, 23), (64, 64), (7, 9)])
def test_window_pooling_equals_adaptive_pooling(output_size, input_size):
    x = torch.randn(2, 4, *input_size)
    expected = nn.AdaptiveAvgPool2d(output_size)(x)
    got = AdaptiveAvgPool2dWindows(output_size)(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


def test_exportable_copy_swaps_only_what_freezes_shapes():
    Upsample = pytest.importorskip('mmseg.models.utils').Upsample
    model = nn.Sequential(
        nn.AdaptiveAvgPool2d(3), nn.AdaptiveAvgPool2d(1),
        Upsample(scale_factor=2, mode='bilinear', align_corners=False),
        Upsample(scale_factor=1.5, mode='bilinear'), nn.Conv2d(4, 4, 1))
    copy = exportable_copy(model)
    assert [type(m) for m in copy] == [
        AdaptiveAvgPool2dWindows, nn.AdaptiveAvgPool2d, nn.Upsample, Upsample,
        nn.Conv2d
    ]
    assert type(model[0]) is nn.AdaptiveAvgPool2d  # the original unchanged
    x = torch.randn(1, 4, 13, 11)
    torch.testing.assert_close(copy[2](x), model[2](x))


def test_window_pooling_exports_with_dynamic_windows(tmp_path):
    """Exported, the windows follow the input size (the integer division
    of the exported graph truncates: the window bounds must not rely on
    flooring negative numbers)."""
    require_onnx_export()
    import onnxruntime as ort

    from mmfishnet.deployment import export_onnx
    module = AdaptiveAvgPool2dWindows(6)
    module.output_names = ['pooled']
    path = tmp_path / 'pool.onnx'
    export_onnx(module, path, torch.randn(2, 4, 16, 16), True, {})
    session = ort.InferenceSession(str(path))
    for size in ((16, 16), (11, 7), (40, 29)):
        x = torch.randn(1, 4, *size)
        got = session.run(None, {'image': x.numpy()})[0]
        torch.testing.assert_close(
            torch.from_numpy(got),
            nn.AdaptiveAvgPool2d(6)(x))


class UpsampleGraph(nn.Module):
    """mmseg's ``Upsample`` as an export graph of its own."""

    def __init__(self):
        super().__init__()
        Upsample = pytest.importorskip('mmseg.models.utils').Upsample
        self.upsample = Upsample(
            scale_factor=2, mode='bilinear', align_corners=False)
        self.output_names = ['seg_logits']

    def forward(self, x):
        return self.upsample(x)


def test_mmseg_upsample_must_be_swapped(tmp_path):
    """Exported as it is, mmseg's Upsample keeps the example's size: the
    parity check catches it at another size; its swap stays dynamic."""
    require_onnx_export()
    from mmfishnet.deployment import ParityError, check_parity, export_onnx
    graph = UpsampleGraph().eval()
    example = torch.randn(2, 4, 12, 16)
    other = torch.randn(1, 4, 13, 10)
    frozen, swapped = tmp_path / 'frozen.onnx', tmp_path / 'swapped.onnx'
    export_onnx(graph, frozen, example, True, {})
    check_parity(graph, frozen, [example[:1]])
    with pytest.raises(ParityError, match='seg_logits'):
        check_parity(graph, frozen, [other])
    export_onnx(exportable_copy(graph), swapped, example, True, {})
    check_parity(graph, swapped, [example[:1], other])
