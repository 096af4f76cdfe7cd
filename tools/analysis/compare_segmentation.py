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
import copy
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from comparison import (apply_run_settings, curve, model_colour, model_config,
                        parser_for, prepare, run_models, training_seconds)
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

import mmfishnet  # noqa: F401
from mmfishnet.datasets import CamVidDataset

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


def build_cfg(name: str,
              args,
              work_dir: Path,
              budget_s: Optional[float] = None) -> Config:
    """The comparison's config of ``name``: ``args.epochs`` epochs of poly
    decay, or with ``budget_s`` that many seconds of training
    (``TimeBudgetHook``)."""
    cfg = model_config(MODELS[name], args)
    cfg.val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
    cfg.test_evaluator = cfg.val_evaluator
    cfg.param_scheduler[0].end = args.epochs
    cfg.train_cfg = dict(
        type='EpochBasedTrainLoop', max_epochs=args.epochs, val_interval=1)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    return apply_run_settings(cfg, args, work_dir, budget_s)


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


def draw(results: dict, path: Path) -> None:
    """mIoU per epoch (left) and against the training time (right)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=110)
    for name, r in results.items():
        epochs, minutes, miou = curve(r, 'mIoU')
        style = dict(
            marker='o',
            markersize=3,
            color=model_colour(name, MODELS),
            linestyle='--' if ', ' in name else '-',
            label=f'{name}: {miou[-1]:.2f}')
        by_epoch.plot(epochs, miou, **style)
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


def main(argv=None):
    parser = parser_for(
        __doc__.split('\n\n')[0], MODELS,
        'CamVid folder with train/, trainannot/, val/, valannot/',
        'work_dirs/compare_camvid')
    parser.set_defaults(batch_size=8)
    args = parser.parse_args(argv)
    prepare(args, ['train', 'trainannot', 'val', 'valannot'],
            'a CamVid folder as distributed', CONFIG)
    results = run_models(args, args.models or list(MODELS), MODELS, build_cfg,
                         complexity)
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
