"""The config rewrites behind the tools' speed options."""
import pytest
from mmengine.config import Config

from mmfishnet.runtime import enable_compile, set_memory_format


def hook_types(cfg):
    return [h['type'] for h in cfg.get('custom_hooks', [])]


def test_compile_for_training_compiles_the_loss_not_the_train_step():
    cfg = Config(dict(custom_hooks=[dict(type='CheckpointSafetyHook')]))
    enable_compile(cfg)
    enable_compile(cfg)  # added once
    assert hook_types(cfg) == ['CheckpointSafetyHook', 'CompileLossHook']
    assert cfg.get('compile') is None  # mmengine's compiles the optimizer step


def test_compile_for_testing_compiles_the_test_step():
    cfg = Config(dict())
    enable_compile(cfg, train=False)
    assert hook_types(cfg) == ['CompileTestStepHook']


def test_memory_format_adds_or_removes_the_channels_last_hook():
    cfg = Config(dict())
    set_memory_format(cfg, 'channels_last')
    assert hook_types(cfg) == ['ChannelsLastHook']
    set_memory_format(cfg, 'contiguous')
    assert hook_types(cfg) == []
    with pytest.raises(ValueError, match='memory format must be one of'):
        set_memory_format(cfg, 'nhwc')
