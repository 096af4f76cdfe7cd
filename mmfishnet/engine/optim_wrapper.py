"""Mixed precision training on CUDA and on the CPU."""
import logging
from contextlib import contextmanager, nullcontext
from typing import Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from mmfishnet.utils.compat import grad_scaler
from .amp import (amp_device_type, autocast_context, float32_head_outputs,
                  resolve_amp_dtype)
from .mmcv_ops import mmcv_op_guard


@OPTIM_WRAPPERS.register_module()
class MixedPrecisionOptimWrapper(OptimWrapper):
    """``OptimWrapper`` that runs the forward pass and the loss in autocast.

    A drop-in for mmengine's ``AmpOptimWrapper``, which only works on
    accelerators. The dtype is chosen by
    :func:`mmfishnet.engine.amp.resolve_amp_dtype`: bf16 on a CPU with
    AVX512-BF16/AMX and on GPUs that have it, fp16 on older GPUs, and fp32
    (with one log line) on a CPU without native bf16. Only fp16 scales the
    loss (``GradScaler``); bf16 has fp32's exponent range and
    needs no scaling. Heads return float32 (see
    :func:`mmfishnet.engine.amp.float32_head_outputs`).

    Args:
        dtype (str): ``'auto'``, ``'bfloat16'`` or ``'float16'``.
        loss_scale (str | float | dict): fp16 only: ``'dynamic'``, a static
            initial scale, or ``GradScaler`` keyword arguments.
        **kwargs: ``optimizer``, ``accumulative_counts``, ``clip_grad`` of
            ``OptimWrapper``.
    """

    def __init__(self,
                 dtype: str = 'auto',
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 **kwargs):
        super().__init__(**kwargs)
        self.device_type = amp_device_type()
        self.cast_dtype = resolve_amp_dtype(dtype, self.device_type)
        self.loss_scaler = self._build_loss_scaler(loss_scale)
        if self.cast_dtype is not None:
            print_log(
                f'mixed precision training: {self.cast_dtype} autocast on '
                f'{self.device_type}' +
                (', with loss scaling' if self.loss_scaler else ''),
                logger='current')

    def _build_loss_scaler(self, loss_scale):
        """A loss scaler for fp16, else None."""
        if self.cast_dtype != torch.float16:
            return None
        self._static_scale = None
        if loss_scale == 'dynamic':
            return grad_scaler(self.device_type)
        if isinstance(loss_scale, (int, float)):
            self._static_scale = float(loss_scale)
            return grad_scaler(self.device_type, init_scale=float(loss_scale))
        if isinstance(loss_scale, dict):
            return grad_scaler(self.device_type, **loss_scale)
        raise TypeError(f"loss_scale must be 'dynamic', a number or a dict, "
                        f'got {loss_scale!r}')

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        # the backward of mmcv's ops (RoIAlign, ...) meets bf16 too
        with (mmcv_op_guard.scope()
              if self.cast_dtype is not None else nullcontext()):
            loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._static_scale)

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        scaler_state = state_dict.pop('loss_scaler', None)
        if self.loss_scaler is not None and scaler_state:
            self.loss_scaler.load_state_dict(scaler_state)
        elif scaler_state:
            print_log(
                'the checkpoint has an fp16 loss scaler state; training now '
                f'runs in {self.cast_dtype or torch.float32} without loss '
                'scaling, so it is not used',
                logger='current',
                level=logging.WARNING)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module):
        if self.cast_dtype is not None:
            float32_head_outputs(model)
        with super().optim_context(model), autocast_context(
                self.cast_dtype, self.device_type):
            yield
