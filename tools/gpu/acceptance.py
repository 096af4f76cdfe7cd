"""The GPU acceptance run: what only a CUDA machine can show, in an order
that makes an early stop still report something.

    PYTHONPATH=.:SITE python tools/gpu/acceptance.py --out OUT \
        [--steps environment equivalence training throughput] [--allow-cpu]

(``tools/gpu/acceptance.sh`` installs the prepared wheels, builds mmcv's
CUDA ops and then runs this.) The steps:

1. ``environment``: GPU, driver, torch, CUDA, cuDNN and the OpenMMLab
   versions; whether mmcv's compiled ops run on the GPU (NMS, RoIAlign).
2. ``equivalence``: FishNet-99 with weights in the official format,
   converted, against the official model's logits and FPN maps (fp32, TF32
   off), at 224x224 and 256x320.
3. ``training``: one process of ``tools/dist_train.sh`` each (NCCL, SyncBN)
   for Mask R-CNN FishNet-150 in fp32, fp16 with mmengine's
   ``AmpOptimWrapper`` (loss scaler), fp16 and bf16 with
   ``MixedPrecisionOptimWrapper``, the FishNet-150 classifier and the CamVid
   segmentor, on data generated on the spot.
4. ``throughput``: FishNet-150 against ResNet-50 as classifiers (train and
   inference img/s in fp32 / bf16 / fp16 autocast, channels_last) and as
   Mask R-CNN backbones at the COCO config's 800x1216 (s/iter), with peak
   memory and with gradient checkpointing (``with_cp``) on and off.

Every result is written as soon as it exists: ``OUT/acceptance.json`` (all
numbers) and ``OUT/acceptance.md`` (the tables), rewritten after each row, so
that a stop at any point leaves what was done. A failing row is recorded
with its error and the run goes on. Without CUDA it stops at once, unless
``--allow-cpu`` (what the tests of this tool use).
"""
import argparse
import datetime
import json
import math
import os
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

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
    try:
        import mmseg
        values['mmseg'] = mmseg.__version__
    except ImportError:
        values['mmseg'] = 'not installed'
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
    """NMS and RoIAlign of mmcv's compiled extension on this device."""
    from mmcv.ops import nms, roi_align
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30.]],
                         device=device())
    scores = torch.tensor([0.9, 0.8, 0.7], device=device())
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    feats = torch.arange(
        2 * 8 * 8, dtype=torch.float32, device=device()).reshape(1, 2, 8, 8)
    rois = torch.tensor([[0, 0, 0, 4, 4.]], device=device())
    pooled = roi_align(feats, rois, (2, 2), 1.0, 2, 'avg', True)
    return dict(
        nms_keep=keep.tolist(),
        nms_ok=keep.tolist() == [0, 2],
        roi_align_sum=round(float(pooled.sum()), 3),
        status='ok' if keep.tolist() == [0, 2] else 'wrong')


# ---- 2. equivalence ---------------------------------------------------------


def official_equivalence(reference_name: str) -> dict:
    """Converted official-format FishNet-99 on this device against the
    reference logits and FPN maps (relative error, fp32, TF32 off)."""
    sys.path.insert(0, str(REPO / 'tests'))
    from conftest import (deterministic_official_state, load_reference,
                          reference_input, relative_error)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    from mmfishnet.converters import convert_official_checkpoint
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
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

    with torch.no_grad():
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


def training_runs(data: dict) -> dict:
    """name -> (config, tools/train.py arguments): one iteration or one
    tiny epoch each, SyncBN in the backbone, no checkpoint written."""
    shapes = [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data["shapes"]}/',
        'train_cfg.max_iters=2', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint=None', 'model.backbone.norm_cfg.type=SyncBN'
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
        'model.backbone.norm_cfg.type=SyncBN'
    ]
    segmentor = [
        '--cfg-options', *(f'{split}_dataloader.dataset.data_root='
                           f'{data["camvid"]}' for split in ('train', 'val')),
        'train_dataloader.batch_size=2',
        *(f'{loader}.{option}'
          for loader in ('train_dataloader', 'val_dataloader')
          for option in NO_WORKERS), 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint=None'
    ]
    return {
        'Mask R-CNN FishNet-150, fp32': (SHAPES_CONFIG, shapes),
        'Mask R-CNN FishNet-150, fp16, AmpOptimWrapper': (SHAPES_CONFIG, [
            *shapes, 'optim_wrapper.type=AmpOptimWrapper',
            'optim_wrapper.loss_scale=dynamic'
        ]),
        'Mask R-CNN FishNet-150, fp16, MixedPrecisionOptimWrapper':
        (SHAPES_CONFIG, ['--amp', '--amp-dtype', 'float16', *shapes]),
        'Mask R-CNN FishNet-150, bf16, MixedPrecisionOptimWrapper':
        (SHAPES_CONFIG, ['--amp', '--amp-dtype', 'bfloat16', *shapes]),
        'classifier FishNet-150, fp32': (CLASSIFIER_CONFIG, classifier),
        'segmentor FPN FishNet-99 w0.25 (CamVid config), fp32':
        (SEGMENTOR_CONFIG, segmentor),
    }


