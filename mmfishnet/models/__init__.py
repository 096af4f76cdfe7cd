import importlib
import warnings
from importlib.util import find_spec

from ..utils.mmpretrain_models import (is_unavailable_part,
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


def register_optional_parts() -> None:
    """Import each part whose toolbox is installed, which registers it.

    Where ``mmpretrain.models`` is known not to import
    (:func:`~mmfishnet.utils.mmpretrain_models.mmpretrain_models_problem`),
    register a stand-in that says why when it is built, and warn once; a
    later call, once the problem is gone, replaces the stand-ins by the real
    classes. An error raised by an import that is not known to fail, the
    toolbox's or mmfishnet's own, is raised as itself.
    """
    problem = mmpretrain_models_problem()
    for module, name, toolbox in OPTIONAL_PARTS:
        if find_spec(toolbox) is None:
            continue
        registry = importlib.import_module(f'{toolbox}.registry').MODELS
        # not registry.get(): a miss there imports the toolbox's models
        registered = registry._module_dict.get(name)
        if problem is None:
            if is_unavailable_part(registered):
                registry._module_dict.pop(name)  # only our own stand-in
            part = importlib.import_module(f'{__name__}.{module}')
            globals()[name] = getattr(part, name)
            if name not in __all__:
                __all__.append(name)
        elif not is_unavailable_part(registered):
            registry.register_module(
                name=name, module=unavailable_part(name, problem))
    if problem is not None:
        warnings.warn(unavailable_message(problem), stacklevel=3)


if switched_on_by_environment():
    use_mmpretrain_without_multimodal()
register_optional_parts()
