"""Train the CamVid FishNet segmentor and the same segmentor with ResNet
backbones side by side, from scratch, on the same data.

    python tools/analysis/compare_segmentation.py \
        --data ../shared/data/camvid --out work_dirs/compare_camvid \
        [--epochs N] [--amp] [--resume]

Every model is ``configs/fpn_fishnet99-w0.25_1xb8-10e_camvid-480x360.py``
with only the backbone (and the FPN input channels) swapped: its FishNet-99
at quarter width or widened to ResNet-18's multiply-adds (w0.625), ResNet-18
and ResNet-50 (mmseg's ``ResNetV1c``). They get the same crops,
augmentation, batch, schedule (poly decay over ``--epochs``, by default the
config's), precision and memory format, and are validated on the whole val
images after every epoch. Prints, per model: val mIoU (last and best), aAcc,
the IoU of every class, parameters, GFLOPs (multiply-adds) at 480x360 and
seconds per training epoch; saves ``curves.png`` (mIoU per epoch) and
``results.json`` in ``--out``. ``--resume`` continues each model from the
newest checkpoint of its work dir (a checkpoint is kept after every epoch)
and reads finished models back from their ``done.json``; it refuses a work
dir trained with other settings (``settings.json``: data, epochs, batch,
precision, subset, ``--cfg-options``, seed, time budget). ``--equal-time
MODEL [OTHER ...]`` then trains the other models (or those named, which need
not be among ``--models``) for as many training seconds as MODEL took
(``TimeBudgetHook``, the lr a cosine of the time), in
``<model>_equal-time``.
"""
import argparse
import copy
import json
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

import mmfishnet  # noqa: F401
from mmfishnet.datasets import CamVidDataset
from mmfishnet.runtime import (adapt_config_to_cpu, add_checkpoint_safety_hook,
                               enable_amp, set_memory_format)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'fpn_fishnet99-w0.25_1xb8-10e_camvid-480x360.py'
CONFIG_W0625 = (
    REPO / 'configs' / 'fpn_fishnet99-w0.625_1xb8-10e_camvid-480x360.py')
THIN_CLASSES = ('pole', 'sign', 'pedestrian', 'bicyclist')


def resnet(depth: int) -> dict:
    """mmseg's ResNetV1c as its FPN configs use it."""
    return dict(
        type='ResNetV1c',
        depth=depth,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        contract_dilation=True)


# name -> (config, backbone: None for the config's own or a ResNet, with
# its FPN input channels)
MODELS = {
    'FishNet-99 w0.25': (CONFIG, None, None),
    # within 15 % of ResNet-18's multiply-adds at 480x360 (7.73 / 8.63 G)
    'FishNet-99 w0.625': (CONFIG_W0625, None, None),
    'ResNet-18 (ResNetV1c)': (CONFIG, resnet(18), [64, 128, 256, 512]),
    'ResNet-50 (ResNetV1c)': (CONFIG, resnet(50), [256, 512, 1024, 2048]),
}


