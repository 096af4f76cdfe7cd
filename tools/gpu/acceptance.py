"""The GPU acceptance run: what only a CUDA machine can show, in the order
of its value, so that a stop at any point has kept the most important rows.

    PYTHONPATH=.:SITE python tools/gpu/acceptance.py --out OUT \
        [--steps environment equivalence training throughput] \
        [--deadline UNIX_TIME] [--allow-cpu] [--quick]

(``tools/gpu/acceptance.sh`` checks and installs the prepared wheels and
mmcv, then runs this.) The rows, in the order they run:

1. ``environment``: GPU, driver, torch, CUDA, cuDNN and the OpenMMLab
   versions; whether mmcv's compiled ops run on the GPU (NMS, RoIAlign).
2. ``equivalence``: FishNet-99 with weights in the official format,
   converted, against the official model's logits and FPN maps (fp32, TF32
   off), at 224x224 and 256x320.
3. ``training``: one process of ``tools/dist_train.sh`` each, which must run
   under NCCL with SyncBN layers (a row that did not is a failure): Mask
   R-CNN FishNet-150 in fp32, bf16 and fp16 (``MixedPrecisionOptimWrapper``),
   fp16 with mmengine's ``AmpOptimWrapper``, the FishNet-150 classifier and
   the CamVid segmentor, on data generated on the spot; with the training
   loop's own s/iter from its log.
4. ``throughput``: FishNet-150 against ResNet-50 as classifiers (train and
   inference img/s) and as Mask R-CNN backbones at the COCO config's
   800x1216 (s/iter), with peak memory: the recommended mode (bf16 autocast,
   channels_last) first, then strict fp32 (the 2.5x reference), TF32, fp16,
   gradient checkpointing (``with_cp``) and ``torch.compile`` last.

Every result is written as soon as it exists: ``OUT/acceptance.json`` (all
numbers) and ``OUT/acceptance.md`` (the tables), rewritten after each row.
A failing row is recorded with its error and the run goes on. At
``--deadline`` the run stops before the next row and lists the rows it did
not reach. Without CUDA it stops at once, unless ``--allow-cpu`` (the CPU
rehearsal and the tests), where fp16 rows are skipped and training runs
under gloo with BN, as the launch tools do on a CPU.
"""
import argparse
import contextlib
import datetime
import importlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, NamedTuple

import torch

REPO = Path(__file__).resolve().parents[2]
STEPS = ('environment', 'equivalence', 'training', 'throughput')


class Report:
    """The rows of every step, saved as JSON and markdown after each one."""

    def __init__(self, out: Path, setup: dict = None):
        self.out = out
        self.data = dict(
            started=datetime.datetime.now().isoformat(timespec='seconds'),
            setup=setup or {},
            rows=[])

    def add(self, step: str, name: str, status: str, seconds: float,
            **values) -> dict:
        row = dict(
            step=step,
            name=name,
            status=status,
            seconds=round(seconds, 2),
            **values)
        self.data['rows'].append(row)
        self.save()
        print(
            f'[acceptance] {step}: {name}: {status} ({seconds:.1f} s)',
            flush=True)
        return row

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        for name, text in (('acceptance.json',
                            json.dumps(self.data, indent=1,
                                       default=str)), ('acceptance.md',
                                                       self.markdown())):
            partial = self.out / f'.{name}.partial'
            partial.write_text(text)
            os.replace(partial, self.out / name)

    def markdown(self) -> str:
        lines = [f'# GPU acceptance, started {self.data["started"]}', '']
        if self.data['setup']:
            lines += [
                '## Setup', '', '| phase | seconds | detail |', '|---|---|---|'
            ]
            for phase, info in self.data['setup'].items():
                lines.append(f'| {phase} | {info.get("seconds", "")} | '
                             f'{info.get("detail", "")} |')
            lines.append('')
        for step in STEPS:
            rows = [r for r in self.data['rows'] if r['step'] == step]
            if not rows:
                continue
            keys = []
            for row in rows:
                keys += [
                    k for k in row
                    if k not in ('step', 'name', 'status', 'seconds', 'error',
                                 'log') and k not in keys
                ]
            lines += [
                f'## {step}', '',
                '| ' + ' | '.join(['name', 'status', 's', *keys]) + ' |',
                '|---' * (3 + len(keys)) + '|'
            ]
            for row in rows:
                cells = [row['name'], row['status'], str(row['seconds'])]
                cells += [_cell(row.get(k, '')) for k in keys]
                lines.append('| ' + ' | '.join(cells) + ' |')
            errors = [r for r in rows if r.get('error')]
            for row in errors:
                lines += ['', f'{row["name"]}: `{_one_line(row["error"])}`']
            lines.append('')
        return '\n'.join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value).replace('|', '/')


