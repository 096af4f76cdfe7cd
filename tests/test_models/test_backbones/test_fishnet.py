import math
from unittest import mock

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmfishnet.models import FishNet, FishNetClsHead
from mmfishnet.models.layers import channel_reduction

# FishNetClsHead builds its loss in mmpretrain's scope (see tests/conftest.py)
pytestmark = pytest.mark.usefixtures('mmpretrain_scope')

# (channels, stride) of [stem, stage 0, ..., stage 9]
FEATURES = [(64, 4), (128, 8), (256, 16), (512, 32), (512, 32), (768, 16),
            (512, 8), (320, 4), (832, 8), (1600, 16), (2112, 32)]


def count_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('arch,params,convs',
                         [('fishnet99', 16_628_904, 100),
                          ('fishnet150', 24_959_400, 151),
                          ('fishnet201', 44_584_552, 202)])
def test_official_size(arch, params, convs):
    backbone = FishNet(arch, out_indices=(9, ))
    head = FishNetClsHead(num_classes=1000)
    assert count_params(backbone) + count_params(head) == params
    modules = list(backbone.modules()) + list(head.modules())
    # convs + the classifier (a Linear here, a 1x1 conv officially)
    assert sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in modules) == convs
    assert sum(isinstance(m, nn.BatchNorm2d) for m in modules) == convs - 1


def test_default_outputs_are_the_fpn_maps():
    model = FishNet('fishnet99').eval()
    assert model.out_indices == (6, 7, 8, 9)
    assert model.out_channels == [320, 832, 1600, 2112]
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 224, 192))
    assert [tuple(o.shape)
            for o in outs] == [(2, 320, 56, 48), (2, 832, 28, 24),
                               (2, 1600, 14, 12), (2, 2112, 7, 6)]


