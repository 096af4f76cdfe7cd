"""Validation and test loops that run the model in autocast."""
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from mmengine.registry import LOOPS
from mmengine.runner import TestLoop, ValLoop

from mmfishnet.utils.compat import (get_cuda_autocast_dtype,
                                    set_cuda_autocast_dtype)
from .amp import amp_device_type, float32_head_outputs, resolve_amp_dtype
from .mmcv_ops import mmcv_op_guard


@contextmanager
def _default_cuda_autocast_dtype(dtype: Optional[torch.dtype]) -> Iterator:
    """mmengine's loops autocast with the device's default dtype: on CUDA,
    make that ``dtype`` for the duration (on the CPU it is always bf16)."""
    if dtype is None or amp_device_type() != 'cuda':
        yield
        return
    previous = get_cuda_autocast_dtype()
    set_cuda_autocast_dtype(dtype)
    try:
        yield
    finally:
        set_cuda_autocast_dtype(previous)


class _AutocastLoopMixin:
    """Resolve ``dtype`` once and switch on the parent loop's autocast (and,
    on the CPU, mmcv's op guard for the bf16 tensors)."""

    def _setup_autocast(self, dtype: str) -> None:
        self.amp_dtype = resolve_amp_dtype(dtype)
        self.fp16 = self.amp_dtype is not None  # mmengine's autocast switch

    def run(self) -> dict:
        if self.amp_dtype is None:
            return super().run()
        float32_head_outputs(self.runner.model)
        with _default_cuda_autocast_dtype(
                self.amp_dtype), mmcv_op_guard.scope():
            return super().run()


@LOOPS.register_module()
class AutocastValLoop(_AutocastLoopMixin, ValLoop):
    """``ValLoop`` in bf16/fp16 autocast (``dtype`` as for
    :class:`MixedPrecisionOptimWrapper`; fp32 on a CPU without bf16), heads
    returning float32."""

    def __init__(self, runner, dataloader, evaluator, dtype: str = 'auto'):
        super().__init__(runner, dataloader, evaluator)
        self._setup_autocast(dtype)


@LOOPS.register_module()
class AutocastTestLoop(_AutocastLoopMixin, TestLoop):
    """``TestLoop`` in bf16/fp16 autocast (see :class:`AutocastValLoop`)."""

    def __init__(self, runner, dataloader, evaluator, dtype: str = 'auto'):
        super().__init__(runner, dataloader, evaluator)
        self._setup_autocast(dtype)
