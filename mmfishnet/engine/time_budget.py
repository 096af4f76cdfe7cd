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
    ``torch.compile`` cost counts as training time. After the iteration that
    exhausts the budget the loop is told to stop: at once in an
    ``IterBasedTrainLoop``, at the end of the epoch in an
    ``EpochBasedTrainLoop`` (whose remaining iterations run at ``lr = 0``).
    Give the config no ``param_scheduler`` for the learning rate: it would
    fight this one. The seconds spent are saved in checkpoints
    (``meta['time_budget_trained_s']``), so a resumed run continues the same
    budget and schedule.

    Args:
        budget_s (float): Seconds of training.
    """

    priority = 'VERY_HIGH'  # before the optimizer step reads the lr

    def __init__(self, budget_s: float):
        if not budget_s > 0:
            raise ValueError(f'budget_s must be positive, got {budget_s!r}')
        self.budget_s = float(budget_s)
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
