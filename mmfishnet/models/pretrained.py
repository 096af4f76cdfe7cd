"""Pretrained FishNet weights, in one place: where they come from, which arch
a state dict holds, and loading them into a module.

``FishNet.init_weights`` and ``FishNetClsHead.init_weights`` ask
:func:`read_weights` for the weights of their part and load them with
:func:`load_state`; the tools' preflight asks :func:`read_weights` before
building a model; the converter names the arch with :func:`arch_of_state`.
"""
import os.path as osp
from typing import Dict, Iterable, Optional, Tuple

import torch.nn as nn
from mmengine.logging import MMLogger
from torch import Tensor

from mmfishnet.checkpoint import load_checkpoint_file
from mmfishnet.converters import convert_official_checkpoint, is_official

# The authors' ImageNet files (github.com/kevin-ssy/FishNet, README "Models")
OFFICIAL_FILES = {
    'fishnet99': 'fishnet99_ckpt.tar',
    'fishnet150': 'fishnet150_ckpt.tar',
    'fishnet201': 'fishnet201_ckpt_welltrain.tar',
}
CONVERTER = 'tools/model_converters/fishnet2mmpretrain.py'
# Model-zoo addresses that mmengine resolves to weights of other networks
# (ResNet, VGG, ...): upstream mmseg/mmdet configs set e.g.
# ``pretrained='open-mmlab://resnet50_v1c'``. No such zoo has FishNet.
OTHER_ZOOS = ('open-mmlab://', 'openmmlab://', 'torchvision://', 'modelzoo://',
              'mmcls://', 'mmpretrain://')


def check_not_other_zoo(checkpoint, option: str) -> None:
    """Raise ``ValueError`` if ``checkpoint`` (set by the config entry
    ``option``) is a model-zoo address of another architecture, before
    anything is downloaded."""
    if not (isinstance(checkpoint, str) and checkpoint.startswith(OTHER_ZOOS)):
        return
    raise ValueError(
        f'{option}={checkpoint!r} names the weights of another architecture '
        'in a model zoo (no OpenMMLab or torchvision zoo has FishNet '
        'weights), so FishNet cannot load them. Upstream configs set such '
        'a ResNet `pretrained` at the model level (mmseg hands it to the '
        'backbone): set model.pretrained=None, and either train from '
        'scratch or load FishNet weights with '
        "model.backbone.init_cfg=dict(type='Pretrained', "
        "checkpoint='checkpoints/fishnet150_in1k.pth', prefix='backbone.'), "
        f'converted with `python {CONVERTER} fishnet150_ckpt.tar '
        'checkpoints/fishnet150_in1k.pth`.')


def missing_pretrained_message(
        checkpoint: str,
        arch: Optional[str],
        option: str = 'model.backbone.init_cfg.checkpoint') -> str:
    """What to do when the pretrained file ``checkpoint`` of a FishNet of
    ``arch`` (``None``: unknown) is absent; ``option`` is the config entry
    that names it (an ``init_cfg``'s ``checkpoint`` or a ``pretrained``)."""
    off = option[:-len('.checkpoint')] if option.endswith(
        '.checkpoint') else option
    what = f'FishNet pretrained weights {checkpoint}'
    if arch in OFFICIAL_FILES:
        official = OFFICIAL_FILES[arch]
        source = (
            f'They are the authors\' ImageNet {arch} weights converted for '
            f'mmfishnet: download {official} (github.com/kevin-ssy/FishNet, '
            f'README "Models"), then run `python {CONVERTER} {official} '
            f'{checkpoint}`.')
    elif arch and arch.startswith('fishnext'):
        source = (
            'The authors published no FishNeXt weights: train '
            f'configs/{arch}_8xb32_in1k.py first and use its checkpoint.')
    else:
        source = (
            'For the ImageNet FishNet-99/150/201 weights, convert the '
            f'authors\' file with `python {CONVERTER} SRC {checkpoint}`.')
    return (f'{what} do not exist (absolute path: {osp.abspath(checkpoint)}). '
            f'{source} Or point to another file with --cfg-options '
            f'{option}=PATH, or train from scratch with '
            f'--cfg-options {off}=None.')


def arch_of_state(state: Dict[str, Tensor],
                  arch_settings: Dict[str, dict]) -> Optional[str]:
    """The arch of ``arch_settings`` (``FishNet.arch_settings``) whose tail3
    block count and grouping match the FishNet backbone weights ``state``
    (mmfishnet keys without prefix, ``tail3.blocks.0.conv2.weight``, ...);
    ``None`` if none or several match."""
    blocks = {k.split('.')[2] for k in state if k.startswith('tail3.blocks.')}
    conv2 = state.get('tail3.blocks.0.conv2.weight')
    if not blocks or conv2 is None:
        return None
    grouped = conv2.shape[1] < conv2.shape[0]
    matches = [
        name for name, arch in arch_settings.items()
        if arch['tail_blocks'][2] == len(blocks) and (
            arch.get('cardinality', 1) > 1) == grouped
    ]
    return matches[0] if len(matches) == 1 else None


