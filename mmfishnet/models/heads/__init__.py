from .fishnet_cls_head import FishNetClsHead

__all__ = ['FishNetClsHead']
