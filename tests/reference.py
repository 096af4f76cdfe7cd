"""The official model's reference outputs and the deterministic weights
they were computed with. Plain Python (no pytest), so that tools such as
``tools/gpu/acceptance.py`` use them on machines without a test runner."""
import json
import math
from collections import OrderedDict
from pathlib import Path

import torch

DATA = Path(__file__).parent / 'data'


def official_key_shapes(arch):
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


def reference_input(height, width):
    x = torch.sin(
        torch.arange(3 * height * width, dtype=torch.float64) * 0.001)
    return x.float().reshape(1, 3, height, width)


def load_reference(name):
    with open(DATA / f'fishnet99_{name}.json') as f:
        return json.load(f)


def relative_error(actual, expected):
    """max |a - b| / max |b|."""
    actual = torch.as_tensor(actual, dtype=torch.float64)
    expected = torch.as_tensor(expected, dtype=torch.float64)
    return ((actual - expected).abs().max() / expected.abs().max()).item()
