"""FishNet (Sun et al., NeurIPS 2018) for MMDetection, MMPretrain and
MMSegmentation.

``import mmfishnet`` (or ``custom_imports = dict(imports=['mmfishnet'])`` in a
config) checks that the installed torch, numpy and OpenMMLab packages are in
the supported range and registers mmfishnet's classes: the models, the mixed
precision optimizer wrapper, loops and hooks (:mod:`mmfishnet.engine`) and
datasets. It changes nothing else in the process. The behaviour changes that
some features need (safe checkpoint loading and atomic saving for mmengine,
mmcv CPU ops under bf16/channels_last) are switched on explicitly and only
for as long as needed; see :mod:`mmfishnet.utils.process_patch`.
"""
from .utils.stack import check_supported_stack

check_supported_stack()

# registers the datasets of the installed toolboxes
from . import datasets  # noqa: F401,E402
# registers the optimizer wrapper, loops and hooks
from .engine import *  # noqa: F401,F403,E402
from .models import *  # noqa: F401,F403,E402 (registers the models)
from .version import __version__  # noqa: E402

__all__ = ['__version__']
