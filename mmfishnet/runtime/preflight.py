"""Checks of the user's files and arguments that run before anything heavy
(model weights, datasets) is loaded, each with a message naming the file or
option and what to do."""
import contextlib
import difflib
import glob
import inspect
import os.path as osp
from typing import Iterator, List, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from PIL import Image

from mmfishnet.checkpoint import (CheckpointError, check_readable,
                                  load_checkpoint_file)
from mmfishnet.converters import is_official
from mmfishnet.models import FishNet
from mmfishnet.models.pretrained import (CONVERTER, check_not_other_zoo,
                                         missing_pretrained_message,
                                         read_weights)
from mmfishnet.registry import SCOPES


def is_fishnet(type_) -> bool:
    """Whether a config's ``type`` builds FishNet: the class, ``'FishNet'``,
    or ``'SCOPE.FishNet'`` for a scope it is registered in
    (:data:`mmfishnet.registry.SCOPES`), e.g. ``'mmpretrain.FishNet'``."""
    if isinstance(type_, type):
        return issubclass(type_, FishNet)
    if not isinstance(type_, str):
        return False
    scope, _, name = type_.rpartition('.')
    return name == 'FishNet' and scope in ('', *SCOPES)


DETECTOR_PARTS = {'rpn_head', 'roi_head', 'bbox_head', 'mask_head'}


class UserInputError(ValueError):
    """A file or option given by the user that cannot work."""


USER_ERRORS = (UserInputError, FileNotFoundError, CheckpointError)


@contextlib.contextmanager
def user_errors_exit():
    """For command line tools: an error about the user's files or options
    becomes a one-line exit message (it names the file and what to do)."""
    try:
        yield
    except USER_ERRORS as e:
        raise SystemExit(f'error: {e}') from None


def check_config_path(path: str) -> None:
    """Raise :class:`UserInputError` if the config ``path`` does not exist,
    with the closest config names of its folder."""
    if osp.isfile(path):
        return
    folder = osp.dirname(path) or '.'
    names = [osp.basename(p) for p in glob.glob(osp.join(folder, '*.py'))]
    close = difflib.get_close_matches(
        osp.basename(path), names, n=3, cutoff=0.6)
    if close:
        hint = f'Did you mean {", ".join(osp.join(folder, c) for c in close)}?'
    elif names:
        hint = f'{folder} has {len(names)} other configs.'
    else:
        hint = f'The folder {folder} does not exist or has no configs.'
    raise UserInputError(f'config {path} does not exist. {hint}')


def config_dicts(node, path: str) -> Iterator[Tuple[str, dict]]:
    """Every dict inside ``node`` (a config tree) with its dotted path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from config_dicts(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from config_dicts(value, f'{path}[{i}]')


def fishnet_argument_names() -> List[str]:
    return [
        name for name in inspect.signature(FishNet.__init__).parameters
        if name != 'self'
    ]


def check_fishnet_args(cfg: Config) -> None:
    """Raise :class:`UserInputError` for an argument that no FishNet takes
    (a typo in the config or in ``--cfg-options``), naming the closest one."""
    known = fishnet_argument_names()
    for path, node in config_dicts(cfg.get('model'), 'model'):
        if not is_fishnet(node.get('type')):
            continue
        for key in node:
            if key == 'type' or key in known:
                continue
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ''
            raise UserInputError(
                f'{path}.{key}: FishNet has no argument {key!r}.{hint} Its '
                f'arguments: {", ".join(known)}.')


def _local(checkpoint) -> bool:
    return isinstance(checkpoint, str) and '://' not in checkpoint


def _pretrained_entries(model) -> Iterator[Tuple[str, str, object, dict]]:
    """(config entry, checkpoint, prefix, node) of every pretrained weights
    file the model names: ``init_cfg=dict(type='Pretrained', ...)`` of any
    part, a FishNet's deprecated ``pretrained``, and the model-level
    ``pretrained`` that mmseg's segmentors hand to their backbone."""
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if (isinstance(backbone, dict) and is_fishnet(backbone.get('type'))
            and model.get('pretrained') is not None):
        yield 'model.pretrained', model['pretrained'], None, backbone
    for path, node in config_dicts(model, 'model'):
        if is_fishnet(node.get('type')) and node.get('pretrained') is not None:
            yield f'{path}.pretrained', node['pretrained'], None, node
        init_cfgs = node.get('init_cfg')
        init_cfgs = init_cfgs if isinstance(init_cfgs, list) else [init_cfgs]
        for init_cfg in init_cfgs:
            if isinstance(init_cfg,
                          dict) and init_cfg.get('type') == 'Pretrained':
                yield (f'{path}.init_cfg.checkpoint',
                       init_cfg.get('checkpoint'), init_cfg.get('prefix',
                                                                ''), node)


