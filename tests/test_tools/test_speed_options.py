"""tools/train.py and tools/test.py with --amp, channels_last (default),
--fuse-conv-bn and --memory-format, end to end on a folder dataset."""
import re

import pytest
from conftest import REPO, run_tool_main, write_pattern_dataset

from mmfishnet.engine import cpu_supports_bf16

CONFIG = '''
_base_ = ['{repo}/configs/fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py']
num_classes = 4
model = dict(backbone=dict(widen_factor=0.25), head=dict(num_classes=4,
             in_channels=528))
data_preprocessor = dict(num_classes=4, to_rgb=True)
pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=32),
            dict(type='PackInputs')]
loader = dict(batch_size=16, num_workers=0, persistent_workers=False,
              dataset=dict(_delete_=True, type='CustomDataset',
                           data_root='{root}', data_prefix='train',
                           pipeline=pipeline))
train_dataloader = loader
val_dataloader = loader
test_dataloader = loader
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=8,
                 val_interval=8)
param_scheduler = dict(_delete_=True, type='ConstantLR', factor=1.0)
default_hooks = dict(checkpoint=dict(interval=8, by_epoch=False),
                     logger=dict(interval=2))
log_processor = dict(by_epoch=False)
'''


def run(tool, *args, cwd, monkeypatch):
    """``python tools/<tool> ARGS`` in ``cwd``, in this process; the log it
    wrote under its ``--work-dir``."""
    monkeypatch.chdir(cwd)
    run_tool_main(REPO / 'tools' / tool, args, monkeypatch)
    work_dir = cwd / args[args.index('--work-dir') + 1]
    return max(work_dir.glob('*/*.log')).read_text()


def top1(log):
    return float(re.findall(r'accuracy/top1: ([\d.]+)', log)[-1])


@pytest.mark.skipif(not cpu_supports_bf16(), reason='no native bf16 CPU')
def test_amp_training_and_inference_tools(tmp_path, monkeypatch):
    write_pattern_dataset(tmp_path / 'data', per_class=8, size=32)
    config = tmp_path / 'cfg.py'
    config.write_text(CONFIG.format(repo=REPO, root=tmp_path / 'data'))
    log = run(
        'train.py',
        config,
        '--amp',
        '--work-dir',
        'work',
        cwd=tmp_path,
        monkeypatch=monkeypatch)
    assert 'mixed precision training: torch.bfloat16 autocast on cpu' in log
    assert 'model and inputs in channels_last memory format' in log
    ckpt = tmp_path / 'work' / 'iter_8.pth'
    assert ckpt.is_file()

    fp32 = run(
        'test.py',
        config,
        ckpt,
        '--memory-format',
        'contiguous',
        '--work-dir',
        'test_fp32',
        cwd=tmp_path,
        monkeypatch=monkeypatch)
    assert 'channels_last' not in fp32
    bf16 = run(
        'test.py',
        config,
        ckpt,
        '--amp',
        '--fuse-conv-bn',
        '--work-dir',
        'test_bf16',
        cwd=tmp_path,
        monkeypatch=monkeypatch)
    assert re.search(r'fused \d+ of \d+ BatchNorm layers', bf16)
    # 32 images: the same predictions up to at most one that flips
    assert abs(top1(bf16) - top1(fp32)) <= 100 / 32 + 1e-6


def test_amp_dtype_needs_amp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        run_tool_main(REPO / 'tools' / 'train.py', [
            REPO / 'configs' / 'fishnet99_8xb32_in1k.py', '--amp-dtype',
            'bfloat16'
        ], monkeypatch)
    assert stop.value.code == '--amp-dtype needs --amp'
