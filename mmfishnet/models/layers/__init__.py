from .bottleneck import (PreActBottleneck, bottleneck_width, channel_reduction,
                         make_blocks)
from .downsample import DOWNSAMPLE_TYPES, build_downsample
from .stages import Bridge, FusionStage, TailStage
from .weight_init import init_fishnet_weights

__all__ = [
    'PreActBottleneck', 'bottleneck_width', 'channel_reduction', 'make_blocks',
    'DOWNSAMPLE_TYPES', 'build_downsample', 'Bridge', 'FusionStage',
    'TailStage', 'init_fishnet_weights'
]
