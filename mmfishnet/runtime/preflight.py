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
from mmfishnet.models.pretrained import (CONVERTER, load_pretrained_state,
                                         missing_pretrained_message)

FISHNET_TYPES = ('FishNet', 'mmfishnet.FishNet', FishNet)
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


def _dicts(node, path: str) -> Iterator[Tuple[str, dict]]:
    """Every dict inside ``node`` (a config tree) with its dotted path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _dicts(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _dicts(value, f'{path}[{i}]')


def fishnet_argument_names() -> List[str]:
    return [
        name for name in inspect.signature(FishNet.__init__).parameters
        if name != 'self'
    ]


def check_fishnet_args(cfg: Config) -> None:
    """Raise :class:`UserInputError` for an argument that no FishNet takes
    (a typo in the config or in ``--cfg-options``), naming the closest one."""
    known = fishnet_argument_names()
    for path, node in _dicts(cfg.get('model'), 'model'):
        if node.get('type') not in FISHNET_TYPES:
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


def check_pretrained_files(cfg: Config) -> None:
    """Every local ``init_cfg=dict(type='Pretrained', checkpoint=...)`` of the
    model exists and is a readable checkpoint file; a FishNet's holds weights
    of its arch (official or converted)."""
    for path, node in _dicts(cfg.get('model'), 'model'):
        init_cfgs = node.get('init_cfg')
        init_cfgs = init_cfgs if isinstance(init_cfgs, list) else [init_cfgs]
        for init_cfg in init_cfgs:
            if not (isinstance(init_cfg, dict) and init_cfg.get('type')
                    == 'Pretrained' and _local(init_cfg.get('checkpoint'))):
                continue
            checkpoint = init_cfg['checkpoint']
            arch = node.get('arch') if node.get('type') in FISHNET_TYPES \
                else None
            arch = arch if arch in FishNet.arch_settings else None
            if not osp.isfile(checkpoint):
                raise FileNotFoundError(
                    missing_pretrained_message(checkpoint, arch,
                                               f'{path}.init_cfg'))
            check_checkpoint_file(checkpoint, f'{path}.init_cfg.checkpoint')
            if arch is not None:
                try:
                    state = load_pretrained_state(
                        checkpoint,
                        init_cfg.get('prefix', ''),
                        'backbone.',
                        arch=arch)
                    FishNet.check_state_arch(state, arch, checkpoint)
                except (ValueError, KeyError) as e:
                    raise UserInputError(
                        f'{path}.init_cfg.checkpoint: {e}') from e


def check_dataset_files(cfg: Config, splits=('train', 'val', 'test')):
    """The annotation file of every dataset of the ``splits`` dataloaders
    exists (``ann_file`` under ``data_root``), or for a dataset without one
    its image folder (``data_prefix``, or an ImageNet's ``split``, under
    ``data_root``); datasets with neither (e.g. CIFAR-10, which downloads)
    are left to their own checks."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for path, node in _dicts(
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
