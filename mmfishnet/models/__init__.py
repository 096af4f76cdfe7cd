from importlib.util import find_spec

from .backbones import FishNet

__all__ = ['FishNet']

# The classifier head is an mmpretrain head; detection works without it.
if find_spec('mmpretrain') is not None:
    from .heads import FishNetClsHead  # noqa: F401
    __all__.append('FishNetClsHead')
