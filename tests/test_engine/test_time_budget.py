"""TimeBudgetHook: a Runner trains for a fixed time with the learning rate
annealed over that time, in iteration- and epoch-based loops.

The hook reads a fake clock that only the model advances: every training
step takes ``STEP_S`` and every validation step ``VAL_STEP_S`` of it, so
the tests see exact times whatever else the CPU is doing."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmfishnet.engine import TimeBudgetHook, time_budget

# powers of two: the clock's sums are exact
STEP_S = 0.0625
VAL_STEP_S = 8.0


class FakeClock:

    def __init__(self):
        self.now = 1024.0

    def perf_counter(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(time_budget, 'time', clock)
    return clock


class SlowModel(BaseModel):
    """A linear model whose training steps take ``STEP_S`` and whose
    validation steps take ``VAL_STEP_S`` on ``clock``."""

    def __init__(self, clock):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.clock = clock

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.clock.now += STEP_S if self.training else VAL_STEP_S
        loss = self.linear(inputs).pow(2).mean()
        return dict(loss=loss) if mode == 'loss' else [loss]


class CountOutputs(BaseMetric):

    def process(self, data_batch, data_samples) -> None:
        self.results += list(data_samples)

    def compute_metrics(self, results) -> dict:
        return dict(outputs=len(results))


class LrRecorder(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.optimizer.param_groups[0]['lr'])


def cosine(t, budget_s):
    """The hook's lr after ``t`` of ``budget_s`` seconds, from lr 0.1."""
    return 0.05 * (1 + math.cos(math.pi * min(1, t / budget_s)))


def loader(by_epoch, num_samples=8, shuffle=False):
    return dict(
        dataset=[dict(inputs=torch.randn(2)) for _ in range(num_samples)],
        # mmengine pauses 2 s at each restart of a DefaultSampler
        sampler=dict(
            type='DefaultSampler' if by_epoch else 'InfiniteSampler',
            shuffle=shuffle),
        batch_size=1,
        collate_fn=dict(type='default_collate'))


def run(tmp_path,
        clock,
        budget_s,
        train_cfg,
        num_samples=8,
        validate=False,
        **warmup):
    budget, lrs = TimeBudgetHook(budget_s, **warmup), LrRecorder()
    val = dict(
        val_dataloader=dict(loader(True, 2)),
        val_evaluator=Evaluator(CountOutputs()),
        val_cfg=dict()) if validate else {}
    runner = Runner(
        model=SlowModel(clock),
        work_dir=str(tmp_path),
        train_dataloader=loader(train_cfg['by_epoch'], num_samples),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=train_cfg,
        custom_hooks=[budget, lrs],
        default_hooks=dict(checkpoint=None, logger=None),
        default_scope='mmengine',
        **val)
    runner.train()
    return runner, budget, lrs.lrs


def test_iteration_loop_stops_when_the_time_is_spent(tmp_path, clock):
    runner, budget, lrs = run(tmp_path, clock, 0.625,
                              dict(by_epoch=False, max_iters=1000))
    # 0.625 s of 0.0625 s steps: ten iterations, not the 1000 asked for
    assert budget.trained_s == 0.625
    assert runner.iter == 10
    assert lrs[0] == pytest.approx(0.1)
    # a cosine of the time: decreasing, half-way near half the base rate
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    assert lrs[-1] < 0.02
    assert min(
        lrs, key=lambda lr: abs(lr - 0.05)) == pytest.approx(
            0.05, abs=0.02)


def test_epoch_loop_stops_at_the_end_of_the_epoch(tmp_path, clock):
    runner, budget, lrs = run(
        tmp_path,
        clock,
        0.25,
        dict(by_epoch=True, max_epochs=50),
        num_samples=8)
    # the budget runs out in the first epoch of 8 iterations; it finishes
    assert runner.epoch == 1 and runner.iter == 8
    assert lrs[-1] == 0 and lrs[-2] == 0  # the time is spent: lr 0
    assert lrs[0] == pytest.approx(0.1)
    assert lrs.count(0) == 4  # iterations 5-8, after 0.25 s of steps


def test_the_lr_is_a_cosine_of_the_time(tmp_path, clock):
    runner, budget, lrs = run(tmp_path, clock, 0.5,
                              dict(by_epoch=False, max_iters=1000))
    # step i starts after i steps of STEP_S seconds
    assert len(lrs) == 8
    for i, lr in enumerate(lrs):
        assert lr == pytest.approx(cosine(i * STEP_S, 0.5))


@pytest.mark.parametrize('by_epoch', [False, True])
def test_validation_is_not_counted(tmp_path, clock, by_epoch):
    # validation after every 2 iterations (or epochs of 2) costs 2 x 8 s
    # of the clock; counted, it would end a 1 s budget at the first one
    train_cfg = dict(
        by_epoch=by_epoch,
        val_interval=2,
        **(dict(max_epochs=100) if by_epoch else dict(max_iters=1000)))
    runner, budget, lrs = run(
        tmp_path, clock, 1.0, train_cfg, num_samples=2, validate=True)
    assert budget.trained_s == 1.0
    assert runner.iter == 16  # 1 s of 0.0625 s steps
    assert clock.now - 1024.0 >= 1.0 + 4 * 2 * VAL_STEP_S  # it validated
    # the lr followed the training time alone: step i at i * STEP_S
    for i, lr in enumerate(lrs):
        assert lr == pytest.approx(cosine(i * STEP_S, 1.0), abs=1e-9)


def test_the_warm_up_multiplies_the_cosine(tmp_path, clock):
    # as LinearLR(start_factor=0.25, end=4): 0.25, 0.4375, 0.625, 0.8125, 1
    runner, budget, lrs = run(
        tmp_path,
        clock,
        0.5,
        dict(by_epoch=False, max_iters=1000),
        warmup_iters=4,
        warmup_start_factor=0.25)
    assert len(lrs) == 8
    for i, lr in enumerate(lrs):
        warmup = 0.25 + 0.75 * min(1, i / 4)
        assert lr == pytest.approx(cosine(i * STEP_S, 0.5) * warmup)


@pytest.mark.parametrize('warmup', [(-1, 0.5), (2.5, 0.5), (3, 0), (3, 1.5)])
def test_a_warm_up_must_be_sound(warmup):
    with pytest.raises(ValueError, match='warmup_'):
        TimeBudgetHook(10, *warmup)


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
        iter=0, optim_wrapper=SimpleNamespace(optimizer=optimizer))
    hook = TimeBudgetHook(100)
    hook.after_load_checkpoint(runner,
                               dict(meta=dict(time_budget_trained_s=50.0)))
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    assert optimizer.param_groups[0]['lr'] == pytest.approx(0.05)
    hook.trained_s = 75.0
    hook.before_train_iter(runner, 1)
    expected = cosine(75.0, 100)
    assert optimizer.param_groups[0]['lr'] == pytest.approx(expected)
