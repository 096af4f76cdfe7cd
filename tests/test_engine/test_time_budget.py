"""TimeBudgetHook: a Runner trains for a fixed time with the learning rate
annealed over that time, in iteration- and epoch-based loops."""
import math
import time
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmfishnet.engine import TimeBudgetHook

STEP_S = 0.05


class SlowModel(BaseModel):
    """A linear model whose every forward pass takes ``STEP_S`` seconds."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        time.sleep(STEP_S)
        loss = self.linear(inputs).pow(2).mean()
        return dict(loss=loss) if mode == 'loss' else [loss]


class LrRecorder(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.optimizer.param_groups[0]['lr'])


def run(tmp_path, budget_s, train_cfg, num_samples=8):
    dataset = [dict(inputs=torch.randn(2)) for _ in range(num_samples)]
    budget, lrs = TimeBudgetHook(budget_s), LrRecorder()
    runner = Runner(
        model=SlowModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=dataset,
            # mmengine pauses 2 s at each restart of a DefaultSampler
            sampler=dict(
                type='DefaultSampler'
                if train_cfg['by_epoch'] else 'InfiniteSampler',
                shuffle=False),
            batch_size=1,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=train_cfg,
        custom_hooks=[budget, lrs],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmengine')
    runner.train()
    return runner, budget, lrs.lrs


def test_iteration_loop_stops_when_the_time_is_spent(tmp_path):
    runner, budget, lrs = run(tmp_path, 0.5,
                              dict(by_epoch=False, max_iters=1000))
    # 0.5 s of 0.05 s steps: about ten iterations, not the 1000 asked for
    assert 0.5 <= budget.trained_s < 0.5 + 4 * STEP_S
    assert 6 <= runner.iter <= 11
    assert lrs[0] == pytest.approx(0.1)
    # a cosine of the time: decreasing, half-way near half the base rate
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    assert lrs[-1] < 0.02
    assert min(
        lrs, key=lambda lr: abs(lr - 0.05)) == pytest.approx(
            0.05, abs=0.02)


def test_epoch_loop_stops_at_the_end_of_the_epoch(tmp_path):
    runner, budget, lrs = run(
        tmp_path, 0.2, dict(by_epoch=True, max_epochs=50), num_samples=8)
    # the budget runs out in the first epoch of 8 iterations; it finishes
    assert runner.epoch == 1 and runner.iter == 8
    assert lrs[-1] == 0 and lrs[-2] == 0  # the time is spent: lr 0
    assert lrs[0] == pytest.approx(0.1)


def test_the_lr_is_a_cosine_of_the_time(tmp_path):
    runner, budget, lrs = run(tmp_path, 0.4,
                              dict(by_epoch=False, max_iters=1000))
    # with equal steps, step i starts at about i * STEP_S seconds
    for i, lr in enumerate(lrs):
        expected = 0.05 * (1 + math.cos(math.pi * min(1, i * STEP_S / 0.4)))
        assert lr == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize('budget_s', [0, -3, float('nan')])
def test_a_budget_must_be_positive(budget_s):
    with pytest.raises(ValueError, match='budget_s must be positive'):
        TimeBudgetHook(budget_s)


def test_a_resumed_run_continues_the_budget():
    saved, resumed = TimeBudgetHook(60), TimeBudgetHook(60)
    saved.trained_s = 42.5
    checkpoint = dict(meta=dict(epoch=3))
    saved.before_save_checkpoint(None, checkpoint)
    assert checkpoint['meta'] == dict(epoch=3, time_budget_trained_s=42.5)
    resumed.after_load_checkpoint(None, checkpoint)
    assert resumed.trained_s == 42.5
    # a checkpoint written without the hook starts the budget afresh
    resumed.after_load_checkpoint(None, dict(meta=dict(epoch=3)))
    assert resumed.trained_s == 0.0


def test_a_resumed_run_anneals_from_the_first_learning_rate():
    # a resumed optimizer: the lr was annealed to 0.05, initial_lr saved
    optimizer = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.05)
    optimizer.param_groups[0]['initial_lr'] = 0.1
    runner = SimpleNamespace(
        optim_wrapper=SimpleNamespace(optimizer=optimizer))
    hook = TimeBudgetHook(100)
    hook.after_load_checkpoint(runner,
                               dict(meta=dict(time_budget_trained_s=50.0)))
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    assert optimizer.param_groups[0]['lr'] == pytest.approx(0.05)
    hook.trained_s = 75.0
    hook.before_train_iter(runner, 1)
    expected = 0.05 * (1 + math.cos(math.pi * 0.75))
    assert optimizer.param_groups[0]['lr'] == pytest.approx(expected)
