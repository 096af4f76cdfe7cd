"""Training for a fixed wall-clock time instead of a fixed number of
iterations: the learning rate follows a cosine of the training time spent."""
import math
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

META_KEY = 'time_budget_trained_s'


@HOOKS.register_module()
class TimeBudgetHook(Hook):
    """Stop training after ``budget_s`` seconds of training, with the
    learning rate annealed as a cosine of the time spent.

    The clock runs while training runs: from the start of training (and the
    end of each validation) through every iteration, data loading included,
    validation excluded. Before every iteration each parameter group gets
    ``lr = base * (1 + cos(pi * t / budget_s)) / 2`` (``base``: its
    ``initial_lr``, the learning rate when training first started, kept in
    the optimizer's state), so the schedule ends
    at zero when the time is spent, however fast the model runs; a one-time
    ``torch.compile`` cost counts as training time. A linear warm-up, as
    mmengine's ``LinearLR`` would give it, multiplies that over the first
    ``warmup_iters`` iterations: from ``warmup_start_factor`` at iteration 0
    to 1 at ``warmup_iters``. After the iteration that
    exhausts the budget the loop is told to stop: at once in an
    ``IterBasedTrainLoop``, at the end of the epoch in an
    ``EpochBasedTrainLoop`` (whose remaining iterations run at ``lr = 0``).
    Give the config no ``param_scheduler`` for the learning rate: it would
    fight this one. The seconds spent are saved in checkpoints
    (``meta['time_budget_trained_s']``), so a resumed run continues the same
    budget and schedule.

    Args:
        budget_s (float): Seconds of training.
        warmup_iters (int): Iterations of linear warm-up; 0 for none.
        warmup_start_factor (float): The lr's factor at iteration 0 of the
            warm-up, in (0, 1].
    """

    priority = 'VERY_HIGH'  # before the optimizer step reads the lr

    def __init__(self,
                 budget_s: float,
                 warmup_iters: int = 0,
                 warmup_start_factor: float = 1.0):
        if not budget_s > 0:
            raise ValueError(f'budget_s must be positive, got {budget_s!r}')
        if int(warmup_iters) != warmup_iters or warmup_iters < 0:
            raise ValueError('warmup_iters must be a whole number >= 0, got '
                             f'{warmup_iters!r}')
        if not 0 < warmup_start_factor <= 1:
            raise ValueError('warmup_start_factor must be in (0, 1], got '
                             f'{warmup_start_factor!r}')
        self.budget_s = float(budget_s)
        self.warmup_iters = int(warmup_iters)
        self.warmup_start_factor = float(warmup_start_factor)
        self.trained_s = 0.0
        self._last = None

    def before_train(self, runner) -> None:
        # initial_lr is saved with the optimizer, so a resumed run anneals
        # from the first run's rate, not from the decayed one
        for group in runner.optim_wrapper.optimizer.param_groups:
            group.setdefault('initial_lr', group['lr'])

    def before_train_epoch(self, runner) -> None:
        self._last = time.perf_counter()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._last = time.perf_counter()

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        progress = min(1.0, self.trained_s / self.budget_s)
        scale = 0.5 * (1 + math.cos(math.pi * progress))
        if runner.iter < self.warmup_iters:
            start = self.warmup_start_factor
            scale *= start + (1 - start) * runner.iter / self.warmup_iters
        for group in runner.optim_wrapper.optimizer.param_groups:
            group['lr'] = group['initial_lr'] * scale

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        now = time.perf_counter()
        self.trained_s += now - self._last
        self._last = now
        if self.trained_s >= self.budget_s:
            runner.train_loop.stop_training = True

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[META_KEY] = self.trained_s

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.trained_s = float(checkpoint.get('meta', {}).get(META_KEY, 0.0))
