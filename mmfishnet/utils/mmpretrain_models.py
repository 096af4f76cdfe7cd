"""mmpretrain's models in an environment where they do not import.

mmpretrain 1.2.0 imports its multimodal models (BLIP, CLIP, LLaVA, ...)
whenever pycocotools and transformers >= 4.28 are installed. With
transformers 5 that import fails (``TypeError: NoneType takes no arguments``
from ``mmpretrain/models/multimodal/blip/language_model.py``: the
``transformers`` names it imports are gone), and with it every
``import mmpretrain.models``. mmdet needs pycocotools, so an ordinary
current environment (mmdet + transformers 5) has this problem, and it
reaches further than mmpretrain: with mmpretrain installed, ``mmdet.models``
imports ``mmpretrain.models`` (its ReID data preprocessor) and
``mmseg.models`` imports ``mmdet.models``, and neither catches a
``TypeError``.

FishNet itself does not need these models; the classifier head
:class:`~mmfishnet.models.heads.FishNetClsHead` (an mmpretrain head) and
the class-weighted loss (an mmseg loss) do. ``import mmfishnet`` therefore
does not import them where that is known to fail
(:func:`mmpretrain_models_problem`), and survives it where it fails for
another reason: it registers FishNet in every toolbox, warns once with the
cause and the remedy (configs would otherwise stop with mmpretrain's own
error deep in a registry look-up), and registers stand-ins for the two
classes that raise an ``ImportError`` with the same message when built.

The remedy that keeps transformers 5 is opt-in and narrow:
:func:`use_mmpretrain_without_multimodal` makes mmpretrain register its own
placeholders for the multimodal models instead of importing them (as it does
when transformers is absent), and then registers the real head and
loss. Every other mmpretrain model is unchanged. It must run
before anything imports ``mmpretrain.models``; ``MMFISHNET_MMPRETRAIN_
MULTIMODAL=0`` in the environment makes ``import mmfishnet`` call it first.
mmfishnet's tools (``tools/train.py``, ``tools/test.py``, the GPU acceptance)
set that variable; ``import mmfishnet`` alone changes nothing.
"""
import importlib
import importlib.util
import os
import sys
import traceback
from importlib import metadata
from typing import Optional

from packaging.version import Version

#: Opt-in through the environment, read by ``import mmfishnet``: ``0``
#: calls :func:`use_mmpretrain_without_multimodal` before anything imports
#: ``mmpretrain.models``.
SWITCH = 'MMFISHNET_MMPRETRAIN_MULTIMODAL'
REMEDY = (f'set {SWITCH}=0 before importing mmfishnet (mmfishnet\'s tools '
          'do), which keeps mmpretrain\'s multimodal models out, or pip '
          'install "transformers<5"')


def _version(name: str) -> Optional[Version]:
    try:
        return Version(metadata.version(name))
    except (metadata.PackageNotFoundError, ValueError):
        return None


def _multimodal_switched_off() -> bool:
    dependency = sys.modules.get('mmpretrain.utils.dependency')
    return dependency is not None and not dependency.WITH_MULTIMODAL


def mmpretrain_models_problem() -> Optional[str]:
    """Why ``import mmpretrain.models`` is known to fail here, found from
    the installed versions without importing it; ``None`` when no known
    problem applies (or the multimodal models are switched off)."""
    mmpretrain = _version('mmpretrain')
    transformers = _version('transformers')
    if (mmpretrain is None or transformers is None
            or _version('pycocotools') is None or _multimodal_switched_off()):
        return None
    if mmpretrain < Version('1.3') and transformers >= Version('5'):
        return (f'mmpretrain {mmpretrain} imports its multimodal models when '
                'pycocotools and transformers are installed, and they do not '
                f'import with transformers {transformers} (TypeError: '
                'NoneType takes no arguments, in mmpretrain/models/'
                'multimodal/blip/language_model.py)')
    return None


def describe_import_error(error: BaseException) -> str:
    """``Type: message (file:line)`` of the innermost frame of ``error``."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f' ({frames[-1].filename}:{frames[-1].lineno})' if frames else ''
    return f'{type(error).__name__}: {error}{where}'


def unavailable_message(problem: str) -> str:
    """What a user of mmpretrain's parts of mmfishnet reads when
    ``mmpretrain.models`` cannot be imported: the cause and the remedy."""
    return (
        f'mmpretrain.models cannot be imported here: {problem}. '
        'mmdet.models and mmseg.models import it too when mmpretrain is '
        'installed, so no mmpretrain, mmdet or mmseg model builds (FishNet '
        'is registered in all three; FishNetClsHead and '
        'ClassWeightedCrossEntropyLoss are not). Remedy: '
        f'{REMEDY}.')


def unavailable_part(name: str, problem: str):
    """A stand-in for mmfishnet's class ``name`` that is built on a
    toolbox's models that cannot be imported here: building it raises
    ``ImportError`` with the cause and the remedy."""

    def unavailable(*args, **kwargs):
        raise ImportError(f'{name}: {unavailable_message(problem)}')

    unavailable.__name__ = name
    return unavailable


def use_mmpretrain_without_multimodal() -> bool:
    """Let ``mmpretrain.models`` (and so ``mmdet.models`` and
    ``mmseg.models``) import where only mmpretrain's multimodal models stop
    it, and register the real ``FishNetClsHead`` and class-weighted loss.

    Sets mmpretrain's own switch (``mmpretrain.utils.dependency.
    WITH_MULTIMODAL``) to ``False`` before ``mmpretrain.models`` is
    imported, so that mmpretrain registers placeholders for BLIP, CLIP and
    the other multimodal models (building one says which extra to install),
    as it does when transformers is absent. Nothing changes where no known
    problem applies (:func:`mmpretrain_models_problem`).

    Returns:
        bool: whether the switch was set.

    Raises:
        RuntimeError: ``mmpretrain.models`` was already tried and failed in
            this process (call this first).
    """
    if mmpretrain_models_problem() is None:
        return False
    if (any(m.startswith('mmpretrain.models.') for m in sys.modules)
            and 'mmpretrain.models' not in sys.modules):
        raise RuntimeError(
            'use_mmpretrain_without_multimodal() comes too late: an import '
            'of mmpretrain.models has already failed in this process; call '
            'it before anything imports mmpretrain.models')
    importlib.import_module('mmpretrain.utils.dependency').WITH_MULTIMODAL = \
        False
    # registers FishNetClsHead and the loss, replacing the stand-ins that
    # import mmfishnet registered before
    importlib.import_module('mmfishnet.models.heads')
    if importlib.util.find_spec('mmseg') is not None:
        importlib.import_module('mmfishnet.models.losses')
    return True


def switched_on_by_environment() -> bool:
    """``MMFISHNET_MMPRETRAIN_MULTIMODAL=0``: see :data:`SWITCH`."""
    value = os.environ.get(SWITCH, '')
    if value not in ('', '0', '1'):
        raise ValueError(f'{SWITCH}={value!r}: use 0 (keep mmpretrain\'s '
                         'multimodal models out where they do not import) '
                         'or 1 / unset (leave mmpretrain as it is)')
    return value == '0'
