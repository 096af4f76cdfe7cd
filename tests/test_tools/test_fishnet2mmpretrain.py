"""The converter CLI on checkpoints in the official file format."""
import pytest
import torch
from conftest import convert, convert_official_fishnet99, save_official

from mmfishnet.converters.reference import deterministic_official_state
from mmfishnet.models import FishNet

pytestmark = pytest.mark.compat


def test_round_trip_keeps_every_value(tmp_path):
    state, ckpt = convert_official_fishnet99(tmp_path)
    converted = ckpt['state_dict']
    assert ckpt['meta']['arch'] == 'fishnet99'
    assert ckpt['meta']['official_layout'] == 'released'
    assert ckpt['meta']['official_best_prec1'] == pytest.approx(77.41)
    assert ckpt['meta']['num_classes'] == 1000
    torch.testing.assert_close(converted['backbone.stem.1.bn.running_var'],
                               state['conv2.1.running_var'])
    torch.testing.assert_close(
        converted['backbone.head3.transfer.3.conv2.weight'],
        state['fish.fish.9.1.3.conv2.weight'])
    torch.testing.assert_close(converted['head.fc.weight'],
                               state['fish.fish.9.4.1.weight'].flatten(1))
    # num_batches_tracked was absent from the source and is filled with 0
    assert converted['backbone.stem.0.bn.num_batches_tracked'] == 0
    n_weights = sum(not k.endswith('num_batches_tracked') for k in converted)
    assert n_weights == len(state)


def test_bare_state_dict_with_counters(tmp_path):
    state = deterministic_official_state('fishnet99')
    src, dst = tmp_path / 'bare.pth', tmp_path / 'out.pth'
    torch.save(state, src)
    # the command itself, as a user runs it
    result = convert(src, dst, '--arch', 'fishnet99', subprocess_run=True)
    assert result.returncode == 0, result.stderr
    assert 'fishnet99' in result.stdout


def test_converted_file_is_a_backbone_pretrained_init(tmp_path):
    state, ckpt = convert_official_fishnet99(tmp_path)
    model = FishNet(
        'fishnet99',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=str(tmp_path / 'fishnet99.pth'),
            prefix='backbone.'))
    model.init_weights()
    torch.testing.assert_close(model.head2.trunk[1].conv3.weight,
                               state['fish.fish.8.0.1.conv3.weight'])
    # An official file can be given directly: it is converted on the fly.
    direct = FishNet(
        'fishnet99',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=str(tmp_path / 'fishnet99_ckpt.tar')))
    direct.init_weights()
    for (name, a), b in zip(model.state_dict().items(),
                            direct.state_dict().values()):
        assert torch.equal(a, b), name


def test_pretrained_that_does_not_fit_is_an_error(tmp_path):
    convert_official_fishnet99(tmp_path)
    wrong_arch = FishNet(
        'fishnet150',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=str(tmp_path / 'fishnet99.pth'),
            prefix='backbone.'))
    with pytest.raises(
            ValueError,
            match='holds fishnet99 weights, but the '
            'config builds a fishnet150'):
        wrong_arch.init_weights()
    custom = FishNet(
        dict(FishNet.arch_settings['fishnet150']),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=str(tmp_path / 'fishnet99.pth'),
            prefix='backbone.'))
    # a custom arch is not compared by name: the key check names the keys
    with pytest.raises(KeyError, match='missing keys .*tail2.blocks.3'):
        custom.init_weights()
    wrong_prefix = FishNet(
        'fishnet99',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=str(tmp_path / 'fishnet99.pth'),
            prefix='model.'))
    with pytest.raises(KeyError, match="prefix 'model.'"):
        wrong_prefix.init_weights()


@pytest.mark.parametrize('change,words', [
    ('extra', 'backbone.body1.trunk.9.conv1.weight'),
    ('missing', 'backbone.bridge.attention.5.bias'),
    ('shape', 'backbone.stem.0.conv.weight'),
])
def test_keys_that_do_not_fit_are_named(tmp_path, change, words):
    state = deterministic_official_state('fishnet99')
    if change == 'extra':
        state['fish.fish.4.0.9.conv1.weight'] = torch.zeros(1)
    elif change == 'missing':
        del state['fish.fish.3.3.0.5.bias']
    else:
        state['conv1.0.weight'] = torch.zeros(32, 4, 3, 3)
    save_official(tmp_path / 'src.tar', state)
    result = convert(tmp_path / 'src.tar', tmp_path / 'dst.pth')
    assert result.returncode != 0
    assert words in result.stderr
    assert not (tmp_path / 'dst.pth').exists()


def test_not_an_official_checkpoint(tmp_path):
    torch.save({'state_dict': {
        'backbone.conv.weight': torch.zeros(1)
    }}, tmp_path / 'other.pth')
    result = convert(tmp_path / 'other.pth', tmp_path / 'dst.pth')
    assert result.returncode != 0
    assert 'not an official FishNet checkpoint' in result.stderr
    result = convert(tmp_path / 'absent.tar', tmp_path / 'dst.pth')
    assert result.returncode != 0 and 'does not exist' in result.stderr
