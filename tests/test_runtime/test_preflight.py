"""Checks of the user's files and options, before anything heavy runs."""
import pytest
import torch
import torch.nn as nn
from conftest import REPO, run_tool_main, zoo_config
from mmengine.config import Config

from mmfishnet.checkpoint import CheckpointError
from mmfishnet.models import FishNet
from mmfishnet.runtime.preflight import (UserInputError, check_checkpoint_file,
                                         check_checkpoint_fits,
                                         check_config_path,
                                         check_dataset_files,
                                         check_fishnet_args, check_images,
                                         check_pretrained_files, is_fishnet)

DET_CONFIG = REPO / 'configs' / 'mask_rcnn_fishnet150_fpn_coco.py'


def test_a_config_typo_suggests_the_config():
    with pytest.raises(UserInputError) as error:
        check_config_path(
            str(REPO / 'configs' / 'mask_rcnn_fishnet150_fpn_cocoo.py'))
    assert 'mask_rcnn_fishnet150_fpn_cocoo.py does not exist' in str(
        error.value)
    assert 'mask_rcnn_fishnet150_fpn_coco.py' in str(error.value)


@pytest.mark.parametrize('spelling', [
    'FishNet', 'mmdet.FishNet', 'mmpretrain.FishNet', 'mmseg.FishNet', FishNet
])
def test_a_fishnet_argument_typo_names_the_argument(spelling):
    """Every spelling that builds FishNet is checked."""
    cfg = Config.fromfile(DET_CONFIG)
    cfg.model.backbone.type = spelling
    check_fishnet_args(cfg)
    cfg.merge_from_dict({'model.backbone.froze_stages': 2})
    with pytest.raises(UserInputError) as error:
        check_fishnet_args(cfg)
    assert "model.backbone.froze_stages" in str(error.value)
    assert "Did you mean 'frozen_stages'?" in str(error.value)


def test_only_fishnet_spellings_are_fishnet():
    for other in ('ResNet', 'mmdet.ResNet', 'FishNetX', 'mmfoo.FishNet', None,
                  dict, 3):
        assert not is_fishnet(other)
    assert is_fishnet('mmseg.FishNet') and is_fishnet(FishNet)


def test_pretrained_files_missing_or_unreadable(tmp_path):
    cfg = Config.fromfile(DET_CONFIG)
    path = tmp_path / 'fishnet150_in1k.pth'
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(path)})
    with pytest.raises(FileNotFoundError) as error:
        check_pretrained_files(cfg)
    assert str(path) in str(error.value)
    assert 'fishnet150_ckpt.tar' in str(error.value)
    assert '--cfg-options model.backbone.init_cfg=None' in str(error.value)
    path.write_text('{"renamed": "json"}')
    with pytest.raises(CheckpointError, match='JSON file') as error:
        check_pretrained_files(cfg)
    assert 'model.backbone.init_cfg.checkpoint' in str(error.value)
    cfg.merge_from_dict({'model.backbone.init_cfg': None})
    check_pretrained_files(cfg)


def test_a_missing_test_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.pth does not exist'):
        check_checkpoint_file(str(tmp_path / 'absent.pth'), 'checkpoint')


def model_with(*parts):
    model = nn.Module()
    for part in parts:
        setattr(model, part, nn.Linear(2, 2))
    return model


def save_state(path, model):
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path)


def test_a_classifier_checkpoint_for_a_detector(tmp_path):
    classifier = save_state(tmp_path / 'cls.pth',
                            model_with('backbone', 'head'))
    detector = model_with('backbone', 'neck', 'rpn_head', 'roi_head')
    with pytest.raises(UserInputError) as error:
        check_checkpoint_fits(detector, classifier, 'load_from')
    message = str(error.value)
    assert classifier in message and 'a classifier checkpoint' in message
    assert 'builds a detector' in message
    assert 'neck, roi_head, rpn_head would keep random weights' in message
    assert 'model.backbone.init_cfg.checkpoint=' + classifier in message


