"""Runner checkpoints load under torch >= 2.6 once mmfishnet is imported."""
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
from torch.utils.data import Dataset

import mmfishnet  # noqa: F401
from mmfishnet.checkpoint import load_from_trusted_local


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


def test_local_scheme_uses_the_trusted_loader():
    assert CheckpointLoader._schemes[''] is load_from_trusted_local


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='can not be found'):
        _load_checkpoint(str(tmp_path / 'absent.pth'))


def test_runner_checkpoint_resumes_and_loads(tmp_path):
    runner = make_runner(tmp_path, 'first', max_iters=2)
    runner.train()
    ckpt = tmp_path / 'iter_2.pth'
    # torch's own default refuses the message hub that mmengine pickles
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt)

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
