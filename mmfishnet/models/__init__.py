import importlib
import warnings
from importlib.util import find_spec

from ..utils.mmpretrain_models import (describe_import_error,
                                       mmpretrain_models_problem,
                                       switched_on_by_environment,
                                       unavailable_message, unavailable_part,
                                       use_mmpretrain_without_multimodal)
from .backbones import FishNet

__all__ = ['FishNet']

#: The parts built on a toolbox's models: module, class, toolbox. FishNet
#: itself needs neither; mmseg.models imports mmdet.models, which imports
#: mmpretrain.models when mmpretrain is installed.
OPTIONAL_PARTS = (('heads', 'FishNetClsHead', 'mmpretrain'),
                  ('losses', 'ClassWeightedCrossEntropyLoss', 'mmseg'),
                  ('roi_extractors', 'SeparableRoIExtractor', 'mmdet'))


def _register_optional_parts() -> None:
    """Import each part whose toolbox is installed. Where
    ``mmpretrain.models`` is known not to import, or a part's import fails,
    register a stand-in that says why when it is built, and warn once (see
    :mod:`mmfishnet.utils.mmpretrain_models`)."""
    if switched_on_by_environment():
        use_mmpretrain_without_multimodal()
    known = mmpretrain_models_problem()
    problems = []
    for module, name, toolbox in OPTIONAL_PARTS:
        if find_spec(toolbox) is None:
            continue
        problem = known
        if problem is None:
            try:
                part = importlib.import_module(f'{__name__}.{module}')
                globals()[name] = getattr(part, name)
                __all__.append(name)
                continue
            except Exception as e:  # any error inside the toolbox's import
                problem = describe_import_error(e)
        problems.append(problem)
        registry = importlib.import_module(f'{toolbox}.registry').MODELS
        registry.register_module(
            name=name, module=unavailable_part(name, problem), force=True)
    if problems:
        warnings.warn(unavailable_message(problems[0]), stacklevel=3)


_register_optional_parts()
