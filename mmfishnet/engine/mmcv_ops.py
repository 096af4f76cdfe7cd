"""mmcv's compiled CPU ops under bf16 autocast and channels_last.

mmcv's C++ CPU kernels (NMS, RoIAlign, ...) are written for contiguous
float32 tensors: a bf16 tensor stops them (``expected scalar type Float but
found BFloat16``), and a channels_last map would be read with NCHW strides.
:func:`install_cpu_op_guard` wraps every function of ``mmcv._ext`` so that,
only when a CPU tensor argument is bf16/fp16 or not contiguous, the kernel
gets contiguous float32 copies; tensors the kernel writes into (mmcv passes
its outputs as arguments) get the results copied back in their own dtype;
inputs are left untouched.
CUDA tensors and plain float32 calls go straight through.
"""
import functools
from typing import Callable, List, Tuple

import torch

_GUARD_FLAG = '_mmfishnet_cpu_guard'


def _needs_float32(t) -> bool:
    return (isinstance(t, torch.Tensor) and t.device.type == 'cpu'
            and (t.dtype in (torch.bfloat16, torch.float16)
                 or (t.is_floating_point() and not t.is_contiguous())))


def _guard(op: Callable) -> Callable:

    @functools.wraps(op)
    def guarded(*args, **kwargs):
        swapped: List[Tuple[torch.Tensor, torch.Tensor]] = []

        def convert(value):
            if not _needs_float32(value):
                return value
            copy = value.detach().float().contiguous()
            swapped.append((value, copy))
            return copy

        args = [convert(a) for a in args]
        kwargs = {k: convert(v) for k, v in kwargs.items()}
        if not swapped:
            return op(*args, **kwargs)
        with torch.autocast('cpu', enabled=False):
            result = op(*args, **kwargs)
        with torch.no_grad():
            for original, copy in swapped:
                # Only outputs the kernel wrote into: copying into an
                # unchanged input would bump its autograd version counter.
                if not torch.equal(copy, original.float()):
                    original.copy_(copy)
        return result

    setattr(guarded, _GUARD_FLAG, True)
    return guarded


def install_cpu_op_guard() -> int:
    """Wrap the functions of ``mmcv._ext`` (once); returns how many are
    guarded. Without mmcv's compiled ops nothing happens."""
    try:
        from mmcv.utils import ext_loader
        ext = ext_loader.load_ext('_ext', [])
    except (ImportError, ModuleNotFoundError, AssertionError):
        return 0
    count = 0
    for name in dir(ext):
        op = getattr(ext, name)
        if name.startswith('_') or not callable(op):
            continue
        if not getattr(op, _GUARD_FLAG, False):
            setattr(ext, name, _guard(op))
        count += 1
    return count
