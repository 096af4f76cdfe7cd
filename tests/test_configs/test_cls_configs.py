"""The ImageNet classifier configs: they build, and with converted official
weights they reproduce the official outputs."""
import pytest
import torch
from conftest import REPO, convert_official_fishnet99
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmfishnet.converters.reference import (load_reference, reference_input,
                                            relative_error)

pytestmark = pytest.mark.compat

CLS_CONFIGS = sorted(p.name for p in (REPO / 'configs').glob('fish*_in1k.py'))
REFERENCES = ['224x224', '256x320']


def build_from_config(name, **backbone_overrides):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(REPO / 'configs' / name)
    init_default_scope('mmpretrain')
    cfg.model.backbone.update(backbone_overrides)
    return MODELS.build(cfg.model)


def test_all_classifier_configs_are_found():
    assert {
        'fishnet99_8xb32_in1k.py', 'fishnet150_8xb32_in1k.py',
        'fishnet201_8xb32_in1k.py', 'fishnet150_8xb32-cos200e-ls_in1k.py',
        'fishnet201_8xb32-cos200e-ls_in1k.py', 'fishnext99_8xb32_in1k.py',
        'fishnext150_8xb32_in1k.py', 'fishnext201_8xb32_in1k.py',
        'fishnet150-maxpool3x3_8xb32_in1k.py',
        'fishnet150-avgpool2x2_8xb32_in1k.py', 'fishnet150-conv_8xb32_in1k.py',
        'fishnet150_8xb32-amp_in1k.py'
    } <= set(CLS_CONFIGS)


@pytest.fixture(scope='module')
def converted_fishnet99(tmp_path_factory):
    """A FishNet-99 file in the official format converted with the CLI."""
    _, ckpt = convert_official_fishnet99(tmp_path_factory.mktemp('ckpt'))
    return ckpt['state_dict']


@pytest.mark.parametrize('name', REFERENCES)
def test_logits_match_the_official_model(converted_fishnet99, name):
    reference = load_reference(name)
    model = build_from_config('fishnet99_8xb32_in1k.py').eval()
    model.load_state_dict(converted_fishnet99, strict=True)
    with torch.no_grad():
        logits = model(reference_input(*reference['input'][2:]), mode='tensor')
    assert logits.shape == (1, 1000)
    assert relative_error(logits[0], reference['logits']) < 1e-5


@pytest.mark.parametrize('name', REFERENCES)
def test_fpn_maps_match_the_official_model(converted_fishnet99, name):
    reference = load_reference(name)
    model = build_from_config(
        'fishnet99_8xb32_in1k.py', out_indices=(6, 7, 8, 9)).eval()
    model.load_state_dict(converted_fishnet99, strict=True)
    with torch.no_grad():
        feats = model.backbone(reference_input(*reference['input'][2:]))
    for feat, idx in zip(feats, (7, 8, 9, 10)):
        ref = reference['features'][f'all_feat[{idx}]']
        assert list(feat.shape) == ref['shape']
        flat = feat.double().flatten()
        sample = flat[torch.tensor(ref['sample_index'])]
        assert relative_error(sample, ref['sample']) < 1e-5
        assert flat.abs().max().item() == pytest.approx(
            ref['abs_max'], rel=1e-5)
        assert flat.abs().sum().item() == pytest.approx(
            ref['abs_sum'], rel=1e-5)


@pytest.mark.parametrize('name', CLS_CONFIGS)
def test_config_builds_and_classifies(name):
    model = build_from_config(name)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 64, 64), mode='tensor')
    assert logits.shape == (2, 1000) and torch.isfinite(logits).all()