def test_a_detector_checkpoint_for_a_classifier(tmp_path):
    detector = save_state(
        tmp_path / 'det.pth',
        model_with('backbone', 'neck', 'rpn_head', 'roi_head'))
    with pytest.raises(
            UserInputError,
            match='a detector checkpoint .* '
            'builds a classifier .* detector config'):
        check_checkpoint_fits(
            model_with('backbone', 'head'), detector, 'the checkpoint to test')
    check_checkpoint_fits(model_with('backbone', 'neck'), detector, 'x')


def test_undecodable_images_are_named(tmp_path):
    import cv2
    import numpy as np
    good = tmp_path / 'good.jpg'
    cv2.imwrite(str(good), np.zeros((40, 40, 3), np.uint8) + 128)
    check_images([str(good)])
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(good.read_bytes()[:200])
    text = tmp_path / 'notes.jpg'
    text.write_text('not an image')
    for bad in (cut, text):
        with pytest.raises(UserInputError, match='cannot be decoded') as error:
            check_images([str(good), str(bad)])
        assert str(bad) in str(error.value)


def train_error(config, cwd, monkeypatch) -> str:
    """The one line that ``tools/train.py config`` (run in this process)
    exits with when it stops on a user error: a message, not a traceback."""
    monkeypatch.chdir(cwd)
    with pytest.raises(SystemExit) as stop:
        run_tool_main(REPO / 'tools' / 'train.py', [config], monkeypatch)
    assert isinstance(stop.value.code, str), stop.value.code
    return stop.value.code


def test_training_without_the_pretrained_file_fails_before_the_dataset(
        tmp_path, monkeypatch):
    """In an empty folder: no data/coco and no checkpoints/, and the error
    is about the checkpoint (the dataset would be built after it)."""
    last = train_error(DET_CONFIG, tmp_path, monkeypatch)
    assert last.startswith('error: FishNet pretrained weights '
                           'checkpoints/fishnet150_in1k.pth do not exist')


def test_missing_dataset_files_name_the_path_and_the_option(tmp_path):
    cfg = Config.fromfile(DET_CONFIG)
    cfg.merge_from_dict(
        {'train_dataloader.dataset.data_root': str(tmp_path) + '/'})
    with pytest.raises(FileNotFoundError) as error:
        check_dataset_files(cfg, ('train', ))
    assert str(tmp_path / 'annotations' / 'instances_train2017.json') in str(
        error.value)
    assert '--cfg-options train_dataloader.dataset.data_root=DIR' in str(
        error.value)
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'annotations' / 'instances_train2017.json').write_text('{}')
    check_dataset_files(cfg, ('train', ))

    imagenet = Config.fromfile(REPO / 'configs' / 'fishnet150_8xb32_in1k.py')
    imagenet.merge_from_dict(
        {'test_dataloader.dataset.data_root': str(tmp_path)})
    with pytest.raises(FileNotFoundError, match='image folder .*val'):
        check_dataset_files(imagenet, ('test', ))


def test_the_evaluators_annotation_file_is_checked_too(tmp_path):
    """Moving data_root moves the dataset's ann_file, not COCO's metric's:
    the preflight names the option that does."""
    cfg = Config.fromfile(DET_CONFIG)
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'val2017').mkdir()
    (tmp_path / 'annotations' / 'instances_val2017.json').write_text('{}')
    cfg.merge_from_dict({'val_dataloader.dataset.data_root': f'{tmp_path}/'})
    with pytest.raises(FileNotFoundError) as error:
        check_dataset_files(cfg, ('val', ))
    assert str(error.value).startswith(
        'val_evaluator.ann_file: data/coco/annotations/instances_val2017.json'
        ' does not exist')
    assert '--cfg-options val_evaluator.ann_file=FILE' in str(error.value)
    cfg.merge_from_dict({
        'val_evaluator.ann_file':
        f'{tmp_path}/annotations/instances_val2017.json'
    })
    check_dataset_files(cfg, ('val', ))