@METRICS.register_module(force=True)
class PerClassIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` that also returns the IoU of every class
    (``IoU.<class>``, in %), which ``IoUMetric`` only prints."""

    def compute_metrics(self, results: list) -> dict:
        metrics = super().compute_metrics(results)
        intersect, union = (sum(r[i] for r in results) for i in (0, 1))
        iou = (intersect / union).numpy() * 100
        for name, value in zip(self.dataset_meta['classes'], iou):
            metrics[f'IoU.{name}'] = round(float(value), 2)
        return metrics


class EpochRecorder(Hook):
    """Training seconds and validation metrics of every epoch, appended to
    ``history.json`` in the work dir so that a resumed run keeps them."""

    def __init__(self, path: Path):
        self.path = path
        self.epochs = json.loads(path.read_text()) if path.exists() else []

    def before_train_epoch(self, runner):
        self._start = time.perf_counter()

    def after_train_epoch(self, runner):
        self._seconds = time.perf_counter() - self._start

    def after_val_epoch(self, runner, metrics=None):
        self.epochs = [e for e in self.epochs if e['epoch'] < runner.epoch]
        self.epochs.append(
            dict(
                epoch=runner.epoch,
                seconds=self._seconds,
                **{
                    k: float(v)
                    for k, v in metrics.items()
                }))
        self.path.write_text(json.dumps(self.epochs, indent=1))


def build_cfg(name: str,
              args,
              work_dir: Path,
              budget_s: Optional[float] = None) -> Config:
    """The comparison's config of ``name``: ``args.epochs`` epochs of poly
    decay, or with ``budget_s`` that many seconds of training
    (``TimeBudgetHook``)."""
    config, backbone, channels = MODELS[name]
    cfg = Config.fromfile(config)
    if backbone is not None:
        cfg.model.backbone = backbone
        cfg.model.neck.in_channels = channels
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = str(work_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(args.data)
        if args.subset:
            cfg[loader].dataset.indices = args.subset
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
    cfg.test_evaluator = cfg.val_evaluator
    cfg.param_scheduler[0].end = args.epochs
    cfg.train_cfg = dict(
        type='EpochBasedTrainLoop', max_epochs=args.epochs, val_interval=1)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=1)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    if budget_s is not None:
        # equal time: a cosine of the training time instead of poly decay
        cfg.param_scheduler = []
        cfg.train_cfg.max_epochs = 10 * args.epochs
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='TimeBudgetHook', budget_s=budget_s)
        ]
    cfg.randomness = dict(seed=args.seed)
    # --resume reads mmengine's own checkpoints back on torch >= 2.6, and a
    # stopped run leaves its previous checkpoint whole
    add_checkpoint_safety_hook(cfg)
    cfg.resume = args.resume
    cfg.launcher = 'none'
    if args.amp:
        enable_amp(cfg, 'auto')
    set_memory_format(cfg, 'channels_last')
    if not torch.cuda.is_available():
        adapt_config_to_cpu(cfg)
    return cfg


def complexity(model: torch.nn.Module, size=(360, 480)):
    """Parameters and multiply-adds of one image of ``size`` (H, W)."""

    class Logits(torch.nn.Module):

        def __init__(self, segmentor):
            super().__init__()
            self.segmentor = segmentor

        def forward(self, x):
            return self.segmentor(x, mode='tensor')

    model = copy.deepcopy(model).float().eval()
    model.to(memory_format=torch.contiguous_format)
    analyzer = FlopAnalyzer(Logits(model), torch.zeros(1, 3, *size))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return sum(p.numel() for p in model.parameters()), analyzer.total()


def model_colour(name: str) -> str:
    """One colour per model in every figure, whatever the order of
    ``--models`` (an equal-time run, ``'<model>, <seconds> s'``, shares its
    model's colour, dashed)."""
    base = name.split(', ')[0]
    names = list(MODELS)
    return f'C{names.index(base)}' if base in names else 'C9'


def draw(results: dict, path: Path) -> None:
    """mIoU per epoch (left) and against the training time (right)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=110)
    for name, r in results.items():
        miou = [e['mIoU'] for e in r['epochs']]
        minutes = np.cumsum([e['seconds'] for e in r['epochs']]) / 60
        style = dict(
            marker='o',
            markersize=3,
            color=model_colour(name),
            linestyle='--' if ', ' in name else '-',
            label=f'{name}: {miou[-1]:.2f}')
        by_epoch.plot([e['epoch'] for e in r['epochs']], miou, **style)
        by_time.plot(minutes, miou, **style)
    by_epoch.set_xlabel('epoch')
    by_time.set_xlabel('training time (min, validation not counted)')
    for ax in (by_epoch, by_time):
        ax.set_ylabel('CamVid val mIoU (%)')
        ax.grid(alpha=0.3)
    by_time.legend(loc='lower right', fontsize=8)
    fig.suptitle('CamVid 480x360, from scratch, same recipe')
    fig.tight_layout()
    fig.savefig(path)


def print_tables(results: dict, classes) -> None:
    print('| model | epochs | mIoU last (best) | aAcc | ' +
          ' | '.join(f'IoU {c}' for c in THIN_CLASSES) +
          ' | params (M) | GFLOPs | s/epoch | training s |')
    print('|---' * (8 + len(THIN_CLASSES)) + '|')
    for name, r in results.items():
        last = r['epochs'][-1]
        best = max(e['mIoU'] for e in r['epochs'])
        thin = ' | '.join(f'{last[f"IoU.{c}"]:.2f}' for c in THIN_CLASSES)
        seconds = np.median([e['seconds'] for e in r['epochs']])
        print(f'| {name} | {last["epoch"]} | {last["mIoU"]:.2f} '
              f'({best:.2f}) | {last["aAcc"]:.2f} | {thin} | '
              f'{r["params"] / 1e6:.2f} | {r["flops"] / 1e9:.2f} | '
              f'{seconds:.0f} | {training_seconds(r):.0f} |')
    print('\nIoU of every class, last epoch:')
    print('| model | ' + ' | '.join(classes) + ' |')
    print('|---' * (1 + len(classes)) + '|')
    for name, r in results.items():
        last = r['epochs'][-1]
        print(f'| {name} | ' + ' | '.join(f'{last[f"IoU.{c}"]:.2f}'
                                          for c in classes) + ' |')


def slug(name: str) -> str:
    """The work dir of a model: 'ResNet-18 (ResNetV1c)' -> ResNet-18."""
    return name.split(' (')[0].replace(' ', '_')


def training_seconds(result: dict) -> float:
    """Seconds a model trained (validation not counted)."""
    return sum(e['seconds'] for e in result['epochs'])


#: What shapes a run: a run is resumed only with the same values.
RUN_SETTINGS = ('data', 'epochs', 'batch_size', 'amp', 'subset', 'cfg_options',
                'seed')


def run_settings(args, budget_s: Optional[float]) -> dict:
    """The settings of one model's run, as JSON values."""
    settings = {k: getattr(args, k) for k in RUN_SETTINGS}
    settings['data'] = str(settings['data'])
    settings['cfg_options'] = json.loads(
        json.dumps(settings['cfg_options'] or {}, default=str))
    settings['budget_s'] = budget_s
    return settings


def check_same_settings(work_dir: Path, settings: dict) -> None:
    """Refuse to resume a run that was started with other settings
    (its checkpoints and ``done.json`` would be stale)."""
    path = work_dir / 'settings.json'
    if not path.exists():
        return
    before = json.loads(path.read_text())
    changed = [
        f'{k}: {before.get(k)!r} then, {v!r} now' for k, v in settings.items()
        if before.get(k) != v
    ]
    if changed:
        raise SystemExit(f'error: --resume: {work_dir} was trained with other '
                         f'settings ({"; ".join(changed)}): give another '
                         '--out, or remove that folder to train it again')


def train(name: str, args, run: str, budget_s: Optional[float] = None):
    """Train ``name`` in ``args.out / run`` (a finished run with
    ``--resume`` and the same settings is read back, not trained again);
    returns its parameters, multiply-adds and epoch history."""
    work_dir = args.out / run
    done = work_dir / 'done.json'
    settings = run_settings(args, budget_s)
    if args.resume:
        check_same_settings(work_dir, settings)
        if done.exists():
            return json.loads(done.read_text())
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / 'settings.json').write_text(json.dumps(settings, indent=1))
    recorder = EpochRecorder(work_dir / 'history.json')
    runner = Runner.from_cfg(build_cfg(name, args, work_dir, budget_s))
    runner.register_hook(recorder)
    runner.train()
    params, flops = complexity(runner.model)
    result = dict(
        params=params, flops=flops, budget_s=budget_s, epochs=recorder.epochs)
    done.write_text(json.dumps(result, indent=1))
    return result


def save(results: dict, args) -> None:
    with open(args.out / 'results.json', 'w') as f:
        json.dump(
            dict(
                args={
                    k: str(v)
                    for k, v in vars(args).items()
                },
                results=results),
            f,
            indent=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--data',
        required=True,
        type=Path,
        help='CamVid folder with train/, trainannot/, val/, valannot/')
    parser.add_argument(
        '--epochs',
        type=int,
        help="poly decay over this many epochs (default: the config's)")
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16 autocast (fp32 on a CPU without native bf16)')
    parser.add_argument(
        '--models',
        nargs='*',
        choices=sorted(MODELS),
        help='a subset of the models (default: all)')
    parser.add_argument(
        '--subset',
        type=int,
        help='only the first N images of each split (a quick check)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='changes to the recipe for every model, e.g. for an ablation: '
        'model.decode_head.loss_decode.class_weight=None')
    parser.add_argument(
        '--equal-time',
        nargs='+',
        metavar='MODEL',
        help='MODEL [OTHER ...]: then train the OTHER models (default: all '
        'the others of --models; named ones need not be among them) for as '
        'long as MODEL trained (its training seconds, '
        'validation not counted), with the lr a cosine of the time spent '
        '(TimeBudgetHook)')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue each unfinished model from its newest checkpoint; '
        'finished ones are read back')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--out', type=Path, default=Path('work_dirs/compare_camvid'))
    args = parser.parse_args(argv)
    for folder in ('train', 'trainannot', 'val', 'valannot'):
        if not (args.data / folder).is_dir():
            raise SystemExit(f'error: {args.data / folder} does not exist: '
                             '--data must be a CamVid folder as distributed')
    args.out.mkdir(parents=True, exist_ok=True)
    if args.epochs is None:
        args.epochs = Config.fromfile(CONFIG).train_cfg.max_epochs

    names = args.models or list(MODELS)
    reference, timed = None, []
    if args.equal_time:
        reference, *timed = args.equal_time
        timed = timed or [name for name in names if name != reference]
        if reference not in names:
            raise SystemExit(f'error: --equal-time {reference!r} is not '
                             f'among the models {names}: the reference '
                             'trains to the end of its schedule first')
        for name in timed:
            if name not in MODELS:
                raise SystemExit(f'error: --equal-time {name!r} is not a '
                                 f'model of the comparison: choose from '
                                 f'{sorted(MODELS)}')
        if reference in timed:
            raise SystemExit(f'error: --equal-time {reference!r} would be '
                             'timed against itself')
    results = {}
    for name in names:
        results[name] = train(name, args, slug(name))
        save(results, args)
    if reference:
        budget_s = training_seconds(results[reference])
        for name in timed:
            results[f'{name}, {budget_s:.0f} s'] = train(
                name, args, f'{slug(name)}_equal-time', budget_s)
            save(results, args)

    images = args.subset or 101
    precision = 'bf16' if args.amp else 'fp32'
    print(f'\nCamVid val ({images} images, 480x360), {args.epochs} epochs of '
          f'poly decay (", N s": that many training seconds, cosine in '
          f'time), batch {args.batch_size}, {precision}, from scratch')
    print_tables(results, CamVidDataset.METAINFO['classes'])
    draw(results, args.out / 'curves.png')
    print(f'curves: {args.out / "curves.png"}, numbers: '
          f'{args.out / "results.json"}')


if __name__ == '__main__':
    main()
