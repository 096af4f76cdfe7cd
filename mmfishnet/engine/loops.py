"""Validation and test loops that run the model in autocast."""
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from mmengine.registry import LOOPS
from mmengine.runner import TestLoop, ValLoop

from .amp import amp_device_type, float32_head_outputs, resolve_amp_dtype


@contextmanager
def _default_cuda_autocast_dtype(dtype: Optional[torch.dtype]) -> Iterator:
    """mmengine's loops autocast with the device's default dtype: on CUDA,
    make that ``dtype`` for the duration (on the CPU it is always bf16)."""
    if dtype is None or amp_device_type() != 'cuda':
        yield
        return
    previous = torch.get_autocast_dtype('cuda')
    torch.set_autocast_dtype('cuda', dtype)
    try:
        yield
    finally:
        torch.set_autocast_dtype('cuda', previous)


class _AutocastLoopMixin:
    """Resolve ``dtype`` once and switch on the parent loop's autocast."""

    def _setup_autocast(self, dtype: str) -> None:
        self.amp_dtype = resolve_amp_dtype(dtype)
        self.fp16 = self.amp_dtype is not None  # mmengine's autocast switch

    def run(self) -> dict:
        if self.amp_dtype is not None:
            float32_head_outputs(self.runner.model)
        with _default_cuda_autocast_dtype(self.amp_dtype):
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
