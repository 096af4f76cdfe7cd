"""FishNet (Sun et al., NeurIPS 2018) for MMDetection and MMPretrain.

``import mmfishnet`` (or ``custom_imports = dict(imports=['mmfishnet'])`` in a
config) registers the models, the mixed precision optimizer wrapper, loops and hooks
(:mod:`mmfishnet.engine`), makes mmengine load local checkpoints safely and
write them atomically (:mod:`mmfishnet.checkpoint`) and lets mmcv's CPU ops
take bf16 and channels_last tensors (:mod:`mmfishnet.engine.mmcv_ops`).
"""
from importlib.util import find_spec

from .checkpoint import (install_atomic_local_backend,
                         install_checkpoint_loader)
from .engine import *  # noqa: F401,F403 (registers optim wrapper, loops, hooks)
from .engine.mmcv_ops import install_cpu_op_guard
from .models import *  # noqa: F401,F403 (registers the models)
from .version import __version__

if find_spec('mmpretrain') is not None:
    from .datasets import TinyImageNet  # noqa: F401 (registers it)

install_checkpoint_loader()
install_atomic_local_backend()
install_cpu_op_guard()

__all__ = ['__version__']