def _one_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ''


def timed(report: Report, step: str, name: str, function, *args, **kwargs):
    """Run ``function`` and record its row; a failure is a row too."""
    start = time.perf_counter()
    try:
        values = function(*args, **kwargs) or {}
    except Exception as e:  # recorded, and the run goes on
        return report.add(
            step,
            name,
            'failed',
            time.perf_counter() - start,
            error=f'{type(e).__name__}: {e}\n{traceback.format_exc()}')
    status = values.pop('status', 'ok')
    return report.add(step, name, status,
                      time.perf_counter() - start, **values)


def device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


@contextlib.contextmanager
def tf32(enabled: bool):
    """TF32 for CUDA matmuls and convolutions on or off, restored after."""
    saved = (torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.allow_tf32) = saved


# ---- 1. environment ---------------------------------------------------------


def versions() -> dict:
    import mmcv
    import mmdet
    import mmengine
    import mmpretrain
    values = dict(
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version(),
        mmengine=mmengine.__version__,
        mmcv=mmcv.__version__,
        mmdet=mmdet.__version__,
        mmpretrain=mmpretrain.__version__,
        python=sys.version.split()[0])
    for name, module in (('mmseg', 'mmseg'), ('transformers', 'transformers')):
        try:
            values[name] = importlib.import_module(module).__version__
        except ImportError:
            values[name] = 'not installed'
    from mmpretrain.utils import dependency

    import mmfishnet
    values['mmfishnet'] = mmfishnet.__version__
    values['mmpretrain_multimodal'] = dependency.WITH_MULTIMODAL
    if device() == 'cuda':
        values.update(
            gpu=torch.cuda.get_device_name(),
            capability='.'.join(map(str, torch.cuda.get_device_capability())),
            memory_gib=round(
                torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
        smi = subprocess.run([
            'nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'
        ],
                             capture_output=True,
                             text=True)
        values['driver'] = smi.stdout.strip() or smi.stderr.strip()
    return values


def mmcv_ops_on_device() -> dict:
    """NMS and RoIAlign of mmcv's compiled extension on this device, and
    RoIAlign of a channels_last map and of a bf16 map against the contiguous
    float32 result, without and with mmfishnet's op guard (mmcv's kernels
    read NCHW; its CUDA kernels have no bf16)."""
    from mmcv.ops import nms, roi_align

    from mmfishnet.engine import mmcv_op_guard
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30.]],
                         device=device())
    scores = torch.tensor([0.9, 0.8, 0.7], device=device())
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    torch.manual_seed(0)
    feats = torch.randn(2, 16, 40, 48, device=device())
    rois = torch.tensor([[0, 1., 2., 30., 25.], [1, 3., 4., 40., 36.]],
                        device=device())
    expected = roi_align(feats, rois, 7, 0.5, 2)
    values = dict(nms_keep=keep.tolist())

    def roi_align_error(maps):
        try:
            out = roi_align(maps, rois, 7, 0.5, 2)
        except RuntimeError as e:  # no kernel for the dtype
            return f'{type(e).__name__}: {str(e).splitlines()[0][:80]}'
        return (out.float() - expected).abs().max().item()

    nhwc = feats.contiguous(memory_format=torch.channels_last)
    for guarded in (False, True):
        suffix = 'guarded' if guarded else 'unguarded'
        with (mmcv_op_guard.scope() if guarded else contextlib.nullcontext()):
            values[f'channels_last_{suffix}'] = roi_align_error(nhwc)
            values[f'bf16_{suffix}'] = roi_align_error(feats.bfloat16())
    ok = (
        keep.tolist() == [0, 2] and values['channels_last_guarded'] == 0
        and isinstance(values['bf16_guarded'], float)
        and values['bf16_guarded'] < 0.05)
    values['status'] = 'ok' if ok else 'wrong'
    return values


