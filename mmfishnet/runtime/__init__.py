"""Helpers for the launch tools: CPU fallbacks and config sanity checks."""
from .cpu_fallback import adapt_config_to_cpu, init_cpu_distributed
from .neck_check import check_neck_channels

__all__ = ['adapt_config_to_cpu', 'init_cpu_distributed', 'check_neck_channels']
