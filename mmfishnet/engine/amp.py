"""Which autocast dtype a device can run, and the autocast context itself.

mmengine's ``AmpOptimWrapper`` asserts CUDA and its ``autocast`` only knows
bf16 on the CPU; these helpers choose for both devices:

========== =================================== ==============================
device     ``dtype='auto'``                    explicit dtype
========== =================================== ==============================
CUDA       bf16 where the GPU has it, else     ``'float16'``; ``'bfloat16'``
           fp16                                only where supported
CPU        bf16 where the CPU computes it      ``'bfloat16'`` (fp16 is an
           natively (AVX512-BF16 or AMX),      error: no fast CPU kernels)
           else fp32 with one log line
========== =================================== ==============================
"""
import logging
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Union

import torch
import torch.nn as nn
from mmengine.device import get_device
from mmengine.logging import print_log

from mmfishnet.utils.compat import cpu_has_native_bf16, cuda_has_native_bf16
from .mmcv_ops import mmcv_op_guard

DTYPE_NAMES = {
    'auto': None,
    'bfloat16': torch.bfloat16,
    'bf16': torch.bfloat16,
    'float16': torch.float16,
    'fp16': torch.float16,
}


def cpu_supports_bf16() -> bool:
    """True if this CPU computes bf16 natively (AVX512-BF16 or AMX tiles),
    which is what makes CPU autocast faster than fp32."""
    return cpu_has_native_bf16()


def amp_device_type() -> str:
    """``'cuda'`` or ``'cpu'``: where the model runs (mmengine's choice)."""
    device = get_device()
    if device not in ('cuda', 'cpu'):
        raise RuntimeError(f'mmfishnet mixed precision supports CUDA and the '
                           f'CPU, not {device!r}')
    return device


def resolve_amp_dtype(
        dtype: Union[str, torch.dtype, None] = 'auto',
        device_type: Optional[str] = None) -> Optional[torch.dtype]:
    """The autocast dtype for ``dtype`` on ``device_type``; ``None`` means
    fp32 (no autocast), which is logged once.

    Raises:
        ValueError: an unknown dtype name, fp16 on the CPU, or bf16 on a GPU
            without bf16.
    """
    device_type = device_type or amp_device_type()
    if dtype is None or isinstance(dtype, torch.dtype):
        wanted = dtype
    elif dtype in DTYPE_NAMES:
        wanted = DTYPE_NAMES[dtype]
    else:
        raise ValueError(f'unknown mixed precision dtype {dtype!r}; choose '
                         f'one of {sorted(DTYPE_NAMES)}')
    if wanted not in (None, torch.bfloat16, torch.float16):
        raise ValueError(f'mixed precision dtype must be bfloat16 or float16, '
                         f'got {wanted}')
    if device_type == 'cuda':
        bf16_ok = cuda_has_native_bf16()
        if wanted is None:
            return torch.bfloat16 if bf16_ok else torch.float16
        if wanted == torch.bfloat16 and not bf16_ok:
            raise ValueError(
                f'{torch.cuda.get_device_name()} has no bfloat16 support: '
                'use --amp-dtype float16 (or auto)')
        return wanted
    if wanted == torch.float16:
        raise ValueError('float16 mixed precision is for CUDA; on the CPU use '
                         'bfloat16 (or auto)')
    if not cpu_supports_bf16():
        print_log(
            'mixed precision: this CPU has no native bfloat16 (AVX512-BF16 or '
            'AMX), so bf16 autocast would be slower than float32; running in '
            'float32',
            logger='current',
            level=logging.WARNING)
        return None
    return torch.bfloat16


@contextmanager
def autocast_context(dtype: Optional[torch.dtype],
                     device_type: Optional[str] = None) -> Iterator[None]:
    """``torch.autocast`` in ``dtype``, or nothing when ``dtype`` is None.
    mmcv's compiled ops take the bf16 tensors meanwhile
    (:data:`~mmfishnet.engine.mmcv_ops.mmcv_op_guard`)."""
    if dtype is None:
        yield
        return
    device_type = device_type or amp_device_type()
    with torch.autocast(device_type, dtype=dtype), mmcv_op_guard.scope():
        yield


def _outputs_to_float32(module: nn.Module, args: tuple, output: Any) -> Any:
    """Forward hook: every floating tensor of ``output`` in float32."""

    def cast(value):
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.float()
        if isinstance(value, (list, tuple)):
            return type(value)(cast(v) for v in value)
        return value

    return cast(output)


def float32_head_outputs(model: nn.Module) -> nn.Module:
    """Make every head of ``model`` (a module whose class name ends with
    ``Head``) return float32, in place and once.

    Heads still compute in autocast, but what follows them does not inherit
    bf16: mmdet generates anchors in the dtype of the scores and decodes
    boxes in the dtype of the deltas, and bf16 (8 significant bits) would
    round a box coordinate of 1000 px to a multiple of 4-8 px. Losses,
    accuracies and predicted boxes stay float32.
    """
    for module in model.modules():
        if (type(module).__name__.endswith('Head')
                and not getattr(module, '_mmfishnet_fp32_out', False)):
            module.register_forward_hook(_outputs_to_float32)
            module._mmfishnet_fp32_out = True
    return model
