"""Helpers for the launch tools: CPU fallbacks, speed options and config
sanity checks."""
from .cpu_fallback import adapt_config_to_cpu, init_cpu_distributed
from .neck_check import check_neck_channels, fit_channels
from .preflight import check_preprocessor
from .safety import add_checkpoint_safety_hook, tool_safety
from .speed import (AMP_DTYPES, MEMORY_FORMATS, enable_amp, enable_compile,
                    enable_fuse_conv_bn, set_memory_format)

__all__ = [
    'adapt_config_to_cpu', 'init_cpu_distributed', 'check_neck_channels',
    'fit_channels', 'check_preprocessor', 'add_checkpoint_safety_hook',
    'tool_safety', 'AMP_DTYPES', 'MEMORY_FORMATS', 'enable_amp',
    'enable_compile', 'enable_fuse_conv_bn', 'set_memory_format'
]
