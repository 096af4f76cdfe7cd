"""``import mmfishnet`` registers classes and changes nothing else in the
process: no other library's module attribute, checkpoint loader, file
backend, compiled op, registry entry, environment variable or torch setting
is different afterwards."""
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.compat

PROBE = r'''
import json, os, sys, warnings
import numpy, torch, torchvision
import mmcv, mmcv.ops, mmengine, mmengine.runner, mmengine.fileio
import mmdet, mmdet.models, mmdet.registry
import mmpretrain, mmpretrain.models, mmpretrain.registry
import mmseg, mmseg.datasets, mmseg.models, mmseg.registry
from mmcv.utils import ext_loader
from mmengine.fileio.backends import registry_utils
from mmengine.registry import Registry
from mmengine.runner.checkpoint import CheckpointLoader

PACKAGES = ('torch', 'torchvision', 'numpy', 'mmcv', 'mmengine', 'mmdet',
            'mmpretrain', 'mmseg')


def snapshot():
    modules = {
        name: dict(vars(module)) for name, module in list(sys.modules.items())
        if module is not None and name.split('.')[0] in PACKAGES
    }
    registries = {}
    for name, attrs in modules.items():
        for attr, value in attrs.items():
            if isinstance(value, Registry):
                registries[f'{name}.{attr}'] = dict(value._module_dict)
    ext = ext_loader.load_ext('_ext', [])
    return dict(
        modules=modules,
        registries=registries,
        schemes=dict(CheckpointLoader._schemes),
        backends=dict(registry_utils.backends),
        prefixes=dict(registry_utils.prefix_to_backends),
        ext={name: getattr(ext, name) for name in dir(ext)},
        env=dict(os.environ),
        torch_settings=(torch.get_default_dtype(), torch.get_num_threads(),
                        torch.are_deterministic_algorithms_enabled(),
                        torch.backends.cudnn.benchmark,
                        torch.backends.mkldnn.enabled,
                        torch.is_autocast_enabled(),
                        torch.get_float32_matmul_precision()),
        warning_filters=list(warnings.filters),
    )


def changed(before, after):
    found = []
    for name, attrs in before['modules'].items():
        now = after['modules'].get(name, {})
        found += [f'{name}.{attr}' for attr, value in attrs.items()
                  if attr in now and now[attr] is not value
                  and attr not in ('__warningregistry__', )]
    for name, entries in before['registries'].items():
        now = after['registries'][name]
        found += [f'registry {name}[{key!r}]' for key, value in
                  entries.items() if now.get(key) is not value]
    for key in ('schemes', 'backends', 'prefixes', 'ext', 'env',
                'torch_settings', 'warning_filters'):
        if before[key] != after[key]:
            found.append(key)
    return found


before = snapshot()
import mmfishnet  # noqa: E402
after = snapshot()
ours = sorted({key for name, entries in after['registries'].items()
               for key, value in entries.items()
               if getattr(value, '__module__', '').startswith('mmfishnet')})
print(json.dumps(dict(changed=changed(before, after), registered=ours)))
'''


def test_import_changes_nothing_but_registries():
    result = subprocess.run([sys.executable, '-c', PROBE],
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report['changed'] == []
    assert {
        'FishNet', 'FishNetClsHead', 'CheckpointSafetyHook',
        'ChannelsLastHook', 'MixedPrecisionOptimWrapper', 'AutocastValLoop',
        'TinyImageNet', 'CamVidDataset', 'ClassWeightedCrossEntropyLoss'
    } <= set(report['registered'])
