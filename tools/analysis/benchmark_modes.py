"""Training and inference speed of FishNet vs ResNet in every execution mode.

    python tools/analysis/benchmark_modes.py classifier  # batch 32 at 224
    python tools/analysis/benchmark_modes.py detector    # Mask R-CNN, 800x1216
    python tools/analysis/benchmark_modes.py fishnext    # and ResNeXt-50
    python tools/analysis/benchmark_modes.py cifar10     # batch 128 at 32
    python tools/analysis/benchmark_modes.py tiny-imagenet  # batch 128 at 64
    python tools/analysis/benchmark_modes.py classifier --modes fp32 bf16+cl \
        --iters 3 --warmup 1 --compile

Modes: ``fp32`` (float32, NCHW: what an eager model does by default),
``fp32+cl`` (channels_last), ``bf16`` (bf16 autocast, NCHW), ``bf16+cl`` (both;
what ``tools/train.py --amp`` does), on request ``fp16`` and ``fp16+cl`` (fp16
autocast, for GPUs; the loss scaler's cost is left out) and ``tf32`` /
``tf32+cl`` (float32 with TF32 matmuls and cuDNN convolutions on; every other
mode keeps TF32 off on CUDA, so ``fp32`` is strict float32); ``--compile`` adds
``fp32+compile`` and ``bf16+cl+compile`` (``torch.compile`` of the backbone
for inference, of the loss computation for training, whose backward inductor
compiles too, as ``tools/train.py --compile`` does; the one-time cost is
printed, measured with an empty inductor cache); ``--with-cp`` adds gradient
checkpointing rows for training (``fp32+cp`` and ``bf16+cl+cp``).
``--authors-code DIR`` (classifier) adds the authors' FishNet-150 from a
clone of github.com/kevin-ssy/FishNet, trained the way their ``main.py``
does (cross-entropy on normalised float images). On CUDA ``bf16`` is bf16
autocast as well. Every measurement runs in a fresh process:
the models are the full mmpretrain classifier / mmdet detector with random
weights, trained with SGD on one synthetic batch (inference: ``predict``).
Prints seconds per iteration (median), images per second, the process's peak
memory (peak RSS on the CPU, allocator peak on CUDA), the speed-up over
``fp32`` of the same model, and each model's throughput relative to the
task's last model (the ResNet) and to the authors' code in the same mode.
``--one CONFIG MODE:PHASE`` makes one measurement in this process and prints
it as JSON (what each row runs; ``tools/gpu/acceptance.py`` calls it with
``--size``, ``--batch``, ``--iters`` and ``--warmup``).
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from bench_utils import (device, device_name, peak_memory_mb, run_isolated,
                         time_steps)
from benchmark_train_step import build, synthetic_batch

from mmfishnet.utils import use_mmpretrain_without_multimodal

TASKS = {
    'classifier':
    dict(
        models={
            'FishNet-150': 'configs/fishnet150_8xb32_in1k.py',
            'ResNet-50': 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
        },
        size=(224, 224),
        batch=32),
    'detector':
    dict(
        models={
            'FishNet-150': 'configs/mask_rcnn_fishnet150_fpn_coco.py',
            'ResNet-50': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
        },
        size=(800, 1216),
        batch=2),
    'fishnext':
    dict(
        models={
            'FishNeXt-150': 'configs/fishnext150_8xb32_in1k.py',
            'FishNet-150': 'configs/fishnet150_8xb32_in1k.py',
            'ResNeXt-50 32x4d':
            'mmpretrain::resnext/resnext50-32x4d_8xb32_in1k.py'
        },
        size=(224, 224),
        batch=32),
    'cifar10':
    dict(
        models={
            'FishNet-99 w0.5 s1':
            'configs/fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py',
            'FishNet-99 w0.5 s2':
            'configs/fishnet99-w0.5-s2_1xb128-cos200e_cifar10.py',
            'ResNet-18 CIFAR': 'mmpretrain::resnet/resnet18_8xb16_cifar10.py'
        },
        size=(32, 32),
        batch=128),
    'tiny-imagenet':
    dict(
        models={
            'FishNet-99 w0.5 s2':
            'configs/fishnet99-w0.5-s2_1xb128-cos200e_tiny-imagenet.py',
            'ResNet-18 CIFAR-style stem':
            'mmpretrain::resnet/resnet18_8xb16_cifar10.py'
        },
        size=(64, 64),
        batch=128),
}
MODES = ('fp32', 'fp32+cl', 'bf16', 'bf16+cl')
#: fp16 autocast (no loss scaling: the step's cost) and TF32, for GPUs
GPU_MODES = ('fp16', 'fp16+cl', 'tf32', 'tf32+cl')
AUTHORS_PREFIX = 'authors:'
AUTHORS_NAME = "FishNet-150 (authors' code)"


def check_authors_code(code_dir: str) -> None:
    """Exit with a message unless ``code_dir`` looks like a clone of the
    authors' repository (github.com/kevin-ssy/FishNet)."""
    if not os.path.isfile(os.path.join(code_dir, 'models', 'net_factory.py')):
        sys.exit(f'error: --authors-code {code_dir} has no '
                 'models/net_factory.py: give the folder of a clone of '
                 'https://github.com/kevin-ssy/FishNet')


