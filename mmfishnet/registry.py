"""Registration of mmfishnet's models in every installed OpenMMLab ``MODELS``.

``type='FishNet'`` then works in mmdet configs (scope ``mmdet``), mmpretrain
configs (scope ``mmpretrain``) and mmseg configs (scope ``mmseg``), and
``type='mmpretrain.FishNet'`` from any scope. Importing mmfishnet needs at
least one of mmdet and mmpretrain.
"""
import importlib
from typing import List

from mmengine.registry import Registry

#: The toolboxes whose ``MODELS`` FishNet is registered in.
SCOPES = ('mmdet', 'mmpretrain', 'mmseg')


def _installed_registries() -> List[Registry]:
    registries = []
    for scope in SCOPES:
        try:
            registries.append(
                importlib.import_module(f'{scope}.registry').MODELS)
        except ImportError:
            continue
    return registries


MODEL_REGISTRIES = _installed_registries()
if not MODEL_REGISTRIES:
    raise ImportError('mmfishnet needs mmdet or mmpretrain (or both): '
                      'pip install mmdet==3.3.0 mmpretrain==1.2.0')


def register_model(cls: type) -> type:
    """Class decorator: register ``cls`` in every installed ``MODELS``."""
    for registry in MODEL_REGISTRIES:
        registry.register_module(module=cls)
    return cls
