from .bottleneck import PreActBottleneck, channel_reduction, make_blocks
from .stages import Bridge, FusionStage, TailStage
from .weight_init import init_fishnet_weights

__all__ = [
    'PreActBottleneck', 'channel_reduction', 'make_blocks', 'Bridge',
    'FusionStage', 'TailStage', 'init_fishnet_weights'
]
