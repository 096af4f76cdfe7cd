"""Changes to other libraries' process-wide state, switched on explicitly.

``import mmfishnet`` changes nothing outside mmfishnet. A few of its features
have to reach into mmengine or mmcv for a while (a checkpoint loader, a file
backend, mmcv's compiled ops); each of them is a :class:`ProcessPatch`: off
until :meth:`~ProcessPatch.enable` (or :meth:`~ProcessPatch.scope`) is called,
nested calls counted, and exactly what it replaced put back by the last
:meth:`~ProcessPatch.disable`. Setting its environment variable to ``0``
turns a patch off for good (its ``enable`` then logs once and does nothing).
"""
import logging
import os
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from mmengine.logging import print_log

OFF_VALUES = ('0', 'false', 'no', 'off')


class ProcessPatch:
    """A reversible, nestable change of process-wide state.

    Args:
        name (str): what it does, for log lines.
        apply (callable): makes the change and returns what :attr:`revert`
            needs to undo it.
        revert (callable): takes what ``apply`` returned and undoes it.
        opt_out_env (str): environment variable that, set to ``0``, keeps
            the patch off.
    """

    def __init__(self, name: str, apply: Callable[[], Any],
                 revert: Callable[[Any], None], opt_out_env: str):
        self.name = name
        self.opt_out_env = opt_out_env
        self._apply = apply
        self._revert = revert
        self._depth = 0
        self._saved = None
        self._told_opted_out = False
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether the change is in effect now."""
        return self._depth > 0

    @property
    def opted_out(self) -> bool:
        return os.environ.get(self.opt_out_env, '').lower() in OFF_VALUES

    def enable(self) -> bool:
        """Make the change (or count one more user of it); returns whether
        it is in effect (``False`` when opted out)."""
        with self._lock:
            if self._depth == 0 and self.opted_out:
                if not self._told_opted_out:
                    print_log(
                        f'{self.name}: off ({self.opt_out_env}='
                        f'{os.environ[self.opt_out_env]})',
                        logger='current',
                        level=logging.INFO)
                    self._told_opted_out = True
                return False
            if self._depth == 0:
                self._saved = self._apply()
            self._depth += 1
            return True

    def disable(self) -> None:
        """Undo one :meth:`enable`; the last one restores the original
        state. Without a matching ``enable`` nothing happens."""
        with self._lock:
            if self._depth == 0:
                return
            self._depth -= 1
            if self._depth == 0:
                self._revert(self._saved)
                self._saved = None

    def reset(self) -> None:
        """Restore the original state now, however many :meth:`enable`
        calls are open (e.g. those of a run that raised before its end)."""
        with self._lock:
            if self._depth:
                self._depth = 0
                self._revert(self._saved)
                self._saved = None

    @contextmanager
    def scope(self) -> Iterator[bool]:
        """The change for the duration of a ``with`` block; yields whether
        it is in effect."""
        enabled = self.enable()
        try:
            yield enabled
        finally:
            if enabled:
                self.disable()

    def __repr__(self) -> str:
        state = 'active' if self.active else 'inactive'
        return f'ProcessPatch({self.name!r}, {state})'
