"""Catch a neck whose ``in_channels`` do not fit the FishNet outputs before
training starts, with a message that gives the right channels."""
import torch.nn as nn
from mmengine.model import is_model_wrapper

from mmfishnet.models import FishNet


def check_neck_channels(model: nn.Module) -> None:
    """Raise ``ValueError`` if ``model.neck`` does not take the channels that
    ``model.backbone`` (a FishNet) gives. Other models are left alone."""
    if is_model_wrapper(model):
        model = model.module
    backbone = getattr(model, 'backbone', None)
    neck = getattr(model, 'neck', None)
    if not isinstance(backbone, FishNet) or neck is None:
        return
    if isinstance(neck, nn.Sequential):
        neck = neck[0]
    in_channels = getattr(neck, 'in_channels', None)
    if not isinstance(in_channels, (list, tuple)):
        return
    if list(in_channels) != backbone.out_channels:
        raise ValueError(
            f'model.neck ({type(neck).__name__}) has in_channels='
            f'{list(in_channels)}, but FishNet(out_indices='
            f'{backbone.out_indices}) gives {backbone.out_channels}: set '
            f'model.neck.in_channels={backbone.out_channels}')
