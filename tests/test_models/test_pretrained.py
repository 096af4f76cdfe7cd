"""Pretrained weights that cannot fit say which file and what to do."""
import pytest
import torch
from conftest import save_official, zoo_config

from mmfishnet.converters.reference import deterministic_official_state
from mmfishnet.models import FishNet


def test_a_missing_pretrained_file_names_the_official_file_and_remedies(
        tmp_path):
    path = str(tmp_path / 'checkpoints' / 'fishnet150_in1k.pth')
    with pytest.raises(FileNotFoundError) as error:
        FishNet(
            'fishnet150',
            init_cfg=dict(
                type='Pretrained', checkpoint=path,
                prefix='backbone.')).init_weights()
    message = str(error.value)
    assert path in message and 'fishnet150_ckpt.tar' in message
    assert 'tools/model_converters/fishnet2mmpretrain.py' in message
    assert 'model.backbone.init_cfg=None' in message


def test_fishnext_has_no_official_weights_to_point_to(tmp_path):
    with pytest.raises(
            FileNotFoundError, match='published no FishNeXt weights'):
        FishNet('fishnext99').load_pretrained(str(tmp_path / 'x.pth'))


def test_an_official_checkpoint_of_another_depth_names_both(tmp_path):
    path = tmp_path / 'fishnet99_ckpt.tar'
    save_official(path, deterministic_official_state('fishnet99'))
    with pytest.raises(ValueError) as error:
        FishNet('fishnet150').load_pretrained(str(path))
    message = str(error.value)
    assert str(path) in message
    assert 'official fishnet99 checkpoint' in message
    assert 'builds a fishnet150' in message


def test_converted_weights_of_another_arch_name_both(tmp_path):
    path = tmp_path / 'fishnext150.pth'
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in FishNet('fishnext150').state_dict().items()
            }
        }, path)
    with pytest.raises(
            ValueError,
            match='holds fishnext150 weights, but the '
            'config builds a fishnet150'):
        FishNet('fishnet150').load_pretrained(str(path))
    # the same file loads into the arch it is for
    FishNet('fishnext150').load_pretrained(str(path))


def test_the_deprecated_pretrained_argument_loads_like_init_cfg(tmp_path):
    path = tmp_path / 'fishnet99.pth'
    source = FishNet('fishnet99')
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in source.state_dict().items()
            }
        }, path)
    with pytest.warns(UserWarning, match='pretrained is deprecated'):
        backbone = FishNet('fishnet99', pretrained=str(path))
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=str(path), prefix=None)
    backbone.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(backbone.state_dict()[key], value), key
    # a bare backbone state dict (no prefix) loads too
    torch.save(source.state_dict(), path)
    with pytest.warns(UserWarning):
        bare = FishNet('fishnet99', pretrained=str(path))
    bare.init_weights()
    assert torch.equal(bare.stem[0].conv.weight, source.stem[0].conv.weight)
    with pytest.raises(ValueError, match='cannot be set at the same time'):
        FishNet(pretrained=str(path), init_cfg=dict(type='Pretrained'))


def test_init_cfg_without_a_prefix_finds_the_backbone_like_pretrained(
        tmp_path):
    """``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` and
    ``pretrained=PATH`` read a whole model's checkpoint alike."""
    path = tmp_path / 'classifier.pth'
    source = FishNet('fishnet99')
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(10, 1056)
    torch.save({'state_dict': state}, path)
    backbone = FishNet(
        'fishnet99', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    backbone.init_weights()
    assert torch.equal(backbone.stem[0].conv.weight,
                       source.stem[0].conv.weight)


@pytest.mark.parametrize('address', [
    'open-mmlab://resnet50_v1c', 'torchvision://resnet50',
    'open-mmlab://msra/hrnetv2_w18'
])
def test_weights_of_another_network_stop_before_any_download(
        address, monkeypatch):
    import mmengine.runner.checkpoint as checkpoint

    def no_download(*args, **kwargs):
        raise AssertionError('a download was attempted')

    monkeypatch.setattr(checkpoint, 'load_from_http', no_download)
    for kwargs in (dict(pretrained=address),
                   dict(init_cfg=dict(type='Pretrained', checkpoint=address))):
        with pytest.raises(ValueError) as error:
            FishNet('fishnet99', **kwargs)
        message = str(error.value)
        assert address in message and 'model.pretrained=None' in message
        assert 'fishnet2mmpretrain.py' in message


def test_an_mmseg_config_with_a_resnet_pretrained_stops_with_the_message():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    cfg = Config.fromfile(
        zoo_config('mmseg', 'fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py'))
    assert cfg.model.pretrained == 'open-mmlab://resnet50_v1c'
    init_default_scope('mmseg')
    for init_cfg in (None, dict(type='Pretrained', checkpoint='x.pth')):
        # with the fragment's backbone (init_cfg set) too: the model-zoo
        # refusal comes before the init_cfg / pretrained conflict
        cfg.model.backbone = dict(
            type='FishNet', arch='fishnet99', init_cfg=init_cfg)
        with pytest.raises(ValueError) as error:
            MODELS.build(cfg.model)
        message = str(error.value)
        assert 'set model.pretrained=None' in message
        assert 'mmseg hands it to the backbone' in message
