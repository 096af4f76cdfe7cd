"""Train the small-image FishNet and a ResNet side by side on the same data.

    python tools/analysis/compare_small_images.py cifar10 \
        --data ../shared/data/cifar10 --epochs 15 --amp \
        --out work_dirs/cmp_cifar
    python tools/analysis/compare_small_images.py tiny-imagenet \
        --data ../shared/data/tiny_imagenet_10 --epochs 15 --amp
    python tools/analysis/compare_small_images.py cifar10 \
        --data ../shared/data/cifar10 --time-budget 600 --amp

Data: for ``cifar10`` a folder with ``train_*.npz`` and ``test_*.npz``
(``x`` uint8 N x 32 x 32 x 3 RGB, ``y`` labels), written out as image folders
under ``--out``; or any ImageNet-style folder (``train/<class>/``,
``val/<class>/``) for either dataset. Every model gets the same images,
augmentation (the FishNet config's pipeline), batch, optimizer (SGD lr 0.1,
momentum 0.9, weight decay 5e-4, cosine over ``--epochs``), precision
(``--amp``), memory format (``--memory-format``, channels_last by default)
and ``--compile`` setting; only ``model`` differs. Prints one row per model
(test top-1 of the last epoch and the best, parameters, FLOPs of one image,
seconds per training epoch) and saves ``curves.png`` (test top-1 per epoch) and
``results.json`` in ``--out``.

``--time-budget S`` gives every model the same training time instead of the
same number of epochs (``TimeBudgetHook``: the learning rate is a cosine of
the time spent and training stops when ``S`` seconds are used; validation
after every epoch's worth of iterations and at the end is not counted).
``curves.png`` then shows test top-1 against training seconds.
"""
import argparse
import copy
import json
import os.path as osp
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config, ConfigDict
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmfishnet  # noqa: F401
from mmfishnet.engine import TimeBudgetHook
from mmfishnet.runtime import (MEMORY_FORMATS, enable_amp, enable_compile,
                               set_memory_format)

REPO = Path(__file__).resolve().parents[2]
SETUPS = {
    'cifar10':
    dict(
        size=32,
        models={
            'FishNet-99 w0.5 s1 (mmfishnet)':
            'configs/fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py',
            'FishNeXt-99 w0.5 s1 (mmfishnet)':
            'configs/fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py'
            '#fishnext99',
            'FishNet-99 w0.5 s2 (mmfishnet)':
            'configs/fishnet99-w0.5-s2_1xb128-cos200e_cifar10.py',
            'ResNet-18 CIFAR (mmpretrain)':
            'mmpretrain::resnet/resnet18_8xb16_cifar10.py',
        }),
    'tiny-imagenet':
    dict(
        size=64,
        models={
            'FishNet-99 w0.5 s2 (mmfishnet)':
            'configs/fishnet99-w0.5-s2_1xb128-cos200e_tiny-imagenet.py',
            'ResNet-18 CIFAR-style stem, 64x64 (mmpretrain)':
            'mmpretrain::resnet/resnet18_8xb16_cifar10.py',
        }),
}


def npz_to_folders(data: Path, out: Path) -> Path:
    """``train_*.npz`` / ``test_*.npz`` -> out/{train,val}/<label>/*.png."""
    root = out / 'images'
    for split, pattern in (('train', 'train_*.npz'), ('val', 'test_*.npz')):
        files = sorted(data.glob(pattern))
        if len(files) != 1:
            raise SystemExit(f'{data}: expected one {pattern}, found '
                             f'{[f.name for f in files]}')
        arrays = np.load(files[0])
        for i, (img, label) in enumerate(zip(arrays['x'], arrays['y'])):
            folder = root / split / f'{int(label):02d}'
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f'{i:05d}.png'
            if not path.exists():
                cv2.imwrite(str(path), img[..., ::-1])  # RGB -> BGR file
    return root