def check_pretrained_files(cfg: Config) -> None:
    """Every local pretrained file of the model (``init_cfg`` of type
    ``Pretrained``, or a FishNet's ``pretrained``) exists and is a readable
    checkpoint file; a FishNet's holds weights of its arch (official or
    converted) and is no model-zoo address of another network."""
    for option, checkpoint, prefix, node in _pretrained_entries(
            cfg.get('model')):
        fishnet = is_fishnet(node.get('type'))
        if fishnet:
            try:
                check_not_other_zoo(checkpoint, option)
            except ValueError as e:
                raise UserInputError(str(e)) from e
        if not _local(checkpoint):
            continue
        arch = node.get('arch', 'fishnet150') if fishnet else None
        arch = arch if arch in FishNet.arch_settings else None
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                missing_pretrained_message(checkpoint, arch, option))
        check_checkpoint_file(checkpoint, option)
        if arch is not None:
            try:
                read_weights(checkpoint, prefix, 'backbone.', arch,
                             FishNet.arch_settings)
            except (ValueError, KeyError) as e:
                raise UserInputError(f'{option}: {e}') from e


# The input of the ImageNet weights: RGB, ImageNet mean and std
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def _close(values, expected) -> bool:
    return (isinstance(values, (list, tuple)) and len(values) == 3
            and all(abs(a - b) < 1e-2 for a, b in zip(values, expected)))


def check_preprocessor(cfg: Config) -> None:
    """Raise :class:`UserInputError` if a FishNet that loads pretrained
    weights would get input normalised otherwise than they were trained
    with (RGB, ImageNet mean and std): e.g. beside an upstream caffe-style
    (BGR, std 1), RTMDet or YOLOX config. The message gives the lines."""
    model = cfg.get('model')
    if not isinstance(model, dict):
        return
    backbone = model.get('backbone')
    if not (isinstance(backbone, dict) and is_fishnet(backbone.get('type'))):
        return
    pretrained = [
        option for option, checkpoint, _, node in _pretrained_entries(model)
        if node is backbone and checkpoint
    ]
    if not pretrained:
        return
    preprocessor = model.get('data_preprocessor') or cfg.get(
        'data_preprocessor') or {}
    rgb_key = 'to_rgb' if 'to_rgb' in preprocessor else 'bgr_to_rgb'
    mean, std = preprocessor.get('mean'), preprocessor.get('std')
    if (_close(mean, IMAGENET_MEAN) and _close(std, IMAGENET_STD)
            and preprocessor.get(rgb_key)):
        return
    where = ('model.data_preprocessor'
             if model.get('data_preprocessor') else 'data_preprocessor')
    raise UserInputError(
        f'{pretrained[0]}: FishNet\'s ImageNet weights expect RGB images '
        f'normalised with mean={list(IMAGENET_MEAN)} and '
        f'std={list(IMAGENET_STD)}, but {where} has mean={mean}, std={std}, '
        f'{rgb_key}={preprocessor.get(rgb_key)}. Add '
        "data_preprocessor={{_base_.fishnet_preprocessor}} to model (with "
        "configs/_base_/fishnet.py in _base_; mmpretrain: "
        "data_preprocessor = {{_base_.fishnet_cls_preprocessor}}), or set "
        f'{where}.mean={list(IMAGENET_MEAN)} {where}.std='
        f'{list(IMAGENET_STD)} {where}.{rgb_key}=True.')


