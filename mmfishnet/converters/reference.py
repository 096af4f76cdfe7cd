"""The official FishNet's fingerprint: the keys and shapes of its released
state dicts (FishNet-99/150/201), and FishNet-99's outputs (logits and
feature-map samples at 224x224 and 256x320) for deterministic weights and
input, computed with the authors' code. A converted model that reproduces
them is the official model; the tests and the GPU acceptance
(``tools/gpu/acceptance.py``) check exactly that.

    state = deterministic_official_state('fishnet99', False)
    x = reference_input(224, 224)
    expected = load_reference('224x224')['logits']
"""
import json
import math
from collections import OrderedDict
from pathlib import Path

import torch

DATA = Path(__file__).parent / 'official_reference'


def official_key_shapes(arch: str) -> OrderedDict:
    """Every key of the official state dict (registration order) -> shape."""
    with open(DATA / f'official_keys_{arch}.json') as f:
        return json.load(f, object_pairs_hook=OrderedDict)


def deterministic_official_state(arch, with_num_batches_tracked=True):
    """The official state dict filled as the reference outputs were made:
    keys sorted lexicographically, key ``i`` gets
    ``sin(arange(numel) * 0.01 + i)``; running_var ``|v| + 0.5``; conv weights
    divided by sqrt(fan_in)."""
    shapes = official_key_shapes(arch)
    values = {}
    for i, key in enumerate(sorted(shapes)):
        shape = shapes[key]
        if key.endswith('num_batches_tracked'):
            values[key] = torch.tensor(0)
            continue
        numel = math.prod(shape)
        v = torch.sin(torch.arange(numel, dtype=torch.float64) * 0.01 + i)
        v = v.float().reshape(shape)
        if key.endswith('running_var'):
            v = v.abs() + 0.5
        if v.dim() == 4:
            v = v / math.sqrt(shape[1] * shape[2] * shape[3])
        values[key] = v
    return OrderedDict(
        (k, values[k]) for k in shapes
        if with_num_batches_tracked or not k.endswith('num_batches_tracked'))


def reference_input(height: int, width: int) -> torch.Tensor:
    """The input (1, 3, height, width) the reference outputs were computed
    for."""
    x = torch.sin(
        torch.arange(3 * height * width, dtype=torch.float64) * 0.001)
    return x.float().reshape(1, 3, height, width)


def load_reference(name: str) -> dict:
    """The reference outputs at ``name`` (``'224x224'`` or ``'256x320'``):
    ``input``, ``logits`` and ``features`` samples."""
    with open(DATA / f'fishnet99_{name}.json') as f:
        return json.load(f)


def relative_error(actual, expected):
    """max |a - b| / max |b|."""
    actual = torch.as_tensor(actual, dtype=torch.float64)
    expected = torch.as_tensor(expected, dtype=torch.float64)
    return ((actual - expected).abs().max() / expected.abs().max()).item()
