"""A two-weight model trained by a real mmengine Runner, for checkpoint
tests. As a script it writes the small Runner checkpoints kept in
tests/data/checkpoints, one per end of the supported range:

    python tests/test_checkpoint/toy_runner.py tests/data/checkpoints

(run once with the newest and once with the oldest stack; the file name
records the torch and numpy that wrote it).
"""
import os.path as osp
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.registry import METRICS
from mmengine.runner import Runner
from torch.utils.data import Dataset


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=((out - torch.stack(labels))**2).mean())
        if mode == 'predict':
            return list(out)
        return out


class ToyDataset(Dataset):

    def __len__(self):
        return 16

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(
            inputs=torch.randn(2, generator=g),
            labels=torch.randn(1, generator=g))


@METRICS.register_module(force=True)
class ToyMeanOutput(BaseMetric):
    """The mean prediction, so that a test run has a metric."""

    def process(self, data_batch, data_samples) -> None:
        self.results += [float(output) for output in data_samples]

    def compute_metrics(self, results) -> dict:
        return dict(mean_output=sum(results) / len(results))


def toy_dataloader() -> dict:
    return dict(
        dataset=ToyDataset(),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=4,
        num_workers=0)


def make_runner(work_dir, name, max_iters, **kwargs):
    """A Runner that trains :class:`ToyModel` for ``max_iters`` iterations
    and saves a checkpoint after each."""
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=toy_dataloader(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(
            type='MultiStepLR', milestones=[1], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        **kwargs)


def stack_checkpoint_name() -> str:
    """``runner_torch<version>_numpy<version>.pth`` for this stack."""
    torch_release = torch.__version__.split('+')[0]
    return f'runner_torch{torch_release}_numpy{np.__version__}.pth'


def main(out_dir: str) -> str:
    with tempfile.TemporaryDirectory() as work_dir:
        make_runner(work_dir, 'stack', max_iters=2).train()
        out = osp.join(out_dir, stack_checkpoint_name())
        shutil.copyfile(osp.join(work_dir, 'iter_2.pth'), out)
    print(out)
    return out


if __name__ == '__main__':
    main(sys.argv[1])
