"""Convert an official FishNet checkpoint into an mmpretrain checkpoint.

    python tools/model_converters/fishnet2mmpretrain.py SRC DST [--arch ARCH]

SRC is an official file (``fishnet99_ckpt.tar``, ``fishnet150_ckpt.tar``,
``fishnet150_ckpt_welltrained.tar``, ``fishnet201_ckpt_welltrain.tar``): a dict
with ``state_dict`` (keys with or without ``module.``) or a bare state dict.
DST is an ``ImageClassifier`` checkpoint (``backbone.*`` and ``head.*`` keys
and
``meta``) for ``configs/fishnet*_in1k.py``, usable as ``load_from`` or as a
backbone ``Pretrained`` init with ``prefix='backbone.'``.

Every official key must map onto the model and every model weight must be
filled, else the conversion fails and names the keys. Only the
``num_batches_tracked`` counters (absent from PyTorch 0.4 era files) are
filled with 0.
"""
import argparse
import io
import os.path as osp
import sys
import time
from collections import OrderedDict

import torch

import mmfishnet
from mmfishnet.checkpoint import (CheckpointError, read_checkpoint,
                                  write_atomically)
from mmfishnet.converters import (convert_official_checkpoint, detect_layout,
                                  is_official, strip_module_prefix)
from mmfishnet.models import FishNet
from mmfishnet.models.pretrained import arch_of_state, strip_prefix


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='official FishNet checkpoint')
    parser.add_argument('dst', help='output mmpretrain checkpoint')
    parser.add_argument(
        '--arch',
        choices=['fishnet99', 'fishnet150', 'fishnet201'],
        help='variant (default: inferred from the block counts)')
    parser.add_argument(
        '--trusted',
        action='store_true',
        help='unpickle SRC with weights_only=False (only for files you '
        'trust) when the safe loader refuses it')
    return parser.parse_args(argv)


def load_official(path: str, trusted: bool):
    try:
        ckpt = read_checkpoint(path, map_location='cpu', trusted=trusted)
    except FileNotFoundError as e:
        sys.exit(f'error: {e}')
    except CheckpointError as e:
        sys.exit(f'error: {e}')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not is_official(state):
        sys.exit(f'error: {path} is not an official FishNet checkpoint (no '
                 '"fish.fish.*" keys in it or in its "state_dict")')
    return ckpt, state


def build_classifier(arch: str, num_classes: int):
    from mmpretrain.registry import MODELS
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='FishNet', arch=arch, out_indices=(9, )),
            head=dict(
                type='FishNetClsHead',
                num_classes=num_classes,
                in_channels=2112)))


def match_model(converted, model_state):
    """Order ``converted`` as the model, check names and shapes, and fill
    missing ``num_batches_tracked`` with 0."""
    missing = [
        k for k in model_state
        if k not in converted and not k.endswith('num_batches_tracked')
    ]
    unexpected = [k for k in converted if k not in model_state]
    wrong_shape = [
        f'{k}: {tuple(v.shape)} vs model {tuple(model_state[k].shape)}'
        for k, v in converted.items()
        if k in model_state and v.shape != model_state[k].shape
    ]
    if missing or unexpected or wrong_shape:
        sys.exit('error: the checkpoint does not fit the model:\n'
                 f'  model keys left unfilled: {missing}\n'
                 f'  checkpoint keys with no model key: {unexpected}\n'
                 f'  shape mismatches: {wrong_shape}')
    return OrderedDict((k, converted.get(k, torch.zeros_like(v)).clone())
                       for k, v in model_state.items())


def main(argv=None):
    args = parse_args(argv)
    ckpt, state = load_official(args.src, args.trusted)
    layout = detect_layout(strip_module_prefix(state))
    try:
        converted = convert_official_checkpoint(state)
    except KeyError as e:
        sys.exit(f'error: {e.args[0]}')
    arch = args.arch or arch_of_state(
        strip_prefix(converted, 'backbone.'), FishNet.arch_settings)
    if arch is None:
        sys.exit(f'error: cannot tell the FishNet variant of {args.src} from '
                 'its tail3 block count: pass --arch')
    num_classes = converted['head.fc.weight'].shape[0]
    model_state = build_classifier(arch, num_classes).state_dict()
    state_dict = match_model(converted, model_state)

    meta = dict(
        mmfishnet_version=mmfishnet.__version__,
        source=osp.basename(args.src),
        official_layout=layout,
        arch=arch,
        num_classes=num_classes,
        converted_at=time.strftime('%Y-%m-%d %H:%M:%S'))
    if num_classes == 1000:  # class names for inferencers and visualisers
        from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
        meta['dataset_meta'] = dict(classes=IMAGENET_CATEGORIES)
    if isinstance(ckpt, dict):
        for key in ('epoch', 'best_prec1'):
            if key in ckpt:
                value = ckpt[key]
                meta[f'official_{key}'] = (
                    value.item() if torch.is_tensor(value) else value)
    buffer = io.BytesIO()
    torch.save(dict(state_dict=state_dict, meta=meta), buffer)
    write_atomically(buffer.getvalue(), args.dst)
    print(f'converted {args.src} ({arch}, {layout} layout, {num_classes} '
          f'classes, {len(state_dict)} tensors) -> {args.dst}')


if __name__ == '__main__':
    main()