def build_authors_model(code_dir: str) -> torch.nn.Module:
    """FishNet-150 from a clone of the authors' repository
    (``models/net_factory.py``)."""
    check_authors_code(code_dir)
    sys.path.insert(0, os.path.abspath(code_dir))
    from models.net_factory import fishnet150
    return fishnet150()


def training_step(model, packed, autocast, compile=False):
    """One SGD step of an mmengine model on ``packed`` (what the Runner's
    ``train_step`` does, without the optimizer wrapper); ``compile`` compiles
    the loss computation, whose backward inductor then compiles too."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-4, momentum=0.9)

    def loss_of(packed):
        data = model.data_preprocessor(packed, True)
        with autocast():
            loss, _ = model.parse_losses(model(**data, mode='loss'))
        return loss

    if compile:
        loss_of = torch.compile(loss_of)

    def step():
        loss = loss_of(packed)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def plain_training_step(model, images, labels, autocast):
    """One SGD step of a plain classifier, as the authors' ``main.py`` does."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def step():
        with autocast():
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def measure(config: str, mode: str, phase: str, size, batch: int, iters: int,
            warmup: int) -> dict:
    """Time ``phase`` of the model of ``config`` (or of the authors' code
    when ``config`` is ``authors:DIR``) in ``mode``."""
    from mmfishnet.runtime import tool_safety

    # mmcv's ops (NMS, RoIAlign) take bf16 and channels_last maps
    with tool_safety():
        return _measure(config, mode, phase, size, batch, iters, warmup)


def _measure(config: str, mode: str, phase: str, size, batch: int, iters: int,
             warmup: int) -> dict:
    from mmfishnet.engine import float32_head_outputs, to_channels_last
    torch.manual_seed(0)
    authors = config.startswith(AUTHORS_PREFIX)
    if authors:
        model = build_authors_model(config[len(AUTHORS_PREFIX):])
        # The authors' input pipeline hands over normalised float images.
        images = torch.randn(batch, 3, *size, device=device())
        labels = torch.arange(batch, device=device()) % 1000
    else:
        scope, model = build(config)
        packed = synthetic_batch(scope, model, size, batch)
    model.to(device())
    parts = mode.split('+')
    # a fresh process per measurement: set for this one only
    torch.backends.cuda.matmul.allow_tf32 = parts[0] == 'tf32'
    torch.backends.cudnn.allow_tf32 = parts[0] == 'tf32'
    if 'cp' in parts:
        for m in model.modules():
            if hasattr(m, 'with_cp'):
                m.with_cp = True
    if 'cl' in parts:
        to_channels_last(model)
    dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(parts[0])
    if dtype and not authors:
        float32_head_outputs(model)

    def autocast():
        return torch.autocast(device(), dtype=dtype, enabled=dtype is not None)

    compile_s = inductor_cache = None
    if 'compile' in parts:
        # A fresh inductor cache: the printed cost is a first compilation,
        # not a reuse of kernels cached by an earlier run.
        inductor_cache = tempfile.TemporaryDirectory(
            prefix='benchmark_modes_inductor_')
        os.environ['TORCHINDUCTOR_CACHE_DIR'] = inductor_cache.name
    if phase == 'train':
        model.train()
        step = (
            plain_training_step(model, images, labels, autocast) if authors
            else training_step(model, packed, autocast, 'compile' in parts))
    else:
        model.eval()
        if 'compile' in parts:
            if authors:
                model = torch.compile(model)
            else:
                model.backbone = torch.compile(model.backbone)

        @torch.no_grad()
        def step():
            with autocast():
                if authors:
                    model(images)
                else:
                    model(
                        **model.data_preprocessor(packed, False),
                        mode='predict')

    if 'compile' in parts:
        start = time.perf_counter()
        step()
        compile_s = time.perf_counter() - start
    result = time_steps(step, warmup, iters)
    if inductor_cache is not None:
        inductor_cache.cleanup()
    return dict(
        result,
        peak_mb=peak_memory_mb(),
        device=device_name(),
        compile_s=compile_s)


