"""Datasets, each registered in the toolbox it belongs to when that toolbox
is installed: Tiny ImageNet (mmpretrain), CamVid (mmseg), BCCD (mmdet)."""
from importlib.util import find_spec

__all__ = []
if find_spec('mmpretrain') is not None:
    from .tiny_imagenet import TinyImageNet  # noqa: F401
    __all__.append('TinyImageNet')
if find_spec('mmseg') is not None:
    from .camvid import CamVidDataset  # noqa: F401
    __all__.append('CamVidDataset')
if find_spec('mmdet') is not None:
    from .bccd import BCCDDataset  # noqa: F401
    __all__.append('BCCDDataset')
