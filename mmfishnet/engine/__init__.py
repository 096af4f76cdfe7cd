"""Runtime pieces for the OpenMMLab Runner: mixed precision on CPU and CUDA,
memory format, compiled training and inference, conv-BN fusion and training
for a fixed time (registered in mmengine's registries)."""
from .amp import (autocast_context, cpu_supports_bf16, float32_head_outputs,
                  resolve_amp_dtype)
from .hooks import (ChannelsLastHook, CheckpointSafetyHook, CompileLossHook,
                    CompileTestStepHook, FuseConvBNHook, to_channels_last)
from .loops import AutocastTestLoop, AutocastValLoop
from .mmcv_ops import mmcv_op_guard
from .optim_wrapper import MixedPrecisionOptimWrapper
from .time_budget import TimeBudgetHook

__all__ = [
    'autocast_context', 'cpu_supports_bf16', 'float32_head_outputs',
    'resolve_amp_dtype', 'ChannelsLastHook', 'CheckpointSafetyHook',
    'CompileLossHook', 'CompileTestStepHook', 'FuseConvBNHook',
    'to_channels_last', 'AutocastTestLoop', 'AutocastValLoop',
    'MixedPrecisionOptimWrapper', 'mmcv_op_guard', 'TimeBudgetHook'
]
