"""Every config of the project switches on safe checkpoint loading and
crash-safe saving for its runs, through the registered hook."""
import pytest
from conftest import REPO
from mmengine.config import Config

CONFIGS = sorted(
    p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)

pytestmark = pytest.mark.compat


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_config_runs_with_the_checkpoint_safety_hook(path):
    cfg = Config.fromfile(path)
    types = [hook['type'] for hook in cfg.get('custom_hooks', [])]
    assert types.count('CheckpointSafetyHook') == 1, types


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
