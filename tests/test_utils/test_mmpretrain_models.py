"""``import mmfishnet`` where ``mmpretrain.models`` does not import.

A stand-in transformers 5 (a package whose metadata says 5.17.0 and that
lacks what mmpretrain 1.2's BLIP language model imports) breaks
``import mmpretrain.models`` the way the real one does, in a fresh
interpreter: ``TypeError: NoneType takes no arguments``. The real
transformers 5 runs in CI's rehearsal of the GPU install
(tools/gpu/rehearse_on_cpu.sh)."""
import importlib
import json
import os
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from types import SimpleNamespace

import pytest
from conftest import REPO

from mmfishnet.utils import mmpretrain_models

# the stand-in replaces transformers only where none is installed (the real
# transformers 5 is tested by the GPU-install rehearsal)
needs_stand_in_transformers = pytest.mark.skipif(
    find_spec('pycocotools') is None or find_spec('transformers') is not None,
    reason='needs pycocotools and no real transformers (a stand-in takes '
    'its place)')

STAND_IN = {
    # every name transformers exports, as a class of its own ...
    '__init__.py':
    """
__version__ = '{version}'


def __getattr__(name):
    if name.startswith('__'):
        raise AttributeError(name)
    from transformers.models.auto.auto_factory import (_BaseAutoModelClass,
                                                       _Exported)
    base = _BaseAutoModelClass if name.startswith('AutoModel') else _Exported
    globals()[name] = type(name, (base, ), {{}})
    return globals()[name]
""",
    'activations.py':
    'from transformers import __getattr__  # noqa\n',
    'modeling_outputs.py':
    'from transformers import __getattr__  # noqa\n',
    # ... except the helpers that transformers 5 dropped from modeling_utils
    # and mmpretrain's BLIP language model imports
    'modeling_utils.py':
    'from transformers import PreTrainedModel  # noqa\n',
    'models/__init__.py':
    '',
    'models/auto/__init__.py':
    '',
    'models/auto/auto_factory.py':
    """
class _Exported:

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        raise OSError('a stand-in transformers has no models')

    from_config = from_pretrained


class _BaseAutoModelClass(_Exported):
    pass
""",
    'models/bert/__init__.py':
    '',
    'models/bert/configuration_bert.py':
    'from transformers import __getattr__  # noqa\n',
}


def stand_in(root, version):
    """A ``transformers`` of ``version`` that has what the rest of
    mmpretrain imports from it and lacks what its BLIP language model
    imports."""
    for name, text in STAND_IN.items():
        path = root / 'transformers' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            text.format(version=version) if name == '__init__.py' else text)
    info = root / f'transformers-{version}.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: transformers\nVersion: {version}\n')
    return root


@pytest.fixture(scope='module')
def transformers_5(tmp_path_factory):
    return stand_in(tmp_path_factory.mktemp('transformers5'), '5.17.0')


def run(code, transformers_5, **env):
    """Run ``code`` in a fresh interpreter with the stand-in first on the
    path and no switch but ``env``'s; what it prints last is JSON."""
    environ = dict(os.environ)
    environ.pop(mmpretrain_models.SWITCH, None)
    result = subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(
            environ,
            PYTHONPATH=os.pathsep.join([str(transformers_5),
                                        str(REPO)]),
            **env))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@needs_stand_in_transformers
def test_the_stand_in_breaks_mmpretrain_models_as_transformers_5_does(
        transformers_5):
    out, _ = run(
        """
        import json
        try:
            import mmpretrain.models
            error = None
        except TypeError as e:
            error = str(e)
        print(json.dumps(error))
        """, transformers_5)
    assert out == 'NoneType takes no arguments'


REGISTERED = """
import json, sys
import mmfishnet
from mmdet.registry import MODELS as DET
from mmseg.registry import MODELS as SEG
from mmpretrain.registry import MODELS as PRE
from mmfishnet.models import FishNet
registered = [reg._module_dict['FishNet'] is FishNet
              for reg in (DET, SEG, PRE)]
backbone = FishNet(arch='fishnet99')
messages = []
for registry, part in ((PRE, 'FishNetClsHead'),
                       (SEG, 'ClassWeightedCrossEntropyLoss')):
    registered_part = registry._module_dict[part]
    if isinstance(registered_part, type):  # the class itself
        messages.append(None)
        continue
    try:
        registered_part()
    except ImportError as e:
        messages.append(str(e))
print(json.dumps(dict(
    registered=registered, backbone=type(backbone).__name__,
    message=messages[0], loss=messages[1],
    tried=any(m.startswith('mmpretrain.models.') for m in sys.modules))))
"""


@needs_stand_in_transformers
def test_fishnet_is_registered_and_the_head_says_why_it_is_not(transformers_5):
    out, stderr = run(REGISTERED, transformers_5)
    assert out['registered'] == [True, True, True]
    assert out['backbone'] == 'FishNet'
    assert not out['tried']  # a known problem: not even tried
    for part in ('transformers 5.17.0', 'NoneType takes no arguments',
                 'transformers.modeling_utils.apply_chunking_to_forward',
                 'mmdet.models and mmseg.models import it',
                 'MMFISHNET_SKIP_MMPRETRAIN_MULTIMODAL=1', 'transformers<5'):
        assert part in out['message']
    assert out['loss'].startswith('ClassWeightedCrossEntropyLoss: ')
    # the same message once, as a warning, at import
    assert stderr.count('mmpretrain.models cannot be imported here') == 1


