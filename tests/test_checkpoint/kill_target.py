"""A training run that saves a checkpoint every iteration, for the SIGKILL
test: forked by it, or ``python kill_target.py WORK_DIR MAX_ITERS``.
Resumes from the newest complete checkpoint of WORK_DIR, prints ``resumed
<iter>`` and then ``training`` once the first iteration starts. Its
checkpoints are written and read through ``CheckpointSafetyHook``, as the
project's configs do."""
import sys

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmfishnet  # noqa: F401 (registers CheckpointSafetyHook)
from mmfishnet.checkpoint import newest_complete_checkpoint


class WideModel(BaseModel):
    """Big enough (2.3 M weights, ~27 MB with momentum) that saving takes
    most of each iteration."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1500, 1500)

    def forward(self, inputs, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return dict(loss=out.square().mean()) if mode == 'loss' else out


class Inputs(Dataset):
    """Long enough that no epoch ends (mmengine sleeps 2 s at each end)."""

    def __len__(self):
        return 10**6

    def __getitem__(self, i):
        return dict(
            inputs=torch.randn(
                1500, generator=torch.Generator().manual_seed(i)))


class SayTraining(Hook):

    def before_train(self, runner):
        print(f'resumed {runner.iter}', flush=True)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if not getattr(self, 'said', False):
            print('training', flush=True)
            self.said = True


def main(work_dir: str, max_iters: int):
    resume_from = newest_complete_checkpoint(work_dir)
    runner = Runner(
        model=WideModel(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=Inputs(),
            batch_size=2,
            num_workers=0,
            sampler=dict(type='DefaultSampler')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e-3, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook',
                interval=1,
                by_epoch=False,
                max_keep_ckpts=3),
            logger=dict(type='LoggerHook', interval=50)),
        custom_hooks=[
            dict(type=SayTraining),
            dict(type='CheckpointSafetyHook')
        ],
        load_from=resume_from,
        resume=resume_from is not None)
    runner.train()


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
