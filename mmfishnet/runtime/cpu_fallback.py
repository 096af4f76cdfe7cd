"""Run configs written for GPU clusters on a machine without CUDA.

The configs ask for what clusters have: NCCL, SyncBN, mmengine's AMP. Without
CUDA the launch tools turn those into their CPU equivalents (gloo, BN, bf16
autocast) and say so in the log, so
that the same config (and ``tools/dist_train.sh CONFIG 2``, with gloo) runs
here instead of crashing.
"""
import logging
import os
from typing import Any, List

import torch.distributed as dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log


def replace_sync_bn(node: Any, path: str = 'model') -> List[str]:
    """Turn every ``dict(type='SyncBN')`` (or mmcv's and torch's) under
    ``node`` (a config tree at ``path``) into BN, in place; returns the
    paths changed."""
    changed = []
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN', 'TorchSyncBN'):
            node['type'] = 'BN'
            changed.append(path)
        for key, value in node.items():
            changed += replace_sync_bn(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            changed += replace_sync_bn(value, f'{path}[{i}]')
    return changed


def adapt_config_to_cpu(cfg: Config) -> List[str]:
    """Rewrite the CUDA-only settings of ``cfg`` in place; returns (and logs)
    one line per change."""
    changes = []
    optim = cfg.get('optim_wrapper')
    if isinstance(optim, dict) and optim.get('type') == 'AmpOptimWrapper':
        # mmengine's AmpOptimWrapper asserts CUDA; ours autocasts on the CPU
        # (bf16 where the CPU has it, else fp32 with a log line).
        optim['type'] = 'MixedPrecisionOptimWrapper'
        optim['dtype'] = 'bfloat16'
        optim.pop('use_fsdp', None)
        changes.append('AmpOptimWrapper -> MixedPrecisionOptimWrapper('
                       "dtype='bfloat16'): mmengine's AMP needs CUDA")
    sync_bn = replace_sync_bn(cfg.get('model'))
    if sync_bn:
        changes.append(f'SyncBN -> BN in {sync_bn}: SyncBN needs CUDA')
    if cfg.get('sync_bn'):
        changes.append(f'sync_bn={cfg.sync_bn!r} -> None: SyncBN needs CUDA')
        cfg.sync_bn = None
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    if dist_cfg.get('backend', 'nccl') != 'gloo':
        changes.append(f'distributed backend {dist_cfg.get("backend", "nccl")}'
                       ' -> gloo: NCCL needs CUDA')
        dist_cfg['backend'] = 'gloo'
    if cfg.get('launcher', 'none') != 'none':
        wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None  # DDP over CPU modules
        cfg.model_wrapper_cfg = wrapper
    for line in changes:
        print_log(
            f'CUDA is not available: {line}',
            logger='current',
            level=logging.WARNING)
    return changes


def init_cpu_distributed() -> None:
    """Join the process group of a torchrun launch with the gloo backend.

    mmengine's own ``init_dist`` calls ``torch.cuda.set_device``, which fails
    without CUDA; once a group exists the Runner uses it as it is.
    """
    if dist.is_initialized() or 'RANK' not in os.environ:
        return
    dist.init_process_group(backend='gloo')
    print_log(
        f'CUDA is not available: rank {dist.get_rank()} of '
        f'{dist.get_world_size()} joined a gloo process group on the CPU',
        logger='current',
        level=logging.WARNING)