@pytest.mark.parametrize('has_helpers', [False, True])
def test_the_condition_is_what_blip_imports_not_a_version(
        monkeypatch, has_helpers):
    """The problem is the names BLIP imports that transformers lacks, not
    a version: a transformers 5 that has them all is no problem."""
    from mmpretrain.utils import dependency
    versions = dict(
        mmpretrain='1.2.0', pycocotools='2.0.8', transformers='5.17.0')
    monkeypatch.setattr(mmpretrain_models, 'installed_version', versions.get)
    monkeypatch.setattr(dependency, 'WITH_MULTIMODAL', True)
    helpers = ('apply_chunking_to_forward', 'find_pruneable_heads_and_indices',
               'prune_linear_layer')
    real_import = importlib.import_module

    def import_module(name, *args):
        if not name.startswith('transformers'):
            return real_import(name, *args)
        names = mmpretrain_models.BLIP_NEEDS[name]
        if name == 'transformers.modeling_utils' and not has_helpers:
            names = [n for n in names if n not in helpers]
        return SimpleNamespace(**dict.fromkeys(names))

    monkeypatch.setattr(importlib, 'import_module', import_module)
    missing = mmpretrain_models.missing_blip_names()
    problem = mmpretrain_models.mmpretrain_models_problem()
    if has_helpers:
        assert missing == [] and problem is None
    else:
        assert missing == [
            f'transformers.modeling_utils.{name}' for name in helpers
        ]
        assert 'transformers 5.17.0 does not have' in problem
    # mmpretrain's own rule off: no problem whatever transformers lacks
    monkeypatch.setattr(dependency, 'WITH_MULTIMODAL', False)
    assert mmpretrain_models.mmpretrain_models_problem() is None


BROKEN_OWN_PART = """
import importlib.abc, importlib.util, json, sys


class BrokenHeads(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    # mmfishnet.models.heads as if its file had a NameError

    def find_spec(self, name, path=None, target=None):
        if name == 'mmfishnet.models.heads':
            return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise NameError("name 'ClsHaed' is not defined")


sys.meta_path.insert(0, BrokenHeads())
try:
    import mmfishnet
    error = None
except NameError as e:
    error = str(e)
print(json.dumps(error))
"""


def test_an_error_in_mmfishnet_itself_is_raised_as_itself(tmp_path):
    """Not turned into a warning that blames transformers: the real error
    stops ``import mmfishnet``."""
    out, stderr = run(BROKEN_OWN_PART, tmp_path)
    assert out == "name 'ClsHaed' is not defined"
    assert 'cannot be imported here' not in stderr


@needs_stand_in_transformers
def test_the_switch_lets_the_toolboxes_and_the_classifier_build(
        transformers_5):
    out, stderr = run(
        """
        import json
        import mmfishnet
        from mmengine.config import Config
        from mmpretrain.registry import MODELS
        from mmpretrain.utils import dependency
        from mmfishnet.models import (ClassWeightedCrossEntropyLoss,
                                      FishNetClsHead)
        from mmseg.registry import MODELS as SEG
        import mmdet.models, mmseg.models  # both import mmpretrain.models
        cfg = Config.fromfile('configs/fishnet99_8xb32_in1k.py')
        cfg.model.backbone.init_cfg = None
        model = MODELS.build(cfg.model)
        try:
            MODELS.build(dict(type='BlipCaption'))
            blip = None
        except ImportError as e:
            blip = str(e)
        loss = SEG.build(dict(type='ClassWeightedCrossEntropyLoss',
                              class_weight=[1.0, 2.0]))
        print(json.dumps(dict(
            head=type(model.head) is FishNetClsHead,
            loss=type(loss) is ClassWeightedCrossEntropyLoss,
            multimodal=dependency.WITH_MULTIMODAL, blip=blip)))
        """,
        transformers_5,
        MMFISHNET_SKIP_MMPRETRAIN_MULTIMODAL='1')
    assert out['head'] and out['loss'] and out['multimodal'] is False
    assert 'multi-modal dependencies' in out['blip']
    assert 'cannot be imported here' not in stderr


def test_nothing_changes_where_no_problem_applies():
    """In this environment (no transformers 5) the switch does nothing."""
    from mmpretrain.utils import dependency
    before = dependency.WITH_MULTIMODAL
    assert mmpretrain_models.mmpretrain_models_problem() is None
    assert mmpretrain_models.use_mmpretrain_without_multimodal() is False
    assert dependency.WITH_MULTIMODAL is before


def test_a_bad_switch_value_is_refused(monkeypatch):
    monkeypatch.setenv(mmpretrain_models.SWITCH, 'yes')
    with pytest.raises(ValueError, match="use 1 .* or 0 / unset"):
        mmpretrain_models.switched_on_by_environment()
    monkeypatch.setenv(mmpretrain_models.SWITCH, '0')
    assert not mmpretrain_models.switched_on_by_environment()
    monkeypatch.setenv(mmpretrain_models.SWITCH, '1')
    assert mmpretrain_models.switched_on_by_environment()
