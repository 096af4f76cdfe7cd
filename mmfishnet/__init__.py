"""FishNet (Sun et al., NeurIPS 2018) for MMDetection and MMPretrain.

``import mmfishnet`` (or ``custom_imports = dict(imports=['mmfishnet'])`` in a
config) registers the models and installs the trusted local checkpoint loader
(see :mod:`mmfishnet.checkpoint`).
"""
from .checkpoint import install_trusted_local_loader
from .models import *  # noqa: F401,F403 (registers the models)
from .version import __version__

install_trusted_local_loader()

__all__ = ['__version__']
