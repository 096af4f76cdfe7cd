"""The training step: short runs of ``tools/dist_train.sh`` (one process
each, as a user launches them), and what their logs must show: the launch
under NCCL with SyncBN layers on CUDA (gloo and BN on a CPU, as the launch
tools do there), finite losses, the loop's own seconds per iteration."""
import math
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from . import REPO
from .device import device

SHAPES_CONFIG = 'configs/demo/mask_rcnn_fishnet150_fpn_shapes.py'
CLASSIFIER_CONFIG = 'configs/fishnet150_8xb32-ft_custom.py'
SEGMENTOR_CONFIG = 'configs/fpn_fishnet99-w0.25_1xb8-10e_camvid-480x360.py'
NO_WORKERS = ('num_workers=0', 'persistent_workers=False')
SYNC_BN = 'model.backbone.norm_cfg.type=SyncBN'


class TrainingRun(NamedTuple):
    """A config and its ``tools/train.py`` arguments; ``cuda_only``: fp16,
    which the launch tools refuse on a CPU."""
    config: str
    options: list
    cuda_only: bool = False


def training_runs(data: dict, iters: int) -> dict:
    """name -> :class:`TrainingRun`, in the order they run: ``iters``
    iterations of Mask R-CNN or one tiny epoch, SyncBN in the backbone, no
    checkpoint written."""
    shapes = [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data["shapes"]}/',
        f'train_cfg.max_iters={iters}', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint=None', SYNC_BN
    ]
    classifier = [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data["classes"]}',
        f'val_dataloader.dataset.data_root={data["classes"]}',
        'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4',
        *(f'{loader}.{option}'
          for loader in ('train_dataloader', 'val_dataloader')
          for option in NO_WORKERS), 'train_cfg.max_epochs=1',
        'model.backbone.init_cfg=None', 'model.head.init_cfg=None',
        'default_hooks.logger.interval=1', 'default_hooks.checkpoint=None',
        SYNC_BN
    ]
    segmentor = [
        '--cfg-options', *(f'{split}_dataloader.dataset.data_root='
                           f'{data["camvid"]}' for split in ('train', 'val')),
        'train_dataloader.batch_size=2',
        *(f'{loader}.{option}'
          for loader in ('train_dataloader', 'val_dataloader')
          for option in NO_WORKERS), 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint=None', SYNC_BN
    ]
    return {
        'Mask R-CNN FishNet-150, fp32':
        TrainingRun(SHAPES_CONFIG, shapes),
        'Mask R-CNN FishNet-150, bf16, MixedPrecisionOptimWrapper':
        TrainingRun(SHAPES_CONFIG,
                    ['--amp', '--amp-dtype', 'bfloat16', *shapes]),
        'Mask R-CNN FishNet-150, fp16, MixedPrecisionOptimWrapper':
        TrainingRun(
            SHAPES_CONFIG, ['--amp', '--amp-dtype', 'float16', *shapes],
            cuda_only=True),
        'Mask R-CNN FishNet-150, fp16, AmpOptimWrapper':
        TrainingRun(
            SHAPES_CONFIG, [
                *shapes, 'optim_wrapper.type=AmpOptimWrapper',
                'optim_wrapper.loss_scale=dynamic'
            ],
            cuda_only=True),
        'classifier FishNet-150, fp32':
        TrainingRun(CLASSIFIER_CONFIG, classifier),
        'segmentor FPN FishNet-99 w0.25 (CamVid config), fp32':
        TrainingRun(SEGMENTOR_CONFIG, segmentor),
    }


LOSS = re.compile(r'\(train\).*?\s(?:loss: )([-\d.e+naif]+)')
ITER_TIME = re.compile(r'\(train\).*?\stime: ([\d.]+)')
LAUNCH = re.compile(r'launch: device=(\w+) backend=(\w+) world_size=(\d+) '
                    r'sync_bn_layers=(\d+)/(\d+)')


def read_training_log(text: str) -> dict:
    """Losses, the loop's s/iter (median over the iterations after the
    first two, which include cuDNN's autotuning; none for shorter runs) and
    the process's own launch line (tools/launch_utils.describe_launch)."""
    losses = [float(v) for v in LOSS.findall(text)]
    times = [float(v) for v in ITER_TIME.findall(text)]
    launch = LAUNCH.search(text)
    values = dict(
        iterations_logged=len(losses),
        last_loss=losses[-1] if losses else None,
        loop_s_per_iter=(statistics.median(times[2:])
                         if len(times) > 2 else None),
        device=launch.group(1) if launch else None,
        backend=launch.group(2) if launch else None,
        world_size=int(launch.group(3)) if launch else None,
        sync_bn_layers=(f'{launch.group(4)}/{launch.group(5)}'
                        if launch else None))
    values['finite'] = bool(losses) and all(math.isfinite(v) for v in losses)
    values['synced'] = bool(launch) and int(launch.group(4)) > 0
    return values


def judge_training(values: dict, on_cuda: bool) -> dict:
    """The row's status: a run must have finished with finite losses, on
    CUDA under NCCL with SyncBN layers (on a CPU the launch tools use gloo
    and BN, and say so)."""
    synced, finite = values.pop('synced'), values.pop('finite')
    problems = []
    if values.get('returncode'):
        problems.append(f'exit {values["returncode"]}')
    if values['backend'] is None:
        problems.append('no launch line in the log')
    elif on_cuda and (values['device'], values['backend']) != ('cuda', 'nccl'):
        problems.append(f'ran on {values["device"]} with '
                        f'{values["backend"]}, not cuda with nccl')
    elif on_cuda and not synced:
        problems.append('no SyncBatchNorm layer in the model')
    if not finite:
        problems.append('no finite loss logged')
    if problems:
        values['status'] = 'failed'
        values.setdefault('error', '; '.join(problems))
    return values


def train_with_launcher(config: str, options: list, work_dir: Path, port: int,
                        timeout_s: float) -> dict:
    """``tools/dist_train.sh CONFIG 1``: one process, the config's backend
    (NCCL on CUDA, gloo without)."""
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(port),
        PYTHONUNBUFFERED='1')
    command = [
        'bash',
        str(REPO / 'tools' / 'dist_train.sh'), config, '1', '--work-dir',
        str(work_dir), *options
    ]
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / 'launcher.log'
    with open(log, 'w') as f:
        try:
            result = subprocess.run(
                command,
                cwd=REPO,
                env=env,
                stdout=f,
                stderr=subprocess.STDOUT,
                timeout=timeout_s)
            returncode = result.returncode
        except subprocess.TimeoutExpired:
            returncode = f'killed after {timeout_s:.0f} s'
    text = log.read_text(errors='replace')
    values = dict(
        returncode=returncode, log=str(log), **read_training_log(text))
    if returncode != 0:
        values['error'] = text[-3000:]
    return judge_training(values, device() == 'cuda')
