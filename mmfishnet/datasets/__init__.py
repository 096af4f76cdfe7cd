from .tiny_imagenet import TinyImageNet

__all__ = ['TinyImageNet']
