from .separable_roi_extractor import SeparableRoIExtractor

__all__ = ['SeparableRoIExtractor']