def strip_prefix(state: Dict[str, Tensor], prefix: str) -> Dict[str, Tensor]:
    """The weights of ``state`` under ``prefix``, without it."""
    return {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }


def read_weights(
        checkpoint: str,
        prefix: Optional[str],
        part: str,
        arch: Optional[str] = None,
        arch_settings: Optional[Dict[str, dict]] = None) -> Dict[str, Tensor]:
    """The weights under ``prefix`` of an mmfishnet, mmpretrain or mmdet
    checkpoint, or of ``part`` (``'backbone.'`` or ``'head.'``) of an
    official FishNet checkpoint (converted first; ``prefix`` does not apply).

    Args:
        prefix (str, optional): e.g. ``'backbone.'``; ``''``: all weights;
            ``None``: ``part`` if the file has weights under it, else all.
        arch (str, optional): the arch of the FishNet the backbone weights
            are for; with ``arch_settings`` weights of another arch are an
            error. Also says where the weights come from when the file is
            absent.

    Raises:
        ValueError: a model-zoo address of another architecture, or backbone
            weights of another arch.
        FileNotFoundError: ``checkpoint`` does not exist (the message says
            where the weights come from and how to train without them).
        KeyError: no weight of the checkpoint starts with ``prefix``.
    """
    option = f'model.{part}init_cfg.checkpoint'
    check_not_other_zoo(checkpoint, option)
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(
            missing_pretrained_message(checkpoint, arch, option))
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    official = is_official(state)
    if official:
        MMLogger.get_current_instance().info(
            f'{checkpoint} is an official FishNet checkpoint: converting it')
        state, prefix = convert_official_checkpoint(state), part
    elif prefix is None:
        prefix = part if any(k.startswith(part) for k in state) else ''
    if prefix:
        state = strip_prefix(state, prefix)
        if not state:
            raise KeyError(f'no weight of {checkpoint} starts with prefix '
                           f'{prefix!r}')
    else:
        state = dict(state)
    if arch is not None and arch_settings is not None:
        found = arch_of_state(state, arch_settings)
        if found not in (None, arch):
            what = (f'is the official {found} checkpoint'
                    if official else f'holds {found} weights')
            raise ValueError(
                f'{checkpoint} {what}, but the config builds a {arch}: use '
                f'{arch} weights ({OFFICIAL_FILES.get(arch, "none published")}'
                f" officially) or set model.backbone.arch='{found}'.")
    return state


def check_state_keys(required: Iterable[str],
                     state: Dict[str, Tensor],
                     owner: str,
                     source: str,
                     extra_allowed: Tuple[str, ...] = ()) -> None:
    """Raise ``KeyError`` naming the ``required`` keys that ``state`` lacks
    (``num_batches_tracked`` counters may be absent) and the keys of
    ``state`` that are neither required nor start with ``extra_allowed``."""
    required = list(required)
    missing = [
        k for k in required
        if k not in state and not k.endswith('num_batches_tracked')
    ]
    known = set(required)
    unexpected = [
        k for k in state if k not in known and not k.startswith(extra_allowed)
    ]
    if missing or unexpected:
        raise KeyError(
            f'{source} does not fit {owner}: missing keys {missing}, '
            f'unexpected keys {unexpected}. Check the arch, the prefix and '
            'that the file is a FishNet checkpoint.')


def load_state(
    module: nn.Module,
    state: Dict[str, Tensor],
    owner: str,
    source: str,
    required: Optional[Iterable[str]] = None,
    unused: Tuple[str, ...] = ()
) -> None:
    """Load ``state`` (read from ``source``) into ``module`` after
    :func:`check_state_keys`: every ``required`` key (default: all of the
    module's) must be there, and nothing else except keys starting with
    ``unused``, which are skipped with a log line."""
    required = list(module.state_dict() if required is None else required)
    check_state_keys(required, state, owner, source, extra_allowed=unused)
    wanted = set(required)
    skipped = sum(k not in wanted for k in state)
    logger = MMLogger.get_current_instance()
    if skipped:
        logger.info(f'{source}: {skipped} weights not used by {owner} '
                    f'(starting with {", ".join(unused)})')
    module.load_state_dict({
        k: v
        for k, v in state.items() if k in wanted
    },
                           strict=False)
    logger.info(f'{owner}: weights loaded from {source}')