LOSS = re.compile(r'\(train\).*?\s(?:loss: )([-\d.e+naif]+)')


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
        result = subprocess.run(
            command,
            cwd=REPO,
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            timeout=timeout_s)
    text = log.read_text(errors='replace')
    losses = [float(v) for v in LOSS.findall(text)]
    # without CUDA the launch tools say what they replaced
    backend = ('gloo' if 'joined a gloo process group' in text else ','.join(
        sorted(set(re.findall(r"backend='(\w+)'", text)))))
    values = dict(
        returncode=result.returncode,
        iterations_logged=len(losses),
        last_loss=losses[-1] if losses else None,
        backend=backend,
        sync_bn=('SyncBN -> BN' not in text and "type='SyncBN'" in text),
        log=str(log))
    finite = bool(losses) and all(math.isfinite(v) for v in losses)
    if result.returncode != 0:
        values['status'] = 'failed'
        values['error'] = text[-3000:]
    elif not finite:
        values['status'] = 'no finite loss'
    return values


# ---- 4. throughput ----------------------------------------------------------

CLASSIFIERS = {
    'FishNet-150': 'configs/fishnet150_8xb32_in1k.py',
    'ResNet-50': 'mmpretrain::resnet/resnet50_8xb32_in1k.py',
}
DETECTORS = {
    'Mask R-CNN FishNet-150': 'configs/mask_rcnn_fishnet150_fpn_coco.py',
    'Mask R-CNN R-50': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
}


def throughput_rows(quick: bool) -> list:
    """(name, config, mode, phase, size, batch) of every measurement:
    classifiers in three precisions (channels_last), train and inference,
    and detectors at the COCO config's size; ``+cp``: with_cp."""
    batch = 4 if quick else 128
    size = (64, 64) if quick else (224, 224)
    det_size = (128, 160) if quick else (800, 1216)
    rows = []
    for phase in ('train', 'infer'):
        for mode in ('fp32+cl', 'bf16+cl', 'fp16+cl'):
            for name, config in CLASSIFIERS.items():
                rows.append((name, config, mode, phase, size, batch))
    for name, config in CLASSIFIERS.items():
        rows.append((name, config, 'bf16+cl+cp', 'train', size, batch))
    for mode in ('fp32+cl', 'bf16+cl', 'bf16+cl+cp'):
        for name, config in DETECTORS.items():
            rows.append((name, config, mode, 'train', det_size, 2))
    return rows


def measure_throughput(config, mode, phase, size, batch, iters, warmup):
    """One row of ``tools/analysis/benchmark_modes.py``, in this process:
    on CUDA the allocator's peak is reset before it."""
    sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
    from benchmark_modes import measure
    if device() == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    r = measure(config, mode, phase, size, batch, iters, warmup)
    return dict(
        mode=mode,
        phase=phase,
        batch=batch,
        size=f'{size[0]}x{size[1]}',
        s_per_iter=r['median_s'],
        img_per_s=batch / r['median_s'],
        peak_mib=round(r['peak_mb']))


# ---- the run ----------------------------------------------------------------


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
        help='run without CUDA (for testing this tool)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny throughput sizes and one timed iteration (for testing)')
    parser.add_argument(
        '--only',
        nargs='+',
        metavar='NAME',
        help='only the training runs / throughput models of these names')
    parser.add_argument('--train-timeout', type=float, default=300)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available() and not args.allow_cpu:
        sys.exit('error: CUDA is not available (torch '
                 f'{torch.__version__}, CUDA build {torch.version.cuda}): '
                 'this is the GPU acceptance; --allow-cpu runs it anyway')
    setup = {}
    if args.setup_json and args.setup_json.is_file():
        setup = json.loads(args.setup_json.read_text())
    report = Report(args.out, setup)
    report.save()

    def chosen(name):
        return not args.only or any(o in name for o in args.only)

    if 'environment' in args.steps:
        timed(report, 'environment', 'versions', versions)
        timed(report, 'environment', f'mmcv ops on {device()}',
              mmcv_ops_on_device)
    if 'equivalence' in args.steps:
        for reference in ('224x224', '256x320'):
            timed(report, 'equivalence', f'FishNet-99 {reference}, fp32',
                  official_equivalence, reference)
    if 'training' in args.steps:
        data = make_data(args.out / 'data')
        runs = training_runs(data)
        for i, (name, (config, options)) in enumerate(runs.items()):
            if chosen(name):
                slug = re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')
                timed(report, 'training', name, train_with_launcher, config,
                      options, args.out / 'train' / slug, 29500 + i,
                      args.train_timeout)
    if 'throughput' in args.steps:
        iters, warmup = (1, 1) if args.quick else (10, 3)
        for name, config, mode, phase, size, batch in throughput_rows(
                args.quick):
            if chosen(name):
                timed(report, 'throughput', name, measure_throughput, config,
                      mode, phase, size, batch, iters, warmup)
    failed = [r['name'] for r in report.data['rows'] if r['status'] != 'ok']
    print(f'[acceptance] {len(report.data["rows"])} rows, '
          f'{len(failed)} not ok{": " + ", ".join(failed) if failed else ""};'
          f' {args.out / "acceptance.md"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
