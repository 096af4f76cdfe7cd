import pytest
import torch

from mmfishnet.converters import (convert_official_checkpoint, detect_layout,
                                  map_released_key)
from mmfishnet.converters.reference import (deterministic_official_state,
                                            official_key_shapes)
from mmfishnet.models import FishNet, FishNetClsHead
from mmfishnet.models.pretrained import arch_of_state, strip_prefix

pytestmark = pytest.mark.compat

ARCHS = ['fishnet99', 'fishnet150', 'fishnet201']


def classifier_keys(arch):
    backbone = FishNet(arch, out_indices=(9, ))
    head = FishNetClsHead(num_classes=1000)
    return ([f'backbone.{k}' for k in backbone.state_dict()] +
            [f'head.{k}' for k in head.state_dict()])


@pytest.mark.parametrize('arch', ARCHS)
def test_every_official_key_maps_one_to_one(arch):
    official = official_key_shapes(arch)
    mapped = [map_released_key(k) for k in official]
    assert None not in mapped
    assert len(set(mapped)) == len(mapped)
    assert mapped == classifier_keys(arch)  # same keys, same order


@pytest.mark.parametrize('arch', ARCHS)
def test_converted_shapes_fit_the_model(arch):
    converted = convert_official_checkpoint({
        f'module.{k}': v
        for k, v in deterministic_official_state(arch).items()
    })
    backbone = FishNet(arch, out_indices=(9, ))
    head = FishNetClsHead(num_classes=1000)
    own = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    own.update({f'head.{k}': v for k, v in head.state_dict().items()})
    assert list(converted) == list(own)
    for key, value in converted.items():
        assert value.shape == own[key].shape, key
    assert converted['head.fc.weight'].shape == (1000, 1056)
    assert arch_of_state(
        strip_prefix(converted, 'backbone.'), FishNet.arch_settings) == arch


def test_unmapped_key_is_an_error_naming_it():
    state = deterministic_official_state('fishnet99')
    state['fish.fish.9.7.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match=r'fish\.fish\.9\.7\.weight'):
        convert_official_checkpoint(state)


def test_unknown_block_counts_name_no_arch():
    state = {
        k: v
        for k, v in convert_official_checkpoint(
            deterministic_official_state('fishnet99')).items()
        if not k.startswith('backbone.tail3.blocks.5.')
    }
    backbone = {k[len('backbone.'):]: v for k, v in state.items()}
    assert arch_of_state(backbone, FishNet.arch_settings) is None


def _rename(state, rules):
    out = {}
    for key, value in state.items():
        for old, new in rules.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def test_welltrained150_layout():
    released = deterministic_official_state('fishnet150', False)
    # The inverse of the documented key rename of the released weights.
    welltrained = _rename(
        released, {
            'fish.fish.3.0.2.': 'fish.fish.3.1.0.',
            'fish.fish.3.0.3.': 'fish.fish.3.1.1.',
            'fish.fish.3.1.': 'fish.fish.3.1.3.',
            'fish.fish.9.3.2.': 'fish.fish.9.4.0.',
            'fish.fish.9.3.3.': 'fish.fish.9.4.1.',
            'fish.fish.9.4.1.': 'fish.fish.9.4.4.',
        })
    assert detect_layout(welltrained) == 'welltrained150'
    expected = convert_official_checkpoint(released)
    converted = convert_official_checkpoint(welltrained)
    assert converted.keys() == expected.keys()
    for key in expected:
        assert torch.equal(converted[key], expected[key]), key


def test_welltrained201_bare_shortcut_is_expressed_exactly():
    released = deterministic_official_state('fishnet201', False)
    bare = {
        k: v
        for k, v in released.items()
        if not k.startswith('fish.fish.0.0.0.shortcut.0.')
    }
    welltrained = _rename(
        bare, {
            'fish.fish.0.0.0.shortcut.2.': 'fish.fish.0.0.0.shortcut.',
            'fish.fish.9.3.0.': 'fish.fish.9.2.0.',
            'fish.fish.9.3.3.': 'fish.fish.9.3.1.',
            'fish.fish.9.3.2.': 'fish.fish.9.3.0.',
            'fish.fish.9.4.1.': 'fish.fish.9.3.4.',
        })
    assert detect_layout(welltrained) == 'welltrained201'
    converted = convert_official_checkpoint(welltrained)
    assert set(converted) == set(convert_official_checkpoint(released))

    model = FishNet('fishnet201', out_indices=(0, )).eval()
    model.load_state_dict(
        {
            k[len('backbone.'):]: v
            for k, v in converted.items() if k.startswith('backbone.tail1.')
        },
        strict=False)
    shortcut = model.tail1.blocks[0].shortcut
    x = torch.rand(2, 64, 8, 8) * 5  # the stem output is non-negative
    conv = converted['backbone.tail1.blocks.0.shortcut.2.weight']
    with torch.no_grad():
        torch.testing.assert_close(
            shortcut(x), torch.nn.functional.conv2d(x, conv))