class EpochRecorder(Hook):
    """Seconds of each training epoch, top-1 after each validation and the
    training seconds spent before it."""

    def __init__(self, budget: TimeBudgetHook = None):
        self.budget = budget
        self.epoch_seconds, self.top1, self.seconds = [], [], []

    def before_train_epoch(self, runner):
        self._start = time.perf_counter()

    def after_train_epoch(self, runner):
        self.epoch_seconds.append(time.perf_counter() - self._start)

    def after_val_epoch(self, runner, metrics=None):
        self.top1.append(float(metrics['accuracy/top1']))
        self.seconds.append(
            self.budget.trained_s if self.budget else sum(self.epoch_seconds))


def build_cfg(model_ref: str, fishnet_cfg: Config, root: Path,
              num_classes: int, args, work_dir: Path) -> Config:
    """``fishnet_cfg`` with the model of ``model_ref`` and the shared
    data/schedule."""
    path, _, arch = model_ref.partition('#')
    if path.startswith('mmpretrain::'):
        from mmengine.hub import get_config
        model = copy.deepcopy(get_config(path).model)
        model.head.topk = (1, )
    else:
        model = copy.deepcopy(Config.fromfile(REPO / path).model)
        if arch:
            model.backbone.arch = arch
    model.head.num_classes = num_classes
    cfg = copy.deepcopy(fishnet_cfg)
    cfg.model = model
    cfg.work_dir = str(work_dir)
    cfg.data_preprocessor.num_classes = num_classes
    cfg.data_preprocessor.to_rgb = True  # image files are BGR
    for loader, split, pipeline in (('train_dataloader', 'train',
                                     cfg.train_pipeline),
                                    ('val_dataloader', 'val',
                                     cfg.test_pipeline)):
        if pipeline[0]['type'] != 'LoadImageFromFile':  # CIFAR10 gives arrays
            pipeline = [dict(type='LoadImageFromFile'), *pipeline]
        cfg[loader] = ConfigDict(
            batch_size=args.batch_size,
            num_workers=1,
            persistent_workers=True,
            sampler=dict(
                # an iteration loop pauses 2 s at each DefaultSampler restart
                type='InfiniteSampler'
                if split == 'train' and args.time_budget else 'DefaultSampler',
                shuffle=split == 'train'),
            dataset=dict(
                type='CustomDataset',
                data_root=str(root),
                data_prefix=split,
                pipeline=pipeline))
    cfg.val_evaluator = dict(type='Accuracy', topk=(1, ))
    # tools/test.py on the dumped config evaluates the same test images
    cfg.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    cfg.test_evaluator = copy.deepcopy(cfg.val_evaluator)
    cfg.test_cfg = dict()
    cfg.optim_wrapper = ConfigDict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
    if args.time_budget:
        # validate every epoch's worth of iterations; TimeBudgetHook stops
        cfg.param_scheduler = None
        epoch_iters = -(-count_images(root / 'train') // args.batch_size)
        cfg.train_cfg = dict(
            by_epoch=False, max_iters=10**9, val_interval=epoch_iters)
        cfg.default_hooks.checkpoint = dict(
            type='CheckpointHook', by_epoch=False, interval=-1)
    else:
        cfg.param_scheduler = dict(
            type='CosineAnnealingLR', T_max=args.epochs, by_epoch=True)
        cfg.train_cfg = dict(
            by_epoch=True, max_epochs=args.epochs, val_interval=1)
        cfg.default_hooks.checkpoint = dict(
            type='CheckpointHook', interval=args.epochs)
    cfg.default_hooks.logger.interval = 10
    cfg.randomness = dict(seed=args.seed)
    if args.amp:
        enable_amp(cfg, 'auto')
    set_memory_format(cfg, args.memory_format)
    if args.compile:
        enable_compile(cfg)
    return cfg


def count_images(folder: Path) -> int:
    return sum(1 for f in folder.rglob('*') if f.is_file())


def complexity(model: torch.nn.Module, size: int):
    model = copy.deepcopy(model).float().eval()
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, size, size))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return sum(p.numel() for p in model.parameters()), analyzer.total()


