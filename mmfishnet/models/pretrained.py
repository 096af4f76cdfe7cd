"""Reading pretrained weights for a part of a model (backbone or head)."""
from typing import Dict, Iterable, Tuple

from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor

from mmfishnet.converters import convert_official_checkpoint, is_official


def load_pretrained_state(checkpoint: str, prefix: str,
                          part: str) -> Dict[str, Tensor]:
    """The weights under ``prefix`` (e.g. ``'backbone.'``; ``''`` for all) of
    an mmfishnet, mmpretrain or mmdet checkpoint. An official FishNet
    checkpoint is converted first and its ``part`` (``'backbone.'`` or
    ``'head.'``) taken, whatever ``prefix`` says.

    Raises:
        KeyError: no weight of the checkpoint starts with ``prefix``.
    """
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    if is_official(state):
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


def check_state_keys(required: Iterable[str], state: Dict[str, Tensor],
                     owner: str, source: str,
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
