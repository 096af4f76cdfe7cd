"""Catch the necks and heads whose input channels do not fit the FishNet
maps they read, before a model is built, with the values to write.

Which maps each part reads, by the toolboxes' own conventions:

* a neck (``model.neck``, or the first of a list of necks) with a list of
  ``in_channels``: every backbone map in order (FPN, PAFPN, NAS-FPN, FPG,
  ChannelMapper, CSPNeXtPAFPN, YOLOXPAFPN, ...); YOLOV3Neck deepest first;
  an int: the last map (CTResNetNeck, DilatedEncoder);
* mmdet's MaskFormer / Mask2Former ``panoptic_head``: every map;
* mmseg's decode and auxiliary heads when there is no neck: the maps
  ``in_index`` picks (``in_channels`` an int for one, a list for several,
  a list for every map when the head has no ``in_index``, as Mask2Former's),
  DeepLabV3+'s ``c1_in_channels``: map 0, K-Net's
  ``kernel_generate_head`` like a decode head;
* mmpretrain's classification ``head``: the last map.
"""
from typing import Iterator, List, Tuple, Union

import torch
from mmengine.config import Config

from mmfishnet.models import FishNet
from .preflight import UserInputError, is_fishnet

HEAD_KEYS = ('decode_head', 'auxiliary_head')
REVERSED_NECKS = ('YOLOV3Neck', 'mmdet.YOLOV3Neck')


def fishnet_out_channels(backbone: dict) -> List[int]:
    """The channels of every map of the FishNet that ``backbone`` (a config
    dict) builds, without allocating its weights."""
    kwargs = {
        k: v
        for k, v in backbone.items()
        if k not in ('type', '_scope_', 'init_cfg', 'pretrained')
    }
    with torch.device('meta'):
        return list(FishNet(**kwargs).out_channels)


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _head_expectations(
        head: dict, path: str,
        outs: List[int]) -> Iterator[Tuple[str, object, object]]:
    """(entry, value, expected) for an mmseg decode or auxiliary head."""
    if isinstance(head.get('kernel_generate_head'), dict):
        yield from _head_expectations(head['kernel_generate_head'],
                                      f'{path}.kernel_generate_head', outs)
    if 'in_channels' in head:
        channels = head['in_channels']
        # mmseg's default in_index is -1 (the last map) for one input
        index = head.get('in_index',
                         None if isinstance(channels, (list, tuple)) else -1)
        indices = _as_list(index) if index is not None else []
        bad = [i for i in indices if not -len(outs) <= i < len(outs)]
        if bad:
            yield (f'{path}.in_index', index,
                   f'indices in 0..{len(outs) - 1} ({len(outs)} FishNet maps; '
                   f'out of range: {bad})')
        elif index is None:
            yield f'{path}.in_channels', channels, outs
        elif isinstance(index, (list, tuple)):
            yield f'{path}.in_channels', channels, [outs[i] for i in index]
        else:
            yield f'{path}.in_channels', channels, outs[index]
    if head.get('c1_in_channels', 0):
        yield f'{path}.c1_in_channels', head['c1_in_channels'], outs[0]


def _expectations(model: dict,
                  outs: List[int]) -> Iterator[Tuple[str, object, object]]:
    neck = model.get('neck')
    path = 'model.neck'
    if isinstance(neck, (list, tuple)) and neck:
        neck, path = neck[0], 'model.neck[0]'
    if isinstance(neck, dict) and 'in_channels' in neck:
        channels = neck['in_channels']
        if isinstance(channels, (list, tuple)):
            expected = outs[::-1] if neck.get(
                'type') in REVERSED_NECKS else outs
        else:
            expected = outs[-1]
        yield f'{path}.in_channels', channels, expected
    panoptic = model.get('panoptic_head')
    if isinstance(panoptic, dict) and 'in_channels' in panoptic:
        yield 'model.panoptic_head.in_channels', panoptic['in_channels'], outs
    if not neck:  # mmseg heads read the backbone maps directly
        for key in HEAD_KEYS:
            for i, head in enumerate(_as_list(model.get(key))):
                if isinstance(head, dict):
                    suffix = f'[{i}]' if isinstance(model[key], list) else ''
                    yield from _head_expectations(head, f'model.{key}{suffix}',
                                                  outs)
    head = model.get('head')
    if isinstance(head, dict) and isinstance(head.get('in_channels'), int):
        yield 'model.head.in_channels', head['in_channels'], outs[-1]


def _same(value, expected) -> bool:
    if isinstance(expected, str):
        return False
    if isinstance(expected, list):
        return isinstance(value, (list, tuple)) and list(value) == expected
    return value == expected


def check_neck_channels(cfg: Union[Config, dict]) -> None:
    """Raise :class:`UserInputError` if a neck or head of the model config
    (a whole config or its ``model`` dict) with a FishNet backbone takes
    other channels than the FishNet maps it reads; the message gives every
    entry with its value to write. Models without a FishNet are left alone.
    """
    model = cfg.get('model', cfg) if isinstance(cfg, (Config, dict)) else cfg
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not (isinstance(backbone, dict) and is_fishnet(backbone.get('type'))):
        return
    outs = fishnet_out_channels(backbone)
    wrong = [(entry, value, expected)
             for entry, value, expected in _expectations(model, outs)
             if not _same(value, expected)]
    if not wrong:
        return
    out_indices = tuple(backbone.get('out_indices', (6, 7, 8, 9)))
    fixes = '; '.join(
        f'{entry}={expected} (not {value})' if not isinstance(expected, str)
        else f'{entry} must be {expected} (not {value})'
        for entry, value, expected in wrong)
    raise UserInputError(
        f'the FishNet backbone (out_indices={out_indices}) gives maps of '
        f'{outs} channels, which the model does not take. Set {fixes}. The '
        'recipe for each neck and head: docs/backbone.md.')
