from .fishnet import FishNet

__all__ = ['FishNet']
