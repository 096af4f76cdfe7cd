"""Reading pretrained weights for a part of a model (backbone or head)."""
import os.path as osp
from typing import Dict, Iterable, Optional, Tuple

from mmengine.logging import MMLogger
from torch import Tensor

from mmfishnet.checkpoint import load_checkpoint_file
from mmfishnet.converters import (convert_official_checkpoint, infer_arch,
                                  is_official)

# The authors' ImageNet files (github.com/kevin-ssy/FishNet, README "Models")
OFFICIAL_FILES = {
    'fishnet99': 'fishnet99_ckpt.tar',
    'fishnet150': 'fishnet150_ckpt.tar',
    'fishnet201': 'fishnet201_ckpt_welltrain.tar',
}
CONVERTER = 'tools/model_converters/fishnet2mmpretrain.py'


def missing_pretrained_message(checkpoint: str,
                               arch: Optional[str],
                               option: str = 'model.backbone.init_cfg') -> str:
    """What to do when the pretrained file ``checkpoint`` of a FishNet of
    ``arch`` (``None``: unknown) is absent; ``option`` is the config entry
    that names it."""
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
            f'{option}.checkpoint=PATH, or train from scratch with '
            f'--cfg-options {option}=None.')


def load_pretrained_state(checkpoint: str,
                          prefix: str,
                          part: str,
                          arch: Optional[str] = None) -> Dict[str, Tensor]:
    """The weights under ``prefix`` (e.g. ``'backbone.'``; ``''`` for all) of
    an mmfishnet, mmpretrain or mmdet checkpoint. An official FishNet
    checkpoint is converted first and its ``part`` (``'backbone.'`` or
    ``'head.'``) taken, whatever ``prefix`` says.

    Args:
        arch (str, optional): the arch of the FishNet the weights are for,
            to check an official checkpoint's depth and to say where the
            weights come from when ``checkpoint`` is absent.

    Raises:
        FileNotFoundError: ``checkpoint`` does not exist (the message says
            where the weights come from and how to train without them).
        ValueError: an official checkpoint of another arch.
        KeyError: no weight of the checkpoint starts with ``prefix``.
    """
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(
            missing_pretrained_message(checkpoint, arch,
                                       f'model.{part}init_cfg'))
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    if is_official(state):
        official_arch = infer_arch(state)
        if arch is not None and arch != official_arch:
            raise ValueError(
                f'{checkpoint} is the official {official_arch} checkpoint, '
                f'but the config builds a {arch}: use the {arch} weights '
                f'({OFFICIAL_FILES.get(arch, "none published")}) or set '
                f"model.backbone.arch='{official_arch}'.")
        MMLogger.get_current_instance().info(
            f'{checkpoint} is an official FishNet checkpoint: converting it')
        state, prefix = convert_official_checkpoint(state), part
    if not prefix:
        return dict(state)
    state = {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }
    if not state:
        raise KeyError(f'no weight of {checkpoint} starts with prefix '
                       f'{prefix!r}')
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