def draw(results: dict, path: Path, title: str, by_time: bool) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for name, r in results.items():
        steps = r['seconds'] if by_time else range(1, len(r['top1']) + 1)
        ax.plot(
            steps,
            r['top1'],
            marker='o',
            markersize=3,
            label=f'{name}: {r["top1"][-1]:.2f}')
    ax.set_xlabel('training seconds' if by_time else 'epoch')
    ax.set_ylabel('test top-1 (%)')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc='lower right', fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('dataset', choices=sorted(SETUPS))
    parser.add_argument(
        '--data',
        required=True,
        help='npz folder (cifar10) or train/ + val/ folders')
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument(
        '--time-budget',
        type=float,
        metavar='S',
        help='train every model for S seconds instead of --epochs')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16/fp16 autocast for every model')
    parser.add_argument(
        '--memory-format', choices=MEMORY_FORMATS, default='channels_last')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the loss computation (as tools/train.py '
        '--compile)')
    parser.add_argument(
        '--models', nargs='*', help='subset of the model names (default: all)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default=None, help='output folder')
    args = parser.parse_args()
    if args.time_budget is not None and not args.time_budget > 0:
        parser.error(f'--time-budget must be a positive number of seconds, '
                     f'got {args.time_budget}')

    setup = SETUPS[args.dataset]
    data = Path(args.data)
    out = Path(args.out or f'work_dirs/compare_{args.dataset}')
    out.mkdir(parents=True, exist_ok=True)
    if (data / 'train').is_dir() and (data / 'val').is_dir():
        root = data
    elif args.dataset == 'cifar10' and list(data.glob('train_*.npz')):
        root = npz_to_folders(data, out)
    else:
        raise SystemExit(f'{data}: expected train/ and val/ image folders'
                         ' (or, for cifar10, train_*.npz and test_*.npz)')
    num_classes = len([d for d in (root / 'train').iterdir() if d.is_dir()])
    first = next(iter(setup['models'].values())).partition('#')[0]
    fishnet_cfg = Config.fromfile(REPO / first)

    results = {}
    for name, ref in setup['models'].items():
        if args.models and name not in args.models:
            continue
        work_dir = out / name.split(' (')[0].replace(' ', '_')
        cfg = build_cfg(ref, fishnet_cfg, root, num_classes, args, work_dir)
        budget = TimeBudgetHook(args.time_budget) if args.time_budget \
            else None
        recorder = EpochRecorder(budget)
        runner = Runner.from_cfg(cfg)
        runner.register_hook(recorder)
        if budget:
            runner.register_hook(budget)
        runner.train()
        if budget and runner.iter % cfg.train_cfg.val_interval:
            runner.val_loop.run()  # the test top-1 when the time ran out
        params, flops = complexity(runner.model, setup['size'])
        results[name] = dict(
            config=ref,
            top1=recorder.top1,
            params=params,
            flops=flops,
            seconds=recorder.seconds,
            iters=runner.iter,
            epoch_seconds=recorder.epoch_seconds)
        with open(out / 'results.json', 'w') as f:
            json.dump(dict(args=vars(args), results=results), f, indent=1)

    length = (f'{args.time_budget:.0f} s of training'
              if args.time_budget else f'{args.epochs} epochs')
    print(f'\n{args.dataset}: {length}, batch {args.batch_size}, '
          f'{"mixed precision" if args.amp else "fp32"}, data {data}')
    speed = 'iterations' if args.time_budget else 's/epoch'
    print(f'| model | top-1 last (best) | params (M) | GFLOPs | {speed} |')
    print('|---|---|---|---|---|')
    for name, r in results.items():
        done = (
            r['iters']
            if args.time_budget else f'{np.median(r["epoch_seconds"]):.1f}')
        print(f'| {name} | {r["top1"][-1]:.2f} ({max(r["top1"]):.2f}) | '
              f'{r["params"] / 1e6:.2f} | {r["flops"] / 1e9:.3f} | {done} |')
    draw(
        results,
        out / 'curves.png',
        f'{args.dataset} ({osp.basename(str(data).rstrip("/"))}), {length}',
        by_time=bool(args.time_budget))
    print(f'curves: {out / "curves.png"}, numbers: {out / "results.json"}')


if __name__ == '__main__':
    main()
