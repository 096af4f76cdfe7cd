"""Safe checkpoint loading and crash-safe saving for every run of the
project's configs: the launch tools add the registered hook, so that the
configs (and the fragment users merge) define no hooks of their own."""
import argparse

import pytest
from conftest import REPO
from mmengine.config import Config

CONFIGS = sorted(
    p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)

pytestmark = pytest.mark.compat


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_the_tools_run_every_config_with_the_checkpoint_safety_hook(
        path, monkeypatch):
    import sys
    monkeypatch.syspath_prepend(str(REPO / 'tools'))
    sys.modules.pop('launch_utils', None)
    from launch_utils import add_common_args, load_config
    parser = argparse.ArgumentParser()
    add_common_args(parser)
    args = parser.parse_args([str(path), '--work-dir', 'unused'])
    # the checks of the files to train with are not the subject here
    monkeypatch.setattr('launch_utils.check_pretrained_files', lambda cfg: 0)
    monkeypatch.setattr('launch_utils.check_dataset_files', lambda *a: 0)
    cfg = load_config(args, train=True)
    types = [hook['type'] for hook in cfg.get('custom_hooks', [])]
    assert types.count('CheckpointSafetyHook') == 1, types
    own = Config.fromfile(path).get('custom_hooks') or []
    assert 'CheckpointSafetyHook' not in [h['type'] for h in own]


def test_tools_add_the_hook_only_where_missing():
    from mmfishnet.runtime import add_checkpoint_safety_hook
    cfg = Config(dict(custom_hooks=[dict(type='EMAHook')]))
    add_checkpoint_safety_hook(cfg)
    assert [h['type']
            for h in cfg.custom_hooks] == ['EMAHook', 'CheckpointSafetyHook']
    own = Config(
        dict(custom_hooks=[
            dict(type='CheckpointSafetyHook', atomic_saving=False)
        ]))
    add_checkpoint_safety_hook(own)
    assert own.custom_hooks == [
        dict(type='CheckpointSafetyHook', atomic_saving=False)
    ]
