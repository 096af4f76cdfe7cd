"""Helpers without a model: feature detection across the supported torch
and numpy releases (:mod:`.compat`), the supported range itself
(:mod:`.stack`) and reversible process-wide changes
(:mod:`.process_patch`)."""
from .process_patch import ProcessPatch

__all__ = ['ProcessPatch']
