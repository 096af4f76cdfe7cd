"""Runner hooks: safe checkpoint input/output for one run, and fast
execution (channels_last, conv-BN fusion, a compiled loss computation for
training and a compiled ``test_step``)."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import fuse_conv_bn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmfishnet import checkpoint
from mmfishnet.utils.compat import cpu_autocast_dtype
from .mmcv_ops import mmcv_op_guard


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def _inputs_to_channels_last(module: nn.Module, args: tuple) -> tuple:
    """Forward pre-hook: the first (image) argument in channels_last."""
    x, *rest = args
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return (x, *rest)


def _is_dilated_conv(module: nn.Module) -> bool:
    return isinstance(module, nn.Conv2d) and max(module.dilation) > 1


def _nchw_under_cpu_bf16(module: nn.Conv2d, args: tuple) -> tuple:
    """Forward pre-hook of a dilated conv: its input in NCHW while a CPU
    bf16 autocast trains (see :func:`to_channels_last`)."""
    x, *rest = args
    if (x.device.type == 'cpu' and torch.is_grad_enabled()
            and cpu_autocast_dtype() == torch.bfloat16):
        x = x.contiguous()
    return (x, *rest)


def to_channels_last(model: nn.Module) -> nn.Module:
    """Put the weights of ``model`` and the images its backbone receives
    (or, without a ``backbone``, the model itself) in channels_last (NHWC)
    memory format, in place. Results are unchanged; on the CPU and with
    mixed precision on GPUs convolutions run faster in this layout.

    One exception: under a CPU bf16 autocast with gradients, dilated convs
    (FishNet's body, ASPP, ...) run in NCHW. oneDNN's bf16 NHWC
    backward-weights kernel for them on AVX512-BF16 CPUs
    (``jit_bf16:avx512_core_bf16``, torch 2.14.1) returns NaN weight
    gradients or crashes when the channels are not a multiple of 16 (seen
    with 20, 24 and 40 channels at dilation 4, 24 at dilation 2), which
    turned FishNet-99 at ``widen_factor=0.625`` and 0.25 NaN at their third
    iteration. Their weights stay NCHW (a conv runs NHWC when its input or
    its weight is), their inputs become NCHW only then; fp32, inference and
    GPUs keep NHWC throughout."""
    model.to(memory_format=torch.channels_last)
    for module in model.modules():
        if _is_dilated_conv(module):
            module.weight.data = module.weight.data.contiguous()
            module.register_forward_pre_hook(_nchw_under_cpu_bf16)
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
    with does not affect results. mmcv's compiled ops, whose kernels read
    NCHW, get contiguous copies of channels_last maps for the duration of the
    run (:data:`~mmfishnet.engine.mmcv_ops.mmcv_op_guard`).
    """

    priority = 'VERY_HIGH'

    def __init__(self):
        self._guarding = False

    def before_run(self, runner) -> None:
        model = _unwrap(runner.model)
        if not self._guarding:
            self._guarding = mmcv_op_guard.enable()
        if getattr(model, '_mmfishnet_channels_last', False):
            return
        to_channels_last(model)
        model._mmfishnet_channels_last = True
        print_log(
            'model and inputs in channels_last memory format',
            logger='current')

    def after_run(self, runner) -> None:
        if self._guarding:
            mmcv_op_guard.disable()
            self._guarding = False


@HOOKS.register_module()
class CheckpointSafetyHook(Hook):
    """Safe loading and crash-safe saving of local checkpoints, from the
    start of a run (``before_run``) to its end (``after_run``).

    * ``safe_loading``: mmengine loads local checkpoints (``load_from``,
      resume, ``init_cfg=dict(type='Pretrained')``) with
      :func:`mmfishnet.checkpoint.read_checkpoint`: weights and the types an
      mmengine Runner writes load on every supported torch (torch >= 2.6
      refuses mmengine's own checkpoints otherwise), anything that would run
      code while unpickling is refused with the types named.
    * ``atomic_saving``: checkpoints and other files mmengine writes to
      local paths go through a temporary file and a rename, so a killed run
      leaves the previous checkpoint, never a truncated one.

    ``tools/train.py`` / ``tools/test.py`` add it to the configs they run
    (the configs themselves define no hooks); set either switch to
    ``False`` (or the environment variables ``MMFISHNET_SAFE_LOADING=0`` /
    ``MMFISHNET_ATOMIC_SAVING=0``) to keep mmengine's own behaviour.

    Args:
        safe_loading (bool): see above. Defaults to True.
        atomic_saving (bool): see above. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, safe_loading: bool = True, atomic_saving: bool = True):
        switches = ((checkpoint.safe_loading, safe_loading),
                    (checkpoint.atomic_saving, atomic_saving))
        self.patches = [patch for patch, wanted in switches if wanted]
        self._enabled = []

    def before_run(self, runner) -> None:
        self._enabled += [p for p in self.patches if p.enable()]

    def after_run(self, runner) -> None:
        while self._enabled:
            self._enabled.pop().disable()


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
        print_log(
            f'fused {before - _count_norms(model)} of {before} '
            'BatchNorm layers into their convolutions',
            logger='current')


def _count_norms(model: nn.Module) -> int:
    return sum(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in model.modules())


class _CompileMethodHook(Hook):
    """Replace one method of the (unwrapped) model by its ``torch.compile``
    version for a phase of the run, and restore it after. The compiled
    method is an attribute of the model instance: parameters, state dicts
    and checkpoints stay the model's own."""

    method = ''

    def __init__(self, compile_cfg: Optional[dict] = None):
        self.compile_cfg = compile_cfg or {}

    def _compile(self, runner) -> None:
        model = _unwrap(runner.model)
        compiled = torch.compile(
            getattr(model, self.method), **self.compile_cfg)
        setattr(model, self.method, compiled)
        print_log(
            f'model.{self.method} compiled with '
            f'torch.compile({self.compile_cfg}); the first iterations '
            'compile it',
            logger='current')

    def _restore(self, runner) -> None:
        vars(_unwrap(runner.model)).pop(self.method, None)


@HOOKS.register_module()
class CompileTestStepHook(_CompileMethodHook):
    """``torch.compile`` the model's ``test_step`` for testing (mmengine's
    ``compile`` setting only compiles ``train_step``). The first batches pay
    a one-time compilation cost.

    Args:
        compile_cfg (dict, optional): Keyword arguments of ``torch.compile``.
    """

    method = 'test_step'

    def before_test(self, runner) -> None:
        self._compile(runner)

    def after_test(self, runner) -> None:
        self._restore(runner)


@HOOKS.register_module()
class CompileLossHook(_CompileMethodHook):
    """``torch.compile`` the model's loss computation for training.

    ``model.loss(inputs, data_samples)`` (backbone, neck, heads and losses;
    inductor compiles its backward too) is replaced by its compiled version
    in ``before_train`` and restored in ``after_train``; the data
    preprocessor, the optimizer step and the learning rate schedule stay
    eager. mmengine's own ``compile=True`` compiles the whole ``train_step``
    instead, whose optimizer step is specialised to the learning rate (a
    Python number): every scheduler change recompiles it, and PyTorch runs
    the step uncompiled after ``torch._dynamo.config.recompile_limit``
    recompilations.

    The first iterations pay a one-time compilation, and one more for each
    new input shape (a smaller last batch of an epoch, another image size):
    after the second shape torch compiles a graph for dynamic shapes,
    unless ``compile_cfg`` says ``dynamic=False``.

    Args:
        compile_cfg (dict, optional): Keyword arguments of ``torch.compile``.
    """

    method = 'loss'

    def before_train(self, runner) -> None:
        self._compile(runner)

    def after_train(self, runner) -> None:
        self._restore(runner)
