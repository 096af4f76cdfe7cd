"""Helpers without a model: feature detection across the supported torch
and numpy releases (:mod:`.compat`), the supported range itself
(:mod:`.stack`), reversible process-wide changes (:mod:`.process_patch`)
and mmpretrain's models where they do not import
(:mod:`.mmpretrain_models`)."""
from .mmpretrain_models import use_mmpretrain_without_multimodal
from .process_patch import ProcessPatch

__all__ = ['ProcessPatch', 'use_mmpretrain_without_multimodal']