# ---- 2. equivalence ---------------------------------------------------------


def official_equivalence(reference_name: str) -> dict:
    """Converted official-format FishNet-99 on this device against the
    reference logits and FPN maps (relative error, fp32, TF32 off)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    from mmfishnet.converters import convert_official_checkpoint
    from mmfishnet.converters.reference import (deterministic_official_state,
                                                load_reference,
                                                reference_input,
                                                relative_error)
    reference = load_reference(reference_name)
    init_default_scope('mmpretrain')
    state = convert_official_checkpoint(
        deterministic_official_state('fishnet99', False))
    x = reference_input(*reference['input'][2:]).to(device())

    def build(out_indices):
        cfg = Config.fromfile(REPO / 'configs' / 'fishnet99_8xb32_in1k.py')
        cfg.model.backbone.out_indices = out_indices
        model = MODELS.build(cfg.model).eval()
        model.load_state_dict(state, strict=True)
        return model.to(device())

    with torch.no_grad(), tf32(False):
        logits = build((9, ))(x, mode='tensor')
        feats = build((6, 7, 8, 9)).backbone(x)
    errors = dict(logits=relative_error(logits[0].cpu(), reference['logits']))
    for feat, idx in zip(feats, (7, 8, 9, 10)):
        ref = reference['features'][f'all_feat[{idx}]']
        sample = feat.double().flatten().cpu()[torch.tensor(
            ref['sample_index'])]
        errors[f'map{idx}'] = relative_error(sample, ref['sample'])
    worst = max(errors.values())
    return dict(
        max_relative_error=worst,
        **{
            f'err_{k}': v
            for k, v in errors.items()
        },
        status='ok' if worst < 1e-5 else 'mismatch')


# ---- 3. training through the launcher ---------------------------------------

SHAPES_CONFIG = 'configs/demo/mask_rcnn_fishnet150_fpn_shapes.py'
CLASSIFIER_CONFIG = 'configs/fishnet150_8xb32-ft_custom.py'
SEGMENTOR_CONFIG = 'configs/fpn_fishnet99-w0.25_1xb8-10e_camvid-480x360.py'
NO_WORKERS = ('num_workers=0', 'persistent_workers=False')
SYNC_BN = 'model.backbone.norm_cfg.type=SyncBN'


def make_data(root: Path) -> dict:
    """The three datasets the training runs read, generated: COCO-format
    shapes, an ImageNet-style folder of 10 classes and a CamVid-format
    folder (random pixels and labels)."""
    import cv2
    import numpy as np
    shapes = root / 'shapes'
    subprocess.run([
        sys.executable,
        str(REPO / 'tools' / 'demo' / 'make_shapes_dataset.py'),
        str(shapes), '--train', '8', '--val', '2'
    ],
                   check=True,
                   capture_output=True)
    rng = np.random.default_rng(0)
    folder = root / 'classes'
    for split in ('train', 'val'):
        for c in range(10):
            d = folder / split / f'class{c}'
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(
                str(d / '0.png'),
                rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    camvid = root / 'camvid'
    for split in ('train', 'val'):
        for kind in (split, f'{split}annot'):
            (camvid / kind).mkdir(parents=True, exist_ok=True)
        for i in range(2):
            cv2.imwrite(
                str(camvid / split / f'{i}.png'),
                rng.integers(0, 256, (360, 480, 3), dtype=np.uint8))
            cv2.imwrite(
                str(camvid / f'{split}annot' / f'{i}.png'),
                rng.integers(0, 12, (360, 480), dtype=np.uint8))
    return dict(shapes=shapes, classes=folder, camvid=camvid)


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


# ---- 4. throughput ----------------------------------------------------------

CLASSIFIERS = {
    'FishNet-150': 'configs/fishnet150_8xb32_in1k.py',
    'ResNet-50': 'mmpretrain::resnet/resnet50_8xb32_in1k.py',
}
DETECTORS = {
    'Mask R-CNN FishNet-150': 'configs/mask_rcnn_fishnet150_fpn_coco.py',
    'Mask R-CNN R-50': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
}
#: The recommended mode (what ``tools/train.py --amp`` does on a GPU).
RECOMMENDED = 'bf16+cl'


def throughput_rows(quick: bool) -> list:
    """(name, config, mode, phase, size, batch) of every measurement, in the
    order of their value: the recommended mode's training first, then the
    strict fp32 it is compared with, the detectors, inference, and the other
    modes; ``fp32`` is TF32 off, ``tf32`` on; ``+cl`` channels_last, ``+cp``
    with_cp, ``+compile`` torch.compile (not in ``quick``)."""
    batch = 4 if quick else 128
    size = (64, 64) if quick else (224, 224)
    det_size = (128, 160) if quick else (800, 1216)
    first = (RECOMMENDED, 'train'), ('fp32+cl', 'train'), (RECOMMENDED,
                                                           'infer')
    later = (('fp16+cl', 'train'), ('tf32+cl', 'train'), ('fp32+cl', 'infer'),
             ('fp16+cl', 'infer'), ('tf32+cl', 'infer'), ('bf16+cl+cp',
                                                          'train'))
    last = () if quick else (('bf16+cl+compile', 'train'), ('bf16+cl+compile',
                                                            'infer'))

    def classifiers(plan):
        return [(name, config, mode, phase, size, batch)
                for mode, phase in plan
                for name, config in CLASSIFIERS.items()]

    def detectors(modes):
        return [(name, config, mode, 'train', det_size, 2) for mode in modes
                for name, config in DETECTORS.items()]

    return (classifiers(first) + detectors(
        (RECOMMENDED, 'fp32+cl')) + classifiers(later) + detectors(
            ('bf16+cl+cp', )) + classifiers(last))


def measure_throughput(config, mode, phase, size, batch, iters, warmup):
    """One row of ``tools/analysis/benchmark_modes.py``, in this process:
    on CUDA the allocator's peak is reset before it; TF32 only in ``tf32``
    modes."""
    sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
    from benchmark_modes import measure
    if device() == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with tf32(mode.startswith('tf32')):
        r = measure(config, mode, phase, size, batch, iters, warmup)
    values = dict(
        mode=mode,
        phase=phase,
        batch=batch,
        size=f'{size[0]}x{size[1]}',
        s_per_iter=r['median_s'],
        img_per_s=batch / r['median_s'],
        peak_mib=round(r['peak_mb']))
    if r.get('compile_s') is not None:
        values['compile_s'] = round(r['compile_s'], 1)
    return values


# ---- the run ----------------------------------------------------------------


class Row(NamedTuple):
    """One planned row: ``function(*args)`` gives its values; it starts
    only with ``needs_s`` seconds left before the deadline, and is skipped
    without CUDA where ``cuda_only``. ``timeout_last``: the last argument is
    a timeout, cut to the seconds left before the deadline."""
    step: str
    name: str
    function: Callable
    args: tuple
    cuda_only: bool = False
    needs_s: float = 0
    timeout_last: bool = False


#: Seconds a row needs before the deadline to start: a training process's
#: start-up and iterations, a throughput row's build and timed steps, and a
#: compilation (minutes for FishNet-150's training step).
NEEDS_S = dict(training=45, throughput=20, compile=240)


def plan(args, data_root: Path) -> list:
    """Every row of ``args.steps``, in the order they run."""
    rows = []

    def chosen(name):
        return not args.only or any(o in name for o in args.only)

    if 'environment' in args.steps:
        rows += [
            Row('environment', 'versions', versions, ()),
            Row('environment', f'mmcv ops on {device()}', mmcv_ops_on_device,
                ())
        ]
    if 'equivalence' in args.steps:
        rows += [
            Row('equivalence', f'FishNet-99 {reference}, fp32',
                official_equivalence, (reference, ))
            for reference in ('224x224', '256x320')
        ]
    if 'training' in args.steps:
        data = make_data(data_root)
        runs = training_runs(data, 2 if args.quick else 12)
        for i, (name, run) in enumerate(runs.items()):
            if chosen(name):
                slug = re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')
                rows.append(
                    Row('training',
                        name,
                        train_with_launcher,
                        (run.config, run.options, args.out / 'train' / slug,
                         29500 + i, args.train_timeout),
                        run.cuda_only,
                        NEEDS_S['training'],
                        timeout_last=True))
    if 'throughput' in args.steps:
        iters, warmup = (1, 1) if args.quick else (10, 3)
        for name, config, mode, phase, size, batch in throughput_rows(
                args.quick):
            if chosen(name) and (not args.modes or mode in args.modes):
                rows.append(
                    Row(
                        'throughput', name, measure_throughput,
                        (config, mode, phase, size, batch, iters, warmup),
                        mode.startswith(('fp16', 'tf32')),
                        NEEDS_S['compile' if 'compile' in
                                mode else 'throughput']))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument(
        '--steps', nargs='+', choices=STEPS, default=list(STEPS))
    parser.add_argument(
        '--setup-json',
        type=Path,
        help='timings of the setup (acceptance.sh) to put in the report')
    parser.add_argument(
        '--allow-cpu',
        action='store_true',
        help='run without CUDA (the CPU rehearsal and the tests)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny throughput sizes, one timed iteration, two training '
        'iterations, no torch.compile rows (for rehearsals)')
    parser.add_argument(
        '--only',
        nargs='+',
        metavar='NAME',
        help='only the training runs / throughput models of these names')
    parser.add_argument(
        '--modes',
        nargs='+',
        metavar='MODE',
        help='only the throughput rows in these modes (e.g. bf16+cl)')
    parser.add_argument(
        '--deadline',
        type=float,
        metavar='UNIX_TIME',
        help='start no row after this time (seconds since the epoch); a '
        'training run still going then is stopped')
    parser.add_argument('--train-timeout', type=float, default=300)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available() and not args.allow_cpu:
        sys.exit('error: CUDA is not available (torch '
                 f'{torch.__version__}, CUDA build {torch.version.cuda}): '
                 'this is the GPU acceptance; --allow-cpu runs it anyway')
    # mmpretrain 1.2's multimodal models do not import with transformers 5:
    # keep them out here (mmfishnet.utils.mmpretrain_models); the training
    # processes, tools/train.py, do the same
    from mmfishnet.utils import use_mmpretrain_without_multimodal
    use_mmpretrain_without_multimodal()
    setup = {}
    if args.setup_json and args.setup_json.is_file():
        setup = json.loads(args.setup_json.read_text())
    report = Report(args.out, setup)
    report.save()
    not_reached = []
    for row in plan(args, args.out / 'data'):
        left = (args.deadline - time.time() if args.deadline else math.inf)
        if left <= row.needs_s:
            not_reached.append(row)
            continue
        if row.cuda_only and device() != 'cuda':
            report.add(row.step, row.name, 'skipped: needs CUDA', 0.0)
            continue
        function_args = row.args
        if row.timeout_last:
            function_args = (*row.args[:-1], min(row.args[-1], left))
        timed(report, row.step, row.name, row.function, *function_args)
    for row in not_reached:
        report.add(row.step, row.name, 'not reached: deadline', 0.0)
    failed = [
        r['name'] for r in report.data['rows']
        if r['status'] not in ('ok', 'skipped: needs CUDA',
                               'not reached: deadline')
    ]
    print(f'[acceptance] {len(report.data["rows"])} rows, '
          f'{len(failed)} failed{": " + ", ".join(failed) if failed else ""}'
          f', {len(not_reached)} not reached by the deadline; '
          f'{args.out / "acceptance.md"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
