"""Checkpoint files: safe loading with clear errors (:mod:`.loading`) and
crash-safe writing (:mod:`.atomic`). :data:`safe_loading` and
:data:`atomic_saving` hand them to mmengine while they are enabled."""
from .atomic import (AtomicLocalBackend, atomic_saving,
                     newest_complete_checkpoint, remove_partial_files,
                     write_atomically)
from .loading import (RUNNER_CHECKPOINT_GLOBALS, TRUST_ENV, CheckpointError,
                      check_readable, checkpoints_trusted,
                      load_checkpoint_file, load_local_checkpoint,
                      read_checkpoint, safe_loading, trust_checkpoints,
                      why_unreadable)

__all__ = [
    'AtomicLocalBackend', 'CheckpointError', 'RUNNER_CHECKPOINT_GLOBALS',
    'TRUST_ENV', 'atomic_saving', 'check_readable', 'checkpoints_trusted',
    'load_checkpoint_file', 'load_local_checkpoint',
    'newest_complete_checkpoint', 'read_checkpoint', 'remove_partial_files',
    'safe_loading', 'trust_checkpoints', 'why_unreadable', 'write_atomically'
]
