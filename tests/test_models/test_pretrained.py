"""Pretrained weights that cannot fit say which file and what to do."""
import pytest
import torch
from conftest import deterministic_official_state, save_official

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
