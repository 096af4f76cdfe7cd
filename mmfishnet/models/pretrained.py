"""Reading pretrained weights for a part of a model (backbone or head)."""
from typing import Dict

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
