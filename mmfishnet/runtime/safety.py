"""What the project's own tools switch on: safe loading and atomic saving
of checkpoints, and mmcv's CPU op guard (see :mod:`mmfishnet.checkpoint` and
:mod:`mmfishnet.engine.mmcv_ops`)."""
from contextlib import ExitStack, contextmanager
from typing import Iterator

from mmengine.config import Config

from mmfishnet.checkpoint import safe_loading
from mmfishnet.engine import mmcv_op_guard

SAFETY_HOOK = 'CheckpointSafetyHook'


def add_checkpoint_safety_hook(cfg: Config) -> None:
    """Add ``CheckpointSafetyHook`` to ``cfg.custom_hooks`` unless the
    config has one already (whose switches are then kept)."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(
            h.get('type') in (SAFETY_HOOK, f'mmfishnet.{SAFETY_HOOK}')
            for h in hooks):
        hooks.append(dict(type=SAFETY_HOOK))
    cfg.custom_hooks = hooks


@contextmanager
def tool_safety() -> Iterator[None]:
    """For tools that load models without a Runner (demos, analysis): safe
    checkpoint loading and mmcv's op guard, for the duration."""
    with ExitStack() as stack:
        stack.enter_context(safe_loading.scope())
        stack.enter_context(mmcv_op_guard.scope())
        yield


__all__ = ['add_checkpoint_safety_hook', 'tool_safety']
