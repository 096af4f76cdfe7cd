"""mmpretrain's models in an environment where they do not import.

mmpretrain 1.2 imports its multimodal models (BLIP, CLIP, LLaVA, ...)
whenever pycocotools and transformers >= 4.28 are installed (its own
``WITH_MULTIMODAL``). Its BLIP language model imports helpers from
``transformers.modeling_utils`` that transformers 5 no longer has; it then
fails with ``TypeError: NoneType takes no arguments``, and with it every
``import mmpretrain.models``. mmdet needs pycocotools, so an ordinary current
environment (mmdet + transformers 5) has this problem, and it reaches
further than mmpretrain: with mmpretrain installed, ``mmdet.models`` imports
``mmpretrain.models`` (its ReID data preprocessor) and ``mmseg.models``
imports ``mmdet.models``, and neither catches a ``TypeError``.

FishNet itself does not need these models; the classifier head
:class:`~mmfishnet.models.heads.FishNetClsHead` (an mmpretrain head), the
class-weighted loss (an mmseg loss) and the RoI extractor (an mmdet one) do.
Where :func:`mmpretrain_models_problem` finds the condition above,
``import mmfishnet`` does not import them: it registers FishNet in every
toolbox, warns once with the cause and the remedy (configs would otherwise
stop with mmpretrain's own error deep in a registry look-up), and registers
stand-ins for those classes that raise an ``ImportError`` with the same
message when built.

The remedy that keeps transformers 5 is opt-in and narrow:
:func:`use_mmpretrain_without_multimodal` makes mmpretrain register its own
placeholders for the multimodal models instead of importing them (as it does
when transformers is absent), and then registers the real classes. Every
other mmpretrain model is unchanged. It must run before anything imports
``mmpretrain.models``. mmfishnet's tools call it first thing in ``main()``;
for other launchers (mmdet's or mmpretrain's ``tools/train.py`` with
``custom_imports``), ``MMFISHNET_SKIP_MMPRETRAIN_MULTIMODAL=1`` in the
environment makes ``import mmfishnet`` call it. ``import mmfishnet`` alone
changes nothing.
"""
import importlib
import os
import sys
from typing import List, Optional

from packaging.version import Version

from .stack import installed_version

#: Opt-in through the environment, read by ``import mmfishnet``: ``1``
#: calls :func:`use_mmpretrain_without_multimodal` before anything imports
#: ``mmpretrain.models``.
SWITCH = 'MMFISHNET_SKIP_MMPRETRAIN_MULTIMODAL'
REMEDY = (f'set {SWITCH}=1 in the environment (mmfishnet\'s tools skip '
          'them themselves), which keeps mmpretrain\'s multimodal models '
          'out, or pip install "transformers<5"')

#: What mmpretrain 1.2's BLIP language model
#: (``mmpretrain/models/multimodal/blip/language_model.py``) imports from
#: transformers: module -> names.
BLIP_NEEDS = {
    'transformers.activations': ('ACT2FN', ),
    'transformers.modeling_outputs':
    ('BaseModelOutputWithPastAndCrossAttentions',
     'BaseModelOutputWithPoolingAndCrossAttentions',
     'CausalLMOutputWithCrossAttentions'),
    'transformers.modeling_utils':
    ('PreTrainedModel', 'apply_chunking_to_forward',
     'find_pruneable_heads_and_indices', 'prune_linear_layer'),
    'transformers.models.bert.configuration_bert': ('BertConfig', ),
}


def _multimodal_wanted() -> bool:
    """mmpretrain's own rule for importing its multimodal models
    (``mmpretrain.utils.dependency.WITH_MULTIMODAL``), read from the
    installed versions without importing mmpretrain; ``False`` once
    :func:`use_mmpretrain_without_multimodal` has switched it off."""
    dependency = sys.modules.get('mmpretrain.utils.dependency')
    if dependency is not None:
        return dependency.WITH_MULTIMODAL
    transformers = installed_version('transformers')
    return (installed_version('pycocotools') is not None
            and transformers is not None
            and Version(transformers) >= Version('4.28.0'))


def missing_blip_names() -> List[str]:
    """The names of :data:`BLIP_NEEDS` the installed transformers lacks,
    as ``module.name``; a module that fails to import lacks all of its
    names (BLIP's import catches every error too)."""
    missing = []
    for module_name, names in BLIP_NEEDS.items():
        try:
            module = importlib.import_module(module_name)
        except Exception:  # what BLIP's own bare ``except`` swallows
            module = None
        missing += [
            f'{module_name}.{name}' for name in names
            if not hasattr(module, name)
        ]
    return missing


def mmpretrain_models_problem() -> Optional[str]:
    """Why ``import mmpretrain.models`` fails here, found by checking what
    its BLIP language model imports (without importing mmpretrain's
    models); ``None`` when it does not apply: mmpretrain is absent, its
    multimodal models are not imported, or transformers has every name."""
    mmpretrain = installed_version('mmpretrain')
    if mmpretrain is None or not _multimodal_wanted():
        return None
    missing = missing_blip_names()
    if not missing:
        return None
    return (f'mmpretrain {mmpretrain} imports its multimodal models when '
            'pycocotools and transformers >= 4.28 are installed, and its BLIP '
            f'language model needs {", ".join(missing)}, which transformers '
            f'{installed_version("transformers")} does not have (TypeError: '
            'NoneType takes no arguments, in mmpretrain/models/multimodal/'
            'blip/language_model.py)')


def unavailable_message(problem: str) -> str:
    """What a user of mmpretrain's parts of mmfishnet reads when
    ``mmpretrain.models`` cannot be imported: the cause and the remedy."""
    return (
        f'mmpretrain.models cannot be imported here: {problem}. '
        'mmdet.models and mmseg.models import it too when mmpretrain is '
        'installed, so no mmpretrain, mmdet or mmseg model builds (FishNet '
        'is registered in all three; FishNetClsHead, '
        'ClassWeightedCrossEntropyLoss and SeparableRoIExtractor are not). '
        f'Remedy: {REMEDY}.')


def unavailable_part(name: str, problem: str):
    """A stand-in for mmfishnet's class ``name`` where the toolbox models
    it is built on cannot be imported: building it raises ``ImportError``
    with the cause and the remedy. :func:`is_unavailable_part` tells it
    from a real class."""

    def unavailable(*args, **kwargs):
        raise ImportError(f'{name}: {unavailable_message(problem)}')

    unavailable.__name__ = name
    unavailable.unavailable_because = problem
    return unavailable


def is_unavailable_part(registered) -> bool:
    """Whether ``registered`` is a stand-in of :func:`unavailable_part`."""
    return hasattr(registered, 'unavailable_because')


def use_mmpretrain_without_multimodal() -> bool:
    """Let ``mmpretrain.models`` (and so ``mmdet.models`` and
    ``mmseg.models``) import where only mmpretrain's multimodal models stop
    it, and register mmfishnet's classes built on them.

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
    # replaces the stand-ins that import mmfishnet registered before
    importlib.import_module('mmfishnet.models').register_optional_parts()
    return True


def switched_on_by_environment() -> bool:
    """``MMFISHNET_SKIP_MMPRETRAIN_MULTIMODAL=1``: see :data:`SWITCH`."""
    value = os.environ.get(SWITCH, '')
    if value not in ('', '0', '1'):
        raise ValueError(f'{SWITCH}={value!r}: use 1 (skip mmpretrain\'s '
                         'multimodal models where they do not import) or '
                         '0 / unset (leave mmpretrain as it is)')
    return value == '1'
