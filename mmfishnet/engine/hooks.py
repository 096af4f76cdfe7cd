"""Runner hooks for fast execution: channels_last, conv-BN fusion and a
compiled ``test_step``."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import fuse_conv_bn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def _inputs_to_channels_last(module: nn.Module, args: tuple) -> tuple:
    """Forward pre-hook: the first (image) argument in channels_last."""
    x, *rest = args
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return (x, *rest)


def to_channels_last(model: nn.Module) -> nn.Module:
    """Put the weights of ``model`` and the images its backbone receives
    (or, without a ``backbone``, the model itself) in channels_last (NHWC)
    memory format, in place. Results are unchanged; on the CPU and with
    mixed precision on GPUs convolutions run faster in this layout."""
    model.to(memory_format=torch.channels_last)
    target = getattr(model, 'backbone', model)
    target.register_forward_pre_hook(_inputs_to_channels_last)
    return model


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Run the model in channels_last memory format (weights and inputs).

    Add ``custom_hooks = [dict(type='ChannelsLastHook')]`` to a config;
    ``tools/train.py`` and ``tools/test.py`` add it unless
    ``--memory-format contiguous``. The conversion happens in ``before_run``,
    after the Runner has wrapped the model: parameters keep their identity,
    so optimizers and DDP keep working, and the layout they were created
    with does not affect results.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = _unwrap(runner.model)
        if getattr(model, '_mmfishnet_channels_last', False):
            return
        to_channels_last(model)
        model._mmfishnet_channels_last = True
        print_log('model and inputs in channels_last memory format',
                  logger='current')


@HOOKS.register_module()
class FuseConvBNHook(Hook):
    """Fold every BatchNorm that directly follows a convolution into it
    before testing (mmcv's ``fuse_conv_bn``; same outputs up to float
    rounding). FishNet is pre-activation, so the norm that opens each block
    stays: 97 of FishNet-150's 150 BN layers are folded."""

    def before_test(self, runner) -> None:
        model = _unwrap(runner.model)
        before = _count_norms(model)
        fuse_conv_bn(model)
        print_log(f'fused {before - _count_norms(model)} of {before} '
                  'BatchNorm layers into their convolutions',
                  logger='current')


def _count_norms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm)
               for m in model.modules())


@HOOKS.register_module()
class CompileTestStepHook(Hook):
    """``torch.compile`` the model's ``test_step`` before testing (mmengine's
    ``compile`` setting only compiles ``train_step``). The first batches pay
    a one-time compilation cost.

    Args:
        compile_cfg (dict, optional): Keyword arguments of ``torch.compile``.
    """

    def __init__(self, compile_cfg: Optional[dict] = None):
        self.compile_cfg = compile_cfg or {}

    def before_test(self, runner) -> None:
        model = _unwrap(runner.model)
        model.test_step = torch.compile(model.test_step, **self.compile_cfg)
        print_log(f'test_step compiled with torch.compile({self.compile_cfg})',
                  logger='current')
