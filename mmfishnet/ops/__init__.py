"""Operators that replace slow CPU kernels of mmcv with the same results."""
from .roi_align import SeparableRoIAlign, roi_align_separable

__all__ = ['SeparableRoIAlign', 'roi_align_separable']
