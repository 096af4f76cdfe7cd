"""FishNeXt, the down-sampling choices and the small-image options."""
import pytest
import torch
import torch.nn as nn

from mmfishnet.models import FishNet, FishNetClsHead
from mmfishnet.models.layers import PreActBottleneck, bottleneck_width

# FishNetClsHead builds its loss in mmpretrain's scope (see tests/conftest.py)
pytestmark = pytest.mark.usefixtures('mmpretrain_scope')

ALL_STAGES = tuple(range(10))


def classifier_params(**kwargs):
    backbone = FishNet(out_indices=(9, ), **kwargs)
    head = FishNetClsHead(
        num_classes=1000, in_channels=backbone.out_channels[-1])
    return sum(p.numel() for m in (backbone, head) for p in m.parameters())


@pytest.mark.parametrize('depth', [99, 150, 201])
def test_fishnext_params_within_3_percent_of_fishnet(depth):
    fishnet = classifier_params(arch=f'fishnet{depth}')
    fishnext = classifier_params(arch=f'fishnext{depth}')
    assert abs(fishnext / fishnet - 1) < 0.03, (fishnext, fishnet)


def test_fishnext_grouped_convs_follow_the_width_rule():
    model = FishNet('fishnext150', out_indices=ALL_STAGES)
    blocks = [m for m in model.modules() if isinstance(m, PreActBottleneck)]
    assert len(blocks) == 46
    for block in blocks:
        out = block.conv3.out_channels
        conv = block.conv2
        # twice FishNet's bottleneck width, up to 32 groups of >= 4 channels
        assert conv.in_channels == out // 2 - (out // 2) % conv.groups
        assert conv.groups == min(32, (out // 2) // 4)
        assert conv.in_channels // conv.groups >= 4
        assert block.conv1.groups == block.conv3.groups == 1
    assert min(b.conv2.in_channels // b.conv2.groups for b in blocks) == 4
    assert max(b.conv2.groups for b in blocks) == 32


def test_fishnet_bottlenecks_are_not_grouped():
    model = FishNet('fishnet150', out_indices=ALL_STAGES)
    assert all(m.groups == 1 for m in model.modules()
               if isinstance(m, nn.Conv2d))


def test_bottleneck_width_rule():
    assert bottleneck_width(256) == (64, 1)
    assert bottleneck_width(256, 0.5, 32) == (128, 32)
    assert bottleneck_width(64, 0.5, 32) == (32, 8)
    assert bottleneck_width(1600, 0.5, 32) == (800, 32)


@pytest.mark.parametrize('arch', ['fishnext99', 'fishnext150', 'fishnext201'])
def test_fishnext_every_out_index(arch):
    model = FishNet(arch, out_indices=ALL_STAGES).eval()
    assert model.out_channels == [
        128, 256, 512, 512, 768, 512, 320, 832, 1600, 2112
    ]
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 96, 128))
    strides = [8, 16, 32, 32, 16, 8, 4, 8, 16, 32]
    assert [tuple(o.shape[1:]) for o in outs] == [
        (c, 96 // s, 128 // s) for c, s in zip(model.out_channels, strides)
    ]


def test_fishnext_supports_the_backbone_options():
    model = FishNet(
        'fishnext99',
        frozen_stages=2,
        norm_eval=True,
        with_cp=True,
        out_indices=(7, 9))
    model.train()
    assert not any(p.requires_grad for p in model.tail2.parameters())
    assert all(p.requires_grad for p in model.head1.parameters())
    x = torch.randn(1, 3, 70, 50, requires_grad=True)  # odd size: padded
    outs = model(x)
    assert [tuple(o.shape) for o in outs] == [(1, 832, 12, 8), (1, 2112, 3, 2)]
    sum(o.sum() for o in outs).backward()
    assert x.grad is not None


# 'conv': BN + 1x1 conv (C -> C) at the 3 tail and 3 head down-samplings,
# C = 128, 256, 512 and 320, 832, 1600: sum(C * C + 2 * C) = 3,705,984
@pytest.mark.parametrize('kind,extra', [('maxpool2x2', 0), ('maxpool3x3', 0),
                                        ('avgpool2x2', 0),
                                        ('conv', 3_705_984)])
def test_downsample_choices(kind, extra):
    assert classifier_params(
        arch='fishnet150', downsample=kind) == 24_959_400 + extra
    model = FishNet('fishnet99', downsample=kind, out_indices=ALL_STAGES)
    with torch.no_grad():
        outs = model.eval()(torch.randn(1, 3, 64, 96))
    strides = [8, 16, 32, 32, 16, 8, 4, 8, 16, 32]
    assert [tuple(o.shape[2:]) for o in outs] == [(64 // s, 96 // s)
                                                  for s in strides]


def test_default_downsampling_is_the_released_max_pool():
    model = FishNet('fishnet150', out_indices=ALL_STAGES)
    for stage in (model.tail1, model.tail2, model.tail3):
        assert isinstance(stage.pool, nn.MaxPool2d)
        assert stage.pool.kernel_size == 2 and stage.pool.stride == 2
    for stage in (model.head1, model.head2, model.head3):
        assert isinstance(stage.resample, nn.MaxPool2d)
        assert stage.resample.kernel_size == 2
    assert isinstance(model.stem[3], nn.MaxPool2d)


@pytest.mark.parametrize('size,stem_stride', [(32, 1), (64, 2)])
def test_small_images_keep_useful_resolutions(size, stem_stride):
    model = FishNet(
        'fishnet99',
        stem_stride=stem_stride,
        widen_factor=0.5,
        out_indices=ALL_STAGES).eval()
    assert model.size_divisor == 8 * stem_stride
    with torch.no_grad():
        outs = model(torch.randn(2, 3, size, size))
    # tail 16/8/4, bridge 4, body 8/16/32, head 16/8/4 (for a 32x32 input)
    sides = [16, 8, 4, 4, 8, 16, 32, 16, 8, 4]
    assert [o.shape[-1] for o in outs] == sides
    assert [o.shape[1] for o in outs
            ] == [64, 128, 256, 256, 384, 256, 160, 416, 800, 1056]


def test_small_image_input_sizes_are_padded_to_the_divisor():
    model = FishNet(
        'fishnet99', stem_stride=1, widen_factor=0.25,
        out_indices=(9, )).eval()
    with torch.no_grad():
        out, = model(torch.randn(1, 3, 30, 17))
    assert out.shape == (1, 528, 4, 3)  # padded to 32 x 24, stride 8


def test_widen_factor_one_and_stem_stride_four_are_the_default():
    default = FishNet('fishnet99', out_indices=(9, ))
    explicit = FishNet(
        'fishnet99',
        stem_stride=4,
        widen_factor=1.0,
        downsample='maxpool2x2',
        out_indices=(9, ))
    assert [(k, v.shape) for k, v in default.state_dict().items()
            ] == [(k, v.shape) for k, v in explicit.state_dict().items()]


def test_zero_init_residual_makes_blocks_start_as_shortcuts():
    model = FishNet(
        'fishnet99', stem_stride=1, widen_factor=0.25, zero_init_residual=True)
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, PreActBottleneck)]
    assert all(b.conv3.weight.abs().sum() == 0 for b in blocks)
    assert all(b.conv2.weight.abs().sum() > 0 for b in blocks)


@pytest.mark.parametrize('kwargs,words', [
    (dict(stem_stride=3), ['stem_stride', '(1, 2, 4)']),
    (dict(widen_factor=0), ['widen_factor', 'positive']),
    (dict(downsample='maxpool'), ['downsample', 'avgpool2x2', 'conv']),
    (dict(arch='fishnext300'), ['fishnext150', 'fishnet99']),
])
def test_invalid_variant_options_name_the_choices(kwargs, words):
    with pytest.raises((ValueError, KeyError)) as error:
        FishNet(**kwargs)
    assert all(word in str(error.value) for word in words)