def relative_speed(rows: dict, mode: str, name: str, other: str) -> str:
    """Throughput of ``name`` over that of ``other`` in ``mode``, or ''."""
    if name == other or (mode, other) not in rows:
        return ''
    ratio = rows[mode, other]['median_s'] / rows[mode, name]['median_s']
    return f'{ratio:.2f}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('task', choices=sorted(TASKS))
    parser.add_argument(
        '--modes', nargs='+', choices=MODES + GPU_MODES, default=MODES)
    parser.add_argument(
        '--phases',
        nargs='+',
        choices=('train', 'infer'),
        default=('train', 'infer'))
    parser.add_argument('--compile', action='store_true')
    parser.add_argument('--with-cp', action='store_true')
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--batch', type=int, help='default: per task')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input size (default: per task)')
    parser.add_argument(
        '--authors-code',
        metavar='DIR',
        help='classifier: also time the authors\' FishNet-150 from DIR, a '
        'clone of https://github.com/kevin-ssy/FishNet')
    parser.add_argument(
        '--one',
        nargs=2,
        metavar=('CONFIG', 'MODE:PHASE'),
        help='one measurement in this process, printed as JSON')
    args = parser.parse_args()
    # mmpretrain's classifiers import with transformers 5 too
    # (mmfishnet.utils.mmpretrain_models)
    use_mmpretrain_without_multimodal()
    task = TASKS[args.task]
    models = dict(task['models'])
    if args.authors_code:
        if args.task != 'classifier':
            parser.error('--authors-code compares classifiers: use it with '
                         'the classifier task')
        check_authors_code(args.authors_code)
        first, *rest = models.items()
        models = dict(
            [first, (AUTHORS_NAME, AUTHORS_PREFIX + args.authors_code), *rest])
    batch = args.batch or task['batch']
    size = tuple(args.size or task['size'])
    if args.one:
        config, mode, phase = args.one[0], *args.one[1].split(':')
        print(
            json.dumps(
                measure(config, mode, phase, size, batch, args.iters,
                        args.warmup)))
        return

    print(f'{args.task}: batch {batch} of {size[0]}x{size[1]}, median of '
          f'{args.iters} iterations after {args.warmup} warm-up, '
          f'{device_name()}')
    for phase in args.phases:
        modes = list(args.modes)
        if args.compile:
            modes += ['fp32+compile', 'bf16+cl+compile']
        if phase == 'train' and args.with_cp:
            modes += ['fp32+cp', 'bf16+cl+cp']
        names = list(models)
        reference = names[-1]
        rows = {}
        for mode in modes:
            for name, config in models.items():
                if 'compile' in mode and phase == 'train' \
                        and name == AUTHORS_NAME:
                    continue  # their training loop is not compiled
                if 'cp' in mode.split('+') and name == AUTHORS_NAME:
                    continue  # the authors' blocks have no checkpointing
                rows[mode, name] = run_isolated(__file__, args.task, [
                    config, f'{mode}:{phase}', '--size',
                    str(size[0]),
                    str(size[1]), '--batch',
                    str(batch), '--iters',
                    str(args.iters), '--warmup',
                    str(args.warmup)
                ])
        with_authors = AUTHORS_NAME in models
        columns = [
            'mode', 'model', 's/iter', 'img/s', 'peak MB', 'vs fp32',
            f'img/s vs {reference}'
        ]
        if with_authors:
            columns.append(f'img/s vs {AUTHORS_NAME}')
        print(f'\n{phase}')
        print('| ' + ' | '.join(columns) + ' |')
        print('|' + '---|' * len(columns))
        for (mode, name), r in rows.items():
            base = rows.get(('fp32', name))
            speedup = (f'{base["median_s"] / r["median_s"]:.2f}x'
                       if base else '')
            if r.get('compile_s'):
                speedup += f' (compiled in {r["compile_s"]:.0f} s)'
            cells = [
                mode, name, f'{r["median_s"]:.3f}',
                f'{batch / r["median_s"]:.2f}', f'{r["peak_mb"]:.0f}', speedup,
                relative_speed(rows, mode, name, reference)
            ]
            if with_authors:
                cells.append(
                    relative_speed(rows, mode, name, AUTHORS_NAME) if name ==
                    names[0] else '')
            print('| ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