def check_dataset_files(cfg: Config, splits=('train', 'val', 'test')):
    """The annotation file of every dataset of the ``splits`` dataloaders
    exists (``ann_file`` under ``data_root``), or for a dataset without one
    its image folder (``data_prefix``, or an ImageNet's ``split``, under
    ``data_root``); datasets with neither (e.g. CIFAR-10, which downloads)
    are left to their own checks. The ``val`` and ``test`` splits' evaluators
    read their own ``ann_file`` (COCO's metrics), a path that does not
    follow ``data_root``: it must exist too."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for path, node in config_dicts(
                loader.get('dataset'), f'{split}_dataloader.dataset'):
            root = node.get('data_root') or ''
            ann_file, prefix = node.get('ann_file'), node.get('data_prefix')
            if isinstance(prefix, dict):
                prefix = prefix.get('img_path', prefix.get('img'))
            if str(node.get('type')).endswith('ImageNet') and not prefix:
                prefix = node.get('split')  # mmpretrain: data_root/split
            if isinstance(ann_file, str) and ann_file:
                what, full = 'annotation file', osp.join(root, ann_file)
            elif isinstance(prefix, str) and prefix:
                what, full = 'image folder', osp.join(root, prefix)
            else:
                continue
            if '://' not in full and not osp.exists(full):
                raise FileNotFoundError(
                    f'{path}: {what} {full} does not exist. Put the dataset '
                    f'there or point to it with --cfg-options '
                    f'{path}.data_root=DIR (paths are relative to it).')
        if split != 'train':
            _check_evaluator_files(
                cfg.get(f'{split}_evaluator'), f'{split}_evaluator')


def _check_evaluator_files(evaluator, name: str) -> None:
    for path, node in config_dicts(evaluator, name):
        ann_file = node.get('ann_file')
        if (isinstance(ann_file, str) and ann_file and '://' not in ann_file
                and not osp.exists(ann_file)):
            raise FileNotFoundError(
                f'{path}.ann_file: {ann_file} does not exist. The evaluator '
                'reads it itself, whatever the dataset\'s data_root: set '
                f'--cfg-options {path}.ann_file=FILE too (the same '
                'annotation file as the dataset\'s).')


def check_checkpoint_file(checkpoint: str, role: str) -> None:
    """``checkpoint`` (named by the config entry or option ``role``) exists
    and looks complete."""
    check_readable(checkpoint, role)


def _kind(parts) -> str:
    if parts & DETECTOR_PARTS:
        return 'detector'
    if 'head' in parts:
        return 'classifier'
    return 'backbone-only' if parts == {'backbone'} else 'other'


def check_checkpoint_fits(model: nn.Module, checkpoint: str,
                          role: str) -> None:
    """Raise :class:`UserInputError` if ``checkpoint`` (given as ``role``:
    ``'load_from'`` or ``'the checkpoint to test'``) has no weights for whole
    parts of ``model``: a classifier checkpoint for a detector, a detector's
    for a classifier, an unconverted official FishNet file. mmengine would
    load it with warnings and leave those parts untrained."""
    if is_model_wrapper(model):
        model = model.module
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    if is_official(state):
        raise UserInputError(
            f'{role} {checkpoint} is an official FishNet checkpoint (the '
            f'authors\' key layout): convert it first with `python '
            f'{CONVERTER} {checkpoint} OUT.pth`, then use OUT.pth.')
    have = {k.split('.')[0] for k in state}
    want = {k.split('.')[0] for k in model.state_dict()}
    missing = want - have
    if not missing:
        return
    have_kind, want_kind = _kind(have), _kind(want)
    if have_kind == 'classifier' and want_kind == 'detector':
        remedy = (
            'To start a detector from classifier weights, use them for the '
            "backbone instead: --cfg-options model.backbone.init_cfg.type="
            f"Pretrained model.backbone.init_cfg.checkpoint={checkpoint} "
            "model.backbone.init_cfg.prefix=backbone. (and no load_from).")
    elif have_kind == 'detector' and want_kind == 'classifier':
        remedy = 'Use it with the detector config it was trained with.'
    else:
        remedy = 'Use the checkpoint trained with this config.'
    raise UserInputError(
        f'{role} {checkpoint} is a {have_kind} checkpoint (parts: '
        f'{", ".join(sorted(have))}), but the config builds a {want_kind} '
        f'(parts: {", ".join(sorted(want))}); {", ".join(sorted(missing))} '
        f'would keep random weights. {remedy}')


def check_images(paths: List[str]) -> None:
    """Every path is an image file that decodes completely."""
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'image {path} does not exist.')
        try:
            with Image.open(path) as image:
                image.load()
        except Exception as e:  # PIL raises several types for bad files
            raise UserInputError(
                f'image {path} ({osp.getsize(path)} bytes) cannot be decoded: '
                f'{e}. It is cut short or not an image (JPEG, PNG, ...); '
                'replace it or leave it out.') from e
