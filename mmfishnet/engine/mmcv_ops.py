"""mmcv's compiled CPU ops under bf16 autocast and channels_last.

mmcv's C++ CPU kernels (NMS, RoIAlign, ...) are written for contiguous
float32 tensors: a bf16 tensor stops them (``expected scalar type Float but
found BFloat16``), and a channels_last map would be read with NCHW strides.
While :data:`mmcv_cpu_op_guard` is enabled, every function of ``mmcv._ext``
is wrapped so that, only when a CPU tensor argument is bf16/fp16 or not
contiguous, the kernel gets contiguous float32 copies; tensors the kernel
writes into (mmcv passes its outputs as arguments) get the results copied
back in their own dtype; inputs are left untouched. Other calls go straight
through after one scan of the arguments.

mmfishnet enables the guard only where such tensors can reach mmcv, and only
on the CPU: inside :func:`mmfishnet.engine.amp.autocast_context` (training
with ``MixedPrecisionOptimWrapper``), during the runs of ``AutocastValLoop``
/ ``AutocastTestLoop`` and of ``ChannelsLastHook``. On GPUs it is never
installed. ``MMFISHNET_MMCV_OP_GUARD=0`` keeps it off.
"""
import functools
from typing import Callable, Dict, List, Tuple

import torch

from mmfishnet.utils.process_patch import ProcessPatch

_LOW_PRECISION = (torch.bfloat16, torch.float16)


def _needs_float32(t) -> bool:
    """A CPU tensor in bf16/fp16, or floating and not contiguous. (The
    order of the checks keeps the common float32 case cheap.)"""
    if not isinstance(t, torch.Tensor):
        return False
    if t.dtype in _LOW_PRECISION:
        return t.is_cpu
    return t.is_floating_point() and not t.is_contiguous() and t.is_cpu


def _guard(op: Callable) -> Callable:

    @functools.wraps(op)
    def guarded(*args, **kwargs):
        if not (any(map(_needs_float32, args))
                or any(map(_needs_float32, kwargs.values()))):
            return op(*args, **kwargs)
        swapped: List[Tuple[torch.Tensor, torch.Tensor]] = []

        def convert(value):
            if not _needs_float32(value):
                return value
            copy = value.detach().float().contiguous()
            swapped.append((value, copy))
            return copy

        args = [convert(a) for a in args]
        kwargs = {k: convert(v) for k, v in kwargs.items()}
        with torch.autocast('cpu', enabled=False):
            result = op(*args, **kwargs)
        with torch.no_grad():
            for original, copy in swapped:
                # Only outputs the kernel wrote into: copying into an
                # unchanged input would bump its autograd version counter.
                if not torch.equal(copy, original.float()):
                    original.copy_(copy)
        return result

    return guarded


def _mmcv_ext():
    """mmcv's compiled extension module, or None without compiled ops."""
    try:
        from mmcv.utils import ext_loader
        return ext_loader.load_ext('_ext', [])
    except (ImportError, ModuleNotFoundError, AssertionError):
        return None


def _wrap_ops() -> Dict[str, Callable]:
    ext = _mmcv_ext()
    originals = {}
    if ext is None:
        return originals
    for name in dir(ext):
        op = getattr(ext, name)
        if name.startswith('_') or not callable(op):
            continue
        originals[name] = op
        setattr(ext, name, _guard(op))
    return originals


def _unwrap_ops(originals: Dict[str, Callable]) -> None:
    ext = _mmcv_ext()
    for name, op in originals.items():
        setattr(ext, name, op)


#: Wraps the functions of ``mmcv._ext`` while enabled (see the module
#: docstring). ``MMFISHNET_MMCV_OP_GUARD=0`` keeps it off.
mmcv_cpu_op_guard = ProcessPatch(
    'bf16/channels_last guard of mmcv CPU ops',
    _wrap_ops,
    _unwrap_ops,
    opt_out_env='MMFISHNET_MMCV_OP_GUARD')


def guarded_ext_functions() -> List[str]:
    """Names of the ``mmcv._ext`` functions wrapped now."""
    ext = _mmcv_ext()
    if ext is None or not mmcv_cpu_op_guard.active:
        return []
    return [
        name for name in dir(ext)
        if getattr(getattr(ext, name), '__wrapped__', None) is not None
    ]
