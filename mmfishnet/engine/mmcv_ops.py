"""mmcv's compiled ops under bf16 autocast and channels_last, on the CPU
and on CUDA.

mmcv 2.1's kernels are written for contiguous tensors in the dtypes they
dispatch: its C++ CPU kernels (NMS, RoIAlign, ...) for float32 (a bf16
tensor stops them: ``expected scalar type Float but found BFloat16``), its
CUDA kernels for float32 and float16 (``"roi_align_forward_cuda_kernel" not
implemented for 'BFloat16'``), and both read a channels_last map with NCHW
strides: silently wrong RoI features, no error. While :data:`mmcv_op_guard`
is enabled, the functions of ``mmcv._ext`` that it lists are wrapped so
that, only when a floating tensor argument needs it, the kernel gets a copy
it can read: on the CPU contiguous float32 for bf16/fp16 or non-contiguous
tensors; on CUDA
contiguous float32 for bf16 and a contiguous copy (same dtype) for
non-contiguous tensors. The kernels take their outputs as arguments:
:data:`WRITTEN_ARGUMENTS` declares, for each wrapped function, which
arguments those are (read from mmcv 2.1's Python wrappers, which pass every
tensor positionally), and only those are copied back, in their own dtype,
after the call. No value is compared and nothing waits for the device;
NaN and inf pass through as values. Calls whose tensors need no copy go
straight through after one scan of the arguments. Functions that are not
in the table are not wrapped.

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


#: The ``mmcv._ext`` functions the guard wraps, each with the positions of
#: the arguments its kernel writes into, from mmcv 2.1's wrappers in
#: ``mmcv/ops/`` (nms.py, roi_align.py, roi_pool.py, focal_loss.py,
#: multi_scale_deform_attn.py, deform_conv.py, modulated_deform_conv.py,
#: carafe.py, psa_mask.py): the detection and segmentation ops of mmdet's
#: and mmseg's models. Every written argument is a tensor the wrapper
#: allocated for the kernel to fill (``new_zeros`` / ``new_empty``), so
#: where it needs a copy the kernel gets zeros of the dtype it reads, not a
#: conversion. ``tests/test_engine/test_mmcv_ops.py`` checks every entry
#: against those wrappers and that the project's detectors call no other
#: function.
WRITTEN_ARGUMENTS: Dict[str, Tuple[int, ...]] = {
    'nms': (),
    'softnms': (2, ),  # dets
    'roi_align_forward': (2, 3, 4),  # output, argmax_y, argmax_x
    'roi_align_backward': (4, ),  # grad_input
    'roi_pool_forward': (2, 3),  # output, argmax
    'roi_pool_backward': (3, ),  # grad_input
    'sigmoid_focal_loss_forward': (3, ),  # output
    'sigmoid_focal_loss_backward': (3, ),  # grad_input
    'softmax_focal_loss_forward': (3, ),  # output
    'softmax_focal_loss_backward': (3, 4),  # buff, grad_input
    'ms_deform_attn_forward': (),
    # grad_value, grad_sampling_loc, grad_attn_weight
    'ms_deform_attn_backward': (6, 7, 8),
    'deform_conv_forward': (3, 4, 5),  # output, columns, ones
    'deform_conv_backward_input': (3, 4, 6),  # grad_input, grad_offset, cols
    'deform_conv_backward_parameters': (3, 4, 5),  # grad_weight, bufs
    # bufs[0], output, bufs[1]
    'modulated_deform_conv_forward': (3, 6, 7),
    # bufs[0], bufs[1], grad_input/weight/bias/offset/mask
    'modulated_deform_conv_backward': (3, 6, 7, 8, 9, 10, 11),
    'carafe_naive_forward': (2, ),  # output
    'carafe_naive_backward': (3, 4),  # grad_input, grad_masks
    'psamask_forward': (1, ),  # output
    'psamask_backward': (1, ),  # grad_input
}


def _needed_copy(t) -> Optional[torch.dtype]:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        return None
    if t.dtype not in _LOW_PRECISION and t.is_contiguous():
        return None  # the common case, decided cheaply
    return copy_dtype(t.device.type, t.dtype, t.is_contiguous())


def _guard(op: Callable, written: Tuple[int, ...]) -> Callable:

    @functools.wraps(op)
    def guarded(*args, **kwargs):
        copies = {}
        for i, arg in enumerate(args):
            dtype = _needed_copy(arg)
            if dtype is None:
                continue
            if i in written:  # an output the wrapper allocated: zeros do
                copies[i] = torch.zeros(
                    arg.shape, dtype=dtype, device=arg.device)
            else:
                copies[i] = arg.detach().to(dtype).contiguous()
        if not copies:
            return op(*args, **kwargs)
        device_type = next(iter(copies.values())).device.type
        with torch.autocast(device_type, enabled=False):
            result = op(*(copies.get(i, arg) for i, arg in enumerate(args)),
                        **kwargs)
        with torch.no_grad():
            for i in written:
                if i in copies:
                    if args[i].shape != copies[i].shape:  # scratch buffers
                        args[i].resize_(copies[i].shape)
                    args[i].copy_(copies[i])
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
    for name, written in WRITTEN_ARGUMENTS.items():
        op = getattr(ext, name, None)
        if op is None:
            continue
        originals[name] = op
        setattr(ext, name, _guard(op, written))
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
