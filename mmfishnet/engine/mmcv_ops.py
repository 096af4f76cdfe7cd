"""mmcv's compiled ops under bf16 autocast and channels_last, on the CPU
and on CUDA.

mmcv 2.1's kernels are written for contiguous tensors in the dtypes they
dispatch: its C++ CPU kernels (NMS, RoIAlign, ...) for float32 (a bf16
tensor stops them: ``expected scalar type Float but found BFloat16``), its
CUDA kernels for float32 and float16 (``"roi_align_forward_cuda_kernel" not
implemented for 'BFloat16'``), and both read a channels_last map with NCHW
strides: silently wrong RoI features, no error. While :data:`mmcv_op_guard`
is enabled, every function of ``mmcv._ext`` is wrapped so that, only when a
floating tensor argument needs it, the kernel gets a copy it can read: on
the CPU contiguous float32 for bf16/fp16 or non-contiguous tensors; on CUDA
contiguous float32 for bf16 and a contiguous copy (same dtype) for
non-contiguous tensors. Tensors the kernel writes into (mmcv passes its
outputs as arguments) get the results copied back in their own dtype;
inputs are left untouched. Other calls go straight through after one scan
of the arguments.

mmfishnet enables the guard only where such tensors can reach mmcv: inside
:func:`mmfishnet.engine.amp.autocast_context` (training with
``MixedPrecisionOptimWrapper``), during the runs of ``AutocastValLoop`` /
``AutocastTestLoop`` and of ``ChannelsLastHook``, and in the demo and
benchmark tools. ``MMFISHNET_MMCV_OP_GUARD=0`` keeps it off.
"""
import functools
from typing import Callable, Dict, List, Optional, Tuple

import torch

from mmfishnet.utils.process_patch import ProcessPatch

_LOW_PRECISION = (torch.bfloat16, torch.float16)


def copy_dtype(device_type: str, dtype: torch.dtype,
               contiguous: bool) -> Optional[torch.dtype]:
    """The dtype of the contiguous copy an mmcv kernel needs of a floating
    tensor, or ``None`` when it reads the tensor itself."""
    if device_type == 'cpu':
        if dtype in _LOW_PRECISION or not contiguous:
            return torch.float32
    elif device_type == 'cuda':
        if dtype == torch.bfloat16:
            return torch.float32
        if not contiguous:
            return dtype
    return None


def _needed_copy(t) -> Optional[torch.dtype]:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        return None
    if t.dtype not in _LOW_PRECISION and t.is_contiguous():
        return None  # the common case, decided cheaply
    return copy_dtype(t.device.type, t.dtype, t.is_contiguous())


def _guard(op: Callable) -> Callable:

    @functools.wraps(op)
    def guarded(*args, **kwargs):
        if not (any(_needed_copy(a) for a in args)
                or any(_needed_copy(v) for v in kwargs.values())):
            return op(*args, **kwargs)
        swapped: List[Tuple[torch.Tensor, torch.Tensor]] = []

        def convert(value):
            dtype = _needed_copy(value)
            if dtype is None:
                return value
            copy = value.detach().to(dtype).contiguous()
            swapped.append((value, copy))
            return copy

        args = [convert(a) for a in args]
        kwargs = {k: convert(v) for k, v in kwargs.items()}
        with torch.autocast(swapped[0][1].device.type, enabled=False):
            result = op(*args, **kwargs)
        with torch.no_grad():
            for original, copy in swapped:
                # Only outputs the kernel wrote into: copying into an
                # unchanged input would bump its autograd version counter.
                if not torch.equal(copy, original.to(copy.dtype)):
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
mmcv_op_guard = ProcessPatch(
    'bf16/channels_last guard of mmcv ops',
    _wrap_ops,
    _unwrap_ops,
    opt_out_env='MMFISHNET_MMCV_OP_GUARD')


def guarded_ext_functions() -> List[str]:
    """Names of the ``mmcv._ext`` functions wrapped now."""
    ext = _mmcv_ext()
    if ext is None or not mmcv_op_guard.active:
        return []
    return [
        name for name in dir(ext)
        if getattr(getattr(ext, name), '__wrapped__', None) is not None
    ]
