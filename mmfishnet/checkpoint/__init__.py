"""Checkpoint files: safe loading with clear errors (:mod:`.loading`),
crash-safe writing (:mod:`.atomic`) and checks that a checkpoint fits the
model it is loaded into (:mod:`.compat`)."""
from .atomic import (AtomicLocalBackend, install_atomic_local_backend,
                     newest_complete_checkpoint, remove_partial_files,
                     write_atomically)
from .loading import (RUNNER_CHECKPOINT_GLOBALS, TRUST_ENV, CheckpointError,
                      check_readable, checkpoints_trusted,
                      install_checkpoint_loader, load_local_checkpoint,
                      read_checkpoint, trust_checkpoints, why_unreadable)

__all__ = [
    'AtomicLocalBackend', 'CheckpointError', 'RUNNER_CHECKPOINT_GLOBALS',
    'TRUST_ENV', 'check_readable', 'checkpoints_trusted',
    'install_atomic_local_backend', 'install_checkpoint_loader',
    'load_local_checkpoint', 'newest_complete_checkpoint', 'read_checkpoint',
    'remove_partial_files', 'trust_checkpoints', 'why_unreadable',
    'write_atomically'
]
