"""Runner checkpoints load safely under torch >= 2.6 once mmfishnet is
imported; bad files are refused with the file named."""
import json
import os
import pickle
from fractions import Fraction

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
from torch.utils.data import Dataset

import mmfishnet  # noqa: F401
from mmfishnet.checkpoint import (TRUST_ENV, CheckpointError,
                                  load_local_checkpoint, read_checkpoint,
                                  trust_checkpoints)


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=((out - torch.stack(labels))**2).mean())
        return out


class ToyDataset(Dataset):

    def __len__(self):
        return 16

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(2, generator=g),
                    labels=torch.randn(1, generator=g))


def make_runner(work_dir, name, max_iters, **kwargs):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=4,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        **kwargs)


def test_local_scheme_uses_the_safe_loader():
    assert CheckpointLoader._schemes[''] is load_local_checkpoint


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.pth does not exist'):
        _load_checkpoint(str(tmp_path / 'absent.pth'))


class RunsCode:
    """What a malicious checkpoint holds: unpickling it calls os.system."""

    def __reduce__(self):
        return (os.system, ('echo unpickling ran code',))


@pytest.fixture
def untrusted():
    before = os.environ.pop(TRUST_ENV, None)
    yield
    trust_checkpoints(False)
    if before is not None:
        os.environ[TRUST_ENV] = before


def test_a_pickle_that_runs_code_is_refused(tmp_path, untrusted):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': RunsCode()}, path)
    with pytest.raises(CheckpointError) as error:
        _load_checkpoint(str(path))
    message = str(error.value)
    assert str(path) in message and 'posix.system' in message
    assert TRUST_ENV in message and '--trust-checkpoint' in message


def test_the_trust_switch_allows_full_unpickling(tmp_path, untrusted):
    path = tmp_path / 'own.pth'
    torch.save({'state_dict': {}, 'extra': Fraction(1, 3)}, path)
    with pytest.raises(CheckpointError, match='fractions.Fraction'):
        read_checkpoint(str(path))
    trust_checkpoints()
    assert read_checkpoint(str(path))['extra'] == Fraction(1, 3)


@pytest.mark.parametrize('kind, content, expected', [
    ('empty', b'', 'empty'),
    ('json', json.dumps({'state_dict': {}}).encode(), 'JSON file'),
    ('html', b'<!DOCTYPE html><html>quota exceeded</html>', 'HTML'),
    ('text', b'not a checkpoint', 'not a PyTorch checkpoint'),
])
def test_files_that_are_no_checkpoint_are_named(tmp_path, kind, content,
                                                 expected):
    path = tmp_path / f'{kind}.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=expected) as error:
        _load_checkpoint(str(path))
    assert str(path) in str(error.value)


@pytest.mark.parametrize('zip_format', [True, False])
def test_a_truncated_checkpoint_is_named(tmp_path, zip_format):
    path = tmp_path / 'cut.pth'
    torch.save({'w': torch.ones(10000)}, path,
               _use_new_zipfile_serialization=zip_format)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='cut short') as error:
        _load_checkpoint(str(path))
    assert str(path) in str(error.value)


def test_runner_checkpoint_resumes_and_loads(tmp_path):
    runner = make_runner(tmp_path, 'first', max_iters=2)
    runner.train()
    ckpt = tmp_path / 'iter_2.pth'
    # torch's own default refuses the message hub that mmengine pickles;
    # the allowlist takes it without full unpickling
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt)
    assert read_checkpoint(str(ckpt), trusted=False)['meta']['iter'] == 2

    resumed = make_runner(
        tmp_path, 'resumed', max_iters=3, resume=True, load_from=str(ckpt))
    resumed.train()
    assert resumed.iter == 3
    saved = _load_checkpoint(str(ckpt))
    assert saved['meta']['iter'] == 2
    assert 'message_hub' in saved and 'optimizer' in saved

    loaded = make_runner(tmp_path, 'loaded', max_iters=2, load_from=str(ckpt))
    loaded.load_or_resume()
    torch.testing.assert_close(loaded.model.linear.weight,
                               saved['state_dict']['linear.weight'])
