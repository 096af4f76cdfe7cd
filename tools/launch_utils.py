"""What tools/train.py and tools/test.py share: config loading with command
line overrides, CPU fallbacks and the checks of the user's files."""
import argparse
import os
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmfishnet.checkpoint import trust_checkpoints
from mmfishnet.runtime import (AMP_DTYPES, MEMORY_FORMATS, adapt_config_to_cpu,
                               add_checkpoint_safety_hook, check_neck_channels,
                               check_preprocessor, enable_amp, enable_compile,
                               init_cpu_distributed, set_memory_format)
from mmfishnet.runtime.preflight import (check_config_path,
                                         check_dataset_files,
                                         check_fishnet_args,
                                         check_pretrained_files,
                                         user_errors_exit)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='config file (mmdet or mmpretrain)')
    parser.add_argument('--work-dir', help='where logs and outputs go')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. train_cfg.max_iters=100')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision (autocast): bf16 on CPUs with AVX512-BF16/AMX '
        'and on GPUs that have it, fp16 on older GPUs; fp32 with a log line '
        'on a CPU without bf16')
    parser.add_argument(
        '--amp-dtype',
        choices=AMP_DTYPES,
        default='auto',
        help='with --amp: the autocast dtype (float16 is CUDA only; loss '
        'scaling is used for float16 only)')
    parser.add_argument(
        '--memory-format',
        choices=MEMORY_FORMATS,
        default='channels_last',
        help='memory format of the model and its inputs (default: '
        'channels_last, faster on CPUs and for mixed precision on GPUs)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the model (training: its loss computation, '
        'CompileLossHook; testing: test_step, CompileTestStepHook); a '
        'one-time compilation cost at the first iterations. Measured '
        '(docs/speed.md): faster for CPU training of the small-image '
        'configs and CPU inference of the classifier; slower than eager '
        'for GPU training of FishNet-150 (H200), where it is not '
        'recommended')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load local checkpoints with full unpickling (can run code: '
        'only for files you trust) when they hold more than weights and '
        'the types mmengine writes')
    # torchrun passes --local-rank to older launch scripts
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace, train: bool) -> Config:
    """The config with ``--cfg-options`` and the speed options applied, its
    FishNet arguments, (for training) pretrained files and dataset files
    checked."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.amp_dtype != 'auto' and not args.amp:
        raise SystemExit('--amp-dtype needs --amp')
    if args.trust_checkpoint:
        trust_checkpoints()
    with user_errors_exit():
        check_config_path(args.config)
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        check_fishnet_args(cfg)
        check_neck_channels(cfg)
        check_preprocessor(cfg)
        if train:
            check_pretrained_files(cfg)
        check_dataset_files(cfg, ('train', 'val') if train else ('test', ))
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    add_checkpoint_safety_hook(cfg)
    if args.amp:
        enable_amp(cfg, args.amp_dtype, train=train)
    set_memory_format(cfg, args.memory_format)
    if args.compile:
        enable_compile(cfg, train=train)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """The config's runner, on the CPU when there is no CUDA."""
    if not torch.cuda.is_available():
        adapt_config_to_cpu(cfg)
        if cfg.launcher == 'pytorch':
            init_cpu_distributed()
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    print_log(describe_launch(runner.model), logger='current')
    return runner


def describe_launch(model: torch.nn.Module) -> str:
    """One log line of how this process trains: device, process group
    backend and size, and how many norm layers are SyncBatchNorm (what the
    GPU acceptance checks)."""
    norms = [
        m for m in model.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    synced = sum(isinstance(m, torch.nn.SyncBatchNorm) for m in norms)
    if dist.is_available() and dist.is_initialized():
        group = (f'backend={dist.get_backend()} '
                 f'world_size={dist.get_world_size()}')
    else:
        group = 'backend=none world_size=1'
    device = next(model.parameters()).device.type
    return (f'launch: device={device} {group} '
            f'sync_bn_layers={synced}/{len(norms)}')


def finish() -> None:
    """Leave the process group cleanly: with gloo, a process that exits while
    its group is alive aborts at shutdown."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
