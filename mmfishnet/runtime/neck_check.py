"""Catch the necks and heads whose input channels do not fit the FishNet
maps they read, before a model is built, with the values to write.

Which maps each part reads follows the toolboxes' own conventions, written
down once in :mod:`mmfishnet.runtime.recipes`:

* a neck (``model.neck``, or the first of a list of necks) with a list of
  ``in_channels``: every backbone map in order (FPN, PAFPN, NAS-FPN, FPG,
  ChannelMapper, CSPNeXtPAFPN, YOLOXPAFPN, JPU, ...); YOLOV3Neck deepest
  first; an int: the last map (CTResNetNeck, DilatedEncoder);
* mmdet's MaskFormer / Mask2Former ``panoptic_head``: every map;
* mmseg's decode and auxiliary heads (one or a list) when there is no
  neck: the maps ``in_index`` picks (``in_channels`` an int for one, a list
  for several, a list for every map when the head has no ``in_index``, as
  Mask2Former's), DeepLabV3+'s ``c1_in_channels``: map 0, K-Net's
  ``kernel_generate_head`` like a decode head;
* mmpretrain's classification ``head``: the last map.
"""
from typing import Iterator, List, Tuple, Union

import torch
from mmengine.config import Config

from mmfishnet.models import FishNet
from .preflight import UserInputError, is_fishnet
from .recipes import (CLS_HEAD, DEEPEST_FIRST_NECKS, NESTED_HEAD,
                      PANOPTIC_HEAD, SEG_DEFAULT_INDEX, SEG_HEADS)

# (the dict that holds the entry, its key, its path for messages, its
# value, the value it needs: channels, or a sentence where no value fits)
Expectation = Tuple[dict, str, str, object, object]


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


def _head_expectations(head: dict, path: str,
                       outs: List[int]) -> Iterator[Expectation]:
    """The entries of an mmseg decode or auxiliary head."""
    if isinstance(head.get(NESTED_HEAD), dict):
        yield from _head_expectations(head[NESTED_HEAD],
                                      f'{path}.{NESTED_HEAD}', outs)
    if 'in_channels' in head:
        channels = head['in_channels']
        index = head.get(
            'in_index',
            None if isinstance(channels, (list, tuple)) else SEG_DEFAULT_INDEX)
        indices = _as_list(index) if index is not None else []
        bad = [i for i in indices if not -len(outs) <= i < len(outs)]
        entry = f'{path}.in_channels'
        if bad:
            yield (head, 'in_index', f'{path}.in_index', index,
                   f'indices in 0..{len(outs) - 1} ({len(outs)} FishNet maps; '
                   f'out of range: {bad})')
        elif index is None:
            yield head, 'in_channels', entry, channels, outs
        elif isinstance(index, (list, tuple)):
            yield (head, 'in_channels', entry, channels,
                   [outs[i] for i in index])
        else:
            yield head, 'in_channels', entry, channels, outs[index]
    if head.get('c1_in_channels', 0):
        yield (head, 'c1_in_channels', f'{path}.c1_in_channels',
               head['c1_in_channels'], outs[0])


def _expectations(model: dict, outs: List[int]) -> Iterator[Expectation]:
    neck = model.get('neck')
    path = 'model.neck'
    if isinstance(neck, (list, tuple)) and neck:
        neck, path = neck[0], 'model.neck[0]'
    if isinstance(neck, dict) and 'in_channels' in neck:
        channels = neck['in_channels']
        if isinstance(channels, (list, tuple)):
            expected = outs[::-1] if neck.get(
                'type') in DEEPEST_FIRST_NECKS else outs
        else:
            expected = outs[-1]
        yield neck, 'in_channels', f'{path}.in_channels', channels, expected
    panoptic = model.get(PANOPTIC_HEAD)
    if isinstance(panoptic, dict) and 'in_channels' in panoptic:
        yield (panoptic, 'in_channels', f'model.{PANOPTIC_HEAD}.in_channels',
               panoptic['in_channels'], outs)
    if not neck:  # mmseg heads read the backbone maps directly
        for key in SEG_HEADS:
            for i, head in enumerate(_as_list(model.get(key))):
                if isinstance(head, dict):
                    suffix = f'[{i}]' if isinstance(model[key], list) else ''
                    yield from _head_expectations(head, f'model.{key}{suffix}',
                                                  outs)
    head = model.get(CLS_HEAD)
    if isinstance(head, dict) and isinstance(head.get('in_channels'), int):
        yield (head, 'in_channels', f'model.{CLS_HEAD}.in_channels',
               head['in_channels'], outs[-1])


def _same(value, expected) -> bool:
    if isinstance(expected, str):
        return False
    if isinstance(expected, list):
        return isinstance(value, (list, tuple)) and list(value) == expected
    return value == expected


def _fishnet_model(cfg: Union[Config, dict]):
    """The ``model`` dict of ``cfg`` (a whole config or its model) and its
    FishNet backbone dict, or ``(model, None)`` without a FishNet."""
    model = cfg.get('model', cfg)
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not (isinstance(backbone, dict) and is_fishnet(backbone.get('type'))):
        return model, None
    return model, backbone


def check_neck_channels(cfg: Union[Config, dict]) -> None:
    """Raise :class:`UserInputError` if a neck or head of the model config
    (a whole config or its ``model`` dict) with a FishNet backbone takes
    other channels than the FishNet maps it reads; the message gives every
    entry with its value to write. Models without a FishNet are left alone.
    """
    model, backbone = _fishnet_model(cfg)
    if backbone is None:
        return
    outs = fishnet_out_channels(backbone)
    wrong = [(entry, value, expected)
             for _, _, entry, value, expected in _expectations(model, outs)
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


def fit_channels(cfg: Union[Config, dict]) -> List[str]:
    """Write the channels of the FishNet maps into every neck and head entry
    that reads them (in place; a tuple stays a tuple), e.g. after changing
    the backbone's ``widen_factor`` or ``arch``. Returns the entries
    changed; raises :class:`UserInputError` for an ``in_index`` out of
    range. Models without a FishNet are left alone."""
    model, backbone = _fishnet_model(cfg)
    if backbone is None:
        return []
    outs = fishnet_out_channels(backbone)
    changed = []
    for node, key, entry, value, expected in list(_expectations(model, outs)):
        if isinstance(expected, str):
            raise UserInputError(f'{entry} must be {expected} (not {value})')
        if not _same(value, expected):
            node[key] = tuple(expected) if isinstance(value,
                                                      tuple) else expected
            changed.append(entry)
    return changed
