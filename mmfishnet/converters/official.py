"""Official FishNet checkpoints (kevin-ssy/FishNet) -> mmfishnet key layout.

Pure functions on state dicts; ``tools/model_converters/fishnet2mmpretrain.py``
wraps them in a command line tool.

Three official layouts exist:

* ``released``: the layout of the released code, used by ``fishnet99_ckpt.tar``
  and ``fishnet150_ckpt.tar``.
* ``welltrained150``: ``fishnet150_ckpt_welltrained.tar`` groups the bridge's
  and the classifier's score layers differently.
* ``welltrained201``: ``fishnet201_ckpt_welltrain.tar`` groups the classifier
  differently and has a bare conv as the first tail shortcut.

Each is first renamed into the released layout, then mapped one to one onto
an mmpretrain ``ImageClassifier`` with a ``FishNet`` backbone and a
``FishNetClsHead``.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, Optional

import torch
from torch import Tensor

StateDict = Dict[str, Tensor]

# Official stage index -> mmfishnet stage name.
STAGE_NAMES = ('tail1', 'tail2', 'tail3', 'bridge', 'body1', 'body2', 'body3',
               'head1', 'head2', 'head3')
BN_EPS = 1e-5


def strip_module_prefix(state: StateDict) -> StateDict:
    """Drop the ``module.`` prefix that ``nn.DataParallel`` training added."""
    return OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in state.items())


def is_official(state: StateDict) -> bool:
    """Whether ``state`` is in one of the official key layouts."""
    return any(
        k.startswith(('fish.fish.', 'module.fish.fish.')) for k in state)


def detect_layout(state: StateDict) -> str:
    """``'released'``, ``'welltrained150'`` or ``'welltrained201'``."""
    if 'fish.fish.0.0.0.shortcut.weight' in state:
        return 'welltrained201'
    if 'fish.fish.3.1.0.weight' in state:
        return 'welltrained150'
    return 'released'


def _rename(state: StateDict, rules: Dict[str, str]) -> StateDict:
    """Rename keys by prefix; all rules apply to the original names at once."""
    out = OrderedDict()
    for key, value in state.items():
        for old, new in rules.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def _welltrained150_to_released(state: StateDict) -> StateDict:
    return _rename(
        state, {
            'fish.fish.3.1.0.': 'fish.fish.3.0.2.',
            'fish.fish.3.1.1.': 'fish.fish.3.0.3.',
            'fish.fish.3.1.3.': 'fish.fish.3.1.',
            'fish.fish.9.4.0.': 'fish.fish.9.3.2.',
            'fish.fish.9.4.1.': 'fish.fish.9.3.3.',
            'fish.fish.9.4.4.': 'fish.fish.9.4.1.',
        })


def _welltrained201_to_released(state: StateDict) -> StateDict:
    """Rename, and express the bare first tail shortcut exactly.

    In this checkpoint the first block of tail1 has the shortcut ``conv(x)``;
    the released code has ``conv(ReLU(BN(x)))``. That block's input is the
    stem output, which is non-negative (max-pool of ReLU outputs), so a BN
    that is the identity in eval mode (weight 1, bias 0, mean 0,
    var 1 - eps) makes the two equal. In training-mode BN (batch statistics)
    they differ; fine-tune with ``norm_eval=True`` or a frozen stem and tail1
    to keep the exact function.
    """
    conv = state['fish.fish.0.0.0.shortcut.weight']
    state = _rename(
        state, {
            'fish.fish.0.0.0.shortcut.weight':
            'fish.fish.0.0.0.shortcut.2.weight',
            'fish.fish.9.2.0.': 'fish.fish.9.3.0.',
            'fish.fish.9.3.1.': 'fish.fish.9.3.3.',
            'fish.fish.9.3.0.': 'fish.fish.9.3.2.',
            'fish.fish.9.3.4.': 'fish.fish.9.4.1.',
        })
    channels = conv.shape[1]
    bn = 'fish.fish.0.0.0.shortcut.0.'
    state[bn + 'weight'] = torch.ones(channels)
    state[bn + 'bias'] = torch.zeros(channels)
    state[bn + 'running_mean'] = torch.zeros(channels)
    state[bn + 'running_var'] = torch.full((channels, ), 1 - BN_EPS)
    return state


TO_RELEASED: Dict[str, Callable[[StateDict], StateDict]] = {
    'released': lambda state: state,
    'welltrained150': _welltrained150_to_released,
    'welltrained201': _welltrained201_to_released,
}


def map_released_key(key: str) -> Optional[str]:
    """Released official key -> mmpretrain ``ImageClassifier`` key, or None.

    Examples::

        conv1.0.weight               -> backbone.stem.0.conv.weight
        fish.fish.0.0.1.bn2.weight   -> backbone.tail1.blocks.1.bn2.weight
        fish.fish.3.1.bias           -> backbone.bridge.score.5.bias
        fish.fish.3.3.0.3.weight     -> backbone.bridge.attention.3.weight
        fish.fish.5.1.0.conv1.weight -> backbone.body2.transfer.0.conv1.weight
        fish.fish.9.3.2.weight       -> head.score.2.weight
        fish.fish.9.4.1.weight       -> head.fc.weight
    """
    m = re.fullmatch(r'conv([123])\.([01])\.(\w+)', key)
    if m:
        layer = 'conv' if m[2] == '0' else 'bn'
        return f'backbone.stem.{int(m[1]) - 1}.{layer}.{m[3]}'
    m = re.fullmatch(r'fish\.fish\.(\d)\.(.+)', key)
    if not m:
        return None
    stage, rest = int(m[1]), m[2]
    name = f'backbone.{STAGE_NAMES[stage]}'
    patterns = []
    if stage <= 2:
        patterns = [(r'0\.(\d+\..+)', name + '.blocks.{}')]
    elif stage == 3:
        patterns = [(r'0\.([023]\.\w+)', name + '.score.{}'),
                    (r'1\.(\w+)', name + '.score.5.{}'),
                    (r'2\.(\d+\..+)', name + '.blocks.{}'),
                    (r'3\.0\.([035]\.\w+)', name + '.attention.{}')]
    else:
        patterns = [(r'0\.(\d+\..+)', name + '.trunk.{}'),
                    (r'1\.(\d+\..+)', name + '.transfer.{}')]
        if stage == 9:
            patterns += [(r'3\.([023]\.\w+)', 'head.score.{}'),
                         (r'4\.1\.(weight|bias)', 'head.fc.{}')]
    for pattern, template in patterns:
        m = re.fullmatch(pattern, rest)
        if m:
            return template.format(m[1])
    return None


def convert_official_checkpoint(state: StateDict) -> StateDict:
    """Convert an official state dict (any layout, with or without
    ``module.``) into mmpretrain ``ImageClassifier`` keys.

    The classifier's 1x1 conv (num_classes, C, 1, 1) becomes a linear weight
    (num_classes, C).

    Raises:
        KeyError: an official key has no counterpart; the message names it.
    """
    state = strip_module_prefix(state)
    state = TO_RELEASED[detect_layout(state)](state)
    converted, unmapped = OrderedDict(), []
    for key, value in state.items():
        new_key = map_released_key(key)
        if new_key is None:
            unmapped.append(key)
            continue
        if new_key == 'head.fc.weight':
            value = value.flatten(1)
        converted[new_key] = value
    if unmapped:
        raise KeyError(f'official keys without an mmfishnet counterpart: '
                       f'{unmapped}')
    return converted
