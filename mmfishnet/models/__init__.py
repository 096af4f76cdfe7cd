from importlib.util import find_spec

from .backbones import FishNet

__all__ = ['FishNet']

# The classifier head is an mmpretrain head, the loss an mmseg loss;
# detection works without either.
if find_spec('mmpretrain') is not None:
    from .heads import FishNetClsHead  # noqa: F401
    __all__.append('FishNetClsHead')
if find_spec('mmseg') is not None:
    from .losses import ClassWeightedCrossEntropyLoss  # noqa: F401
    __all__.append('ClassWeightedCrossEntropyLoss')