def test_every_stage_output():
    model = FishNet('fishnet99', out_indices=tuple(range(10))).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 128, 160))
    expected = [(1, c, 128 // s, 160 // s) for c, s in FEATURES[1:]]
    assert [tuple(o.shape) for o in outs] == expected
    assert model.feat_channels == [c for c, _ in FEATURES]


def test_out_indices_order_and_negative():
    model = FishNet('fishnet99', out_indices=(-1, 4)).eval()
    assert model.out_indices == (9, 4)
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [2112, 768]


def test_stages_after_the_last_output_are_not_built():
    model = FishNet('fishnet99', out_indices=(3, ))
    assert hasattr(model, 'bridge') and not hasattr(model, 'body1')
    assert model.num_stages == 4
    with torch.no_grad():
        (out, ) = model.eval()(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 512, 2, 2)


@pytest.mark.parametrize('size', [(200, 300), (33, 65), (32, 32), (17, 40)])
def test_odd_input_sizes_are_padded_to_32(size):
    h, w = size
    model = FishNet('fishnet99').eval()
    x = torch.randn(1, 3, h, w)
    ph, pw = math.ceil(h / 32) * 32, math.ceil(w / 32) * 32
    padded = torch.zeros(1, 3, ph, pw)
    padded[..., :h, :w] = x
    with torch.no_grad():
        outs, ref = model(x), model(padded)
    for out, expected, stride in zip(outs, ref, (4, 8, 16, 32)):
        assert out.shape[2:] == (ph // stride, pw // stride)
        torch.testing.assert_close(out, expected)


def test_channel_reduction_sums_adjacent_channels():
    x = torch.arange(2 * 6 * 2 * 2, dtype=torch.float32).reshape(2, 6, 2, 2)
    out = channel_reduction(x, 2)
    assert out.shape == (2, 3, 2, 2)
    torch.testing.assert_close(out[:, 1], x[:, 2] + x[:, 3])
    assert channel_reduction(x, 1) is x
    cl = channel_reduction(x.to(memory_format=torch.channels_last), 3)
    torch.testing.assert_close(cl[:, 0], x[:, 0] + x[:, 1] + x[:, 2])


def test_channels_last_matches_contiguous():
    model = FishNet('fishnet99').eval()
    x = torch.randn(1, 3, 96, 64)
    with torch.no_grad():
        ref = model(x)
        model_cl = model.to(memory_format=torch.channels_last)
        outs = model_cl(x.to(memory_format=torch.channels_last))
    for out, expected in zip(outs, ref):
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)


def test_custom_arch_dict():
    table = dict(FishNet.arch_settings['fishnet99'])
    assert count_params(FishNet(table)) == count_params(FishNet('fishnet99'))
    tiny = FishNet(
        dict(
            tail_blocks=(1, 1, 1),
            bridge_blocks=1,
            body_blocks=(1, 1, 1),
            body_transfer_blocks=(1, 1, 1),
            head_blocks=(1, 1, 1),
            head_transfer_blocks=(1, 1, 1),
            stem_channels=16,
            tail_channels=(32, 64, 128),
            bridge_channels=128,
            body_channels=(128, 96, 64)))
    # body3: trunk 64 + stem 16; head1/2/3 add body2 (96 + 32),
    # body1 (128 + 64) and the bridge (128)
    assert tiny.out_channels == [80, 80 + 128, 208 + 192, 400 + 128]
    outs = tiny.eval()(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == tiny.out_channels


@pytest.mark.parametrize('kwargs,error,words', [
    (dict(arch='fishnet50'), KeyError, 'fishnet99'),
    (dict(arch=dict(tail_blocks=(1, 1, 1))), KeyError, 'bridge_blocks'),
    (dict(arch=dict(FishNet.arch_settings['fishnet99'], depth=3)), KeyError,
     'depth'),
    (dict(arch=dict(FishNet.arch_settings['fishnet99'], tail_blocks=(2, 2))),
     ValueError, '3 positive ints'),
    (dict(
        arch=dict(
            FishNet.arch_settings['fishnet99'], body_channels=(500, 384,
                                                               256))),
     ValueError, 'multiple'),
    (dict(out_indices=(10, )), ValueError, 'head3'),
    (dict(out_indices=(1.5, )), ValueError, '[-10, 9]'),
    (dict(out_indices=(6, 6)), ValueError, 'duplicates'),
    (dict(out_indices=()), ValueError, 'non-empty'),
    (dict(frozen_stages=11), ValueError, '[-1, 10]'),
    (dict(out_indices=(2, ), frozen_stages=4), ValueError, '[-1, 3]'),
])
def test_invalid_arguments_name_the_choices(kwargs, error, words):
    with pytest.raises(error) as info:
        FishNet(**kwargs)
    assert words in str(info.value)


def test_wrong_input_layout():
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        FishNet('fishnet99')(torch.randn(1, 64, 64, 3))


def _trainable(module):
    return [p.requires_grad for p in module.parameters()]


def test_frozen_stages_stay_frozen_after_train():
    model = FishNet('fishnet99', frozen_stages=2)
    model.train()
    for frozen in (model.stem, model.tail1, model.tail2):
        assert not any(_trainable(frozen))
        assert all(not m.training for m in frozen.modules())
    assert all(_trainable(model.tail3)) and model.tail3.training
    assert all(m.training for m in model.head3.modules())


def test_frozen_stem_only():
    model = FishNet('fishnet99', frozen_stages=0).train()
    assert not any(_trainable(model.stem)) and all(_trainable(model.tail1))


def test_norm_eval_keeps_bn_statistics_fixed():
    model = FishNet('fishnet99', norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    before = model.tail1.blocks[0].norm1.running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    torch.testing.assert_close(model.tail1.blocks[0].norm1.running_mean,
                               before)
    assert model.tail1.blocks[0].conv1.weight.requires_grad


def test_group_norm():
    model = FishNet(
        'fishnet99', norm_cfg=dict(type='GN', num_groups=16)).train()
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in model.modules())
    outs = model(torch.randn(1, 3, 64, 64))
    sum(o.mean() for o in outs).backward()
    assert model.stem[0].conv.weight.grad is not None


def test_sync_batch_norm_builds():
    model = FishNet('fishnet99', norm_cfg=dict(type='SyncBN')).eval()
    syncs = [m for m in model.modules() if isinstance(m, nn.SyncBatchNorm)]
    assert len(syncs) == 99 - 2  # the classifier's two BNs are in the head
    with torch.no_grad():  # eval mode needs no process group
        outs = model(torch.randn(1, 3, 64, 64))
    assert outs[-1].shape == (1, 2112, 2, 2)


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = FishNet('fishnet99')
    plain.init_weights()
    cp = FishNet('fishnet99', with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    for model in (plain, cp):
        model.train()
        outs = model(x)
        sum((o * o).mean() for o in outs).backward()
    for (name, p), q in zip(plain.named_parameters(), cp.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)


def _saved_megabytes(forward, x):
    """Megabytes of distinct tensors autograd saves for backward."""
    seen = {}

    def pack(t):
        seen[t.data_ptr(), t.shape] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward(x)
    return sum(seen.values()) / 2**20


def test_with_cp_recomputes_a_trainable_stem_only():
    x = torch.randn(2, 3, 224, 224)
    plain = FishNet('fishnet99').train()
    assert _saved_megabytes(plain._stem_forward, x) > 25
    cp = FishNet('fishnet99', with_cp=True).train()
    # only the input image (1.1 MB) and the checkpoint's bookkeeping
    assert _saved_megabytes(cp._stem_forward, x) < 2
    frozen = FishNet('fishnet99', with_cp=True, frozen_stages=0).train()
    with mock.patch.object(
            torch.utils.checkpoint,
            'checkpoint',
            wraps=torch.utils.checkpoint.checkpoint) as spy:
        cp._stem_forward(x)
        assert spy.call_count == 1
        frozen._stem_forward(x)  # nothing to recompute gradients for
        assert spy.call_count == 1


def test_authors_initialisation():
    torch.manual_seed(0)
    model = FishNet('fishnet99')
    model.init_weights()
    conv = model.head2.trunk[0].conv1  # 832 -> 208, 1x1
    assert conv.weight.std().item() == pytest.approx(
        math.sqrt(2 / 208), rel=0.05)
    bn = model.body1.transfer[0].norm2
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    bridge_bias = model.bridge.score[5].bias  # conv bias keeps torch's init
    assert bridge_bias.abs().max() <= 1 / math.sqrt(256)