def test_pretrained_weights_of_another_depth_fail_before_training(tmp_path):
    from conftest import save_official

    from mmfishnet.converters.reference import deterministic_official_state
    path = tmp_path / 'fishnet99_ckpt.tar'
    save_official(path, deterministic_official_state('fishnet99'))
    cfg = Config.fromfile(DET_CONFIG)
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(path)})
    with pytest.raises(UserInputError) as error:
        check_pretrained_files(cfg)
    assert 'official fishnet99 checkpoint' in str(error.value)
    assert 'builds a fishnet150' in str(error.value)


def _with_fishnet(upstream: str, tmp_path, pretrained: bool):
    """An upstream mmdet config with FishNet-99 swapped in by the recipe,
    but the upstream's own data preprocessor kept."""
    path = tmp_path / 'user.py'
    fragment = REPO / 'configs' / '_base_' / 'fishnet.py'
    path.write_text(
        f"_base_ = ['{upstream}', '{fragment}']\n"
        'model = dict(backbone={{_base_.fishnet99.det_c2_c5}},\n'
        '             neck=dict(in_channels={{_base_.fishnet_channels.c2_c5}}'
        '))\n')
    cfg = Config.fromfile(path)
    if not pretrained:
        cfg.model.backbone.init_cfg = None
    return cfg


def test_a_pretrained_fishnet_fed_caffe_style_input_stops_with_the_lines(
        tmp_path):
    from mmfishnet.runtime.preflight import check_preprocessor
    cfg = _with_fishnet(
        'mmdet::faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco.py',
        tmp_path,
        pretrained=True)
    with pytest.raises(UserInputError) as error:
        check_preprocessor(cfg)
    message = str(error.value)
    assert 'model.backbone.init_cfg.checkpoint' in message
    assert 'std=[1.0, 1.0, 1.0]' in message and 'bgr_to_rgb=False' in message
    assert 'data_preprocessor={{_base_.fishnet_preprocessor}}' in message
    assert 'model.data_preprocessor.bgr_to_rgb=True' in message
    cfg.model.data_preprocessor.update(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True)
    check_preprocessor(cfg)
    # without pretrained weights any normalisation is the user's choice
    check_preprocessor(
        _with_fishnet(
            'mmdet::faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco.py',
            tmp_path,
            pretrained=False))


def test_yolox_without_normalisation_is_named(tmp_path):
    from mmfishnet.runtime.preflight import check_preprocessor
    cfg = _with_fishnet(
        'mmdet::yolox/yolox_s_8xb8-300e_coco.py', tmp_path, pretrained=True)
    with pytest.raises(UserInputError, match='mean=None, std=None'):
        check_preprocessor(cfg)


def test_a_model_level_pretrained_is_checked_like_the_backbone_one(tmp_path):
    cfg = Config.fromfile(
        zoo_config('mmseg', 'fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py'))
    cfg.model.backbone = dict(type='FishNet', arch='fishnet99')
    with pytest.raises(UserInputError) as error:
        check_pretrained_files(cfg)
    assert "model.pretrained='open-mmlab://resnet50_v1c'" in str(error.value)
    cfg.model.pretrained = str(tmp_path / 'fishnet99_in1k.pth')
    with pytest.raises(FileNotFoundError) as missing:
        check_pretrained_files(cfg)
    assert '--cfg-options model.pretrained=PATH' in str(missing.value)
    assert 'fishnet99_ckpt.tar' in str(missing.value)
    cfg.model.pretrained = None
    check_pretrained_files(cfg)


def test_training_with_wrong_neck_channels_stops_before_the_model(
        tmp_path, monkeypatch):
    config = tmp_path / 'user.py'
    config.write_text(
        "_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']\n"
        "custom_imports = dict(imports=['mmfishnet'])\n"
        "model = dict(backbone=dict(_delete_=True, type='FishNet'))\n")
    last = train_error(config, tmp_path, monkeypatch)
    assert last.startswith('error: the FishNet backbone')
    assert ('Set model.neck.in_channels=[320, 832, 1600, 2112] (not [256, '
            '512, 1024, 2048])') in last
