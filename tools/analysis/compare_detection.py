"""Train the BCCD Faster R-CNN with FishNet and with ResNet backbones side
by side, from scratch, on the same data.

    python tools/analysis/compare_detection.py \
        --data data/bccd --out work_dirs/compare_bccd \
        [--epochs N] [--amp] [--resume] [--equal-time 'FishNet-99 w0.625']

Every model is the Faster R-CNN FPN of
``configs/_base_/faster_rcnn_fpn_bccd.py`` with only the backbone (and the
FPN's input channels) different: FishNet-99 at widen_factor 0.625 against
mmdet's ResNet-18 (within 10 % of its backbone multiply-adds at 640x480),
and full-width FishNet-150 against ResNet-50.
They get the same pipeline, augmentation, batch, schedule (by default the
config's 8 epochs, the lr steps stretched to ``--epochs``), precision and
memory format, and are validated on the val split every second epoch and
after the last. Prints, per model: VOC mAP@0.5 (last and best) with the AP
of every class, COCO-style bbox mAP, AP50, AP75 and AP of small / medium /
large boxes, parameters, backbone GFLOPs (multiply-adds) at 640x480 and
seconds per training epoch; saves ``curves.png`` and ``results.json`` in
``--out``. ``--resume`` continues each model from the newest checkpoint of
its work dir and reads finished models back; it refuses a work dir trained
with other settings. ``--equal-time MODEL [OTHER ...]`` then trains the
other models for as many training seconds as MODEL took (``TimeBudgetHook``,
the lr a cosine of the time), in ``<model>_equal-time``.
"""
import copy
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from comparison import (apply_run_settings, curve, model_colour, model_config,
                        parser_for, prepare, run_models, training_seconds)
from mmdet.evaluation import VOCMetric
from mmdet.evaluation.functional import eval_map
from mmdet.registry import METRICS
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config

import mmfishnet  # noqa: F401
from mmfishnet.datasets import BCCDDataset
from mmfishnet.runtime.neck_check import fishnet_out_channels

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
FISHNET99 = CONFIGS / 'faster_rcnn_fishnet99-w0.625_fpn_1xb4-8e_bccd.py'
RESNET18 = CONFIGS / 'faster_rcnn_r18_fpn_1xb4-8e_bccd.py'
IMAGE_SIZE = (480, 640)  # (h, w) of the BCCD photographs
CLASSES = BCCDDataset.METAINFO['classes']


def fishnet(arch: str) -> dict:
    """Full-width FishNet with the recipe's norm and initialisation."""
    return dict(
        type='FishNet',
        arch=arch,
        out_indices=(6, 7, 8, 9),
        norm_cfg=dict(type='BN', requires_grad=True),
        zero_init_residual=True)


def resnet50() -> dict:
    """mmdet's ResNet-50 with the recipe's norm and initialisation."""
    return dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        zero_init_residual=True,
        init_cfg=None)


# name -> (config, backbone: None for the config's own, FPN input channels)
MODELS = {
    'FishNet-99 w0.625': (FISHNET99, None, None),
    'ResNet-18': (RESNET18, None, None),
    'FishNet-150': (RESNET18, fishnet('fishnet150'),
                    fishnet_out_channels(fishnet('fishnet150'))),
    'ResNet-50': (RESNET18, resnet50(), [256, 512, 1024, 2048]),
}


@METRICS.register_module(force=True)
class PerClassVOCMetric(VOCMetric):
    """mmdet's ``VOCMetric`` that also returns the AP of every class at the
    first IoU threshold (``AP50.<class>``), which ``VOCMetric`` only logs."""

    def compute_metrics(self, results: list) -> dict:
        metrics = super().compute_metrics(results)
        gts, preds = zip(*results)
        _, per_class = eval_map(
            preds,
            gts,
            iou_thr=self.iou_thrs[0],
            dataset=self.dataset_meta['classes'],
            logger='silent',
            eval_mode=self.eval_mode,
            use_legacy_coordinate=True)
        for name, result in zip(self.dataset_meta['classes'], per_class):
            metrics[f'AP{int(self.iou_thrs[0] * 100)}.{name}'] = float(
                result['ap'])
        return metrics


def build_cfg(name: str,
              args,
              work_dir: Path,
              budget_s: Optional[float] = None) -> Config:
    """The comparison's config of ``name``: ``args.epochs`` epochs with the
    recipe's lr steps at the same fractions of the schedule, or with
    ``budget_s`` that many seconds of training."""
    cfg = model_config(MODELS[name], args)
    cfg.val_evaluator[0].type = 'PerClassVOCMetric'
    cfg.test_evaluator = cfg.val_evaluator
    steps = cfg.param_scheduler[1]
    steps.milestones = [
        max(1, round(m * args.epochs / steps.end)) for m in steps.milestones
    ]
    steps.end = args.epochs
    if args.epochs % cfg.train_cfg.val_interval:  # validate the last epoch
        cfg.train_cfg.dynamic_intervals = [(args.epochs - 1, 1)]
    return apply_run_settings(cfg, args, work_dir, budget_s)


def complexity(model: torch.nn.Module, size=IMAGE_SIZE):
    """Parameters of the whole detector and multiply-adds of its backbone on
    one image of ``size`` (H, W)."""
    backbone = copy.deepcopy(model.backbone).float()
    backbone.eval()  # mmdet's ResNet.train() returns None
    backbone.to(memory_format=torch.contiguous_format)
    analyzer = FlopAnalyzer(backbone, torch.zeros(1, 3, *size))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return sum(p.numel() for p in model.parameters()), analyzer.total()


VOC = 'pascal_voc/mAP'
VOC_CLASS = 'pascal_voc/AP50.'  # + class name
COCO = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75',
        'coco/bbox_mAP_s', 'coco/bbox_mAP_m', 'coco/bbox_mAP_l')


def draw(results: dict, path: Path) -> None:
    """VOC mAP@0.5 and COCO mAP per epoch (left) and against the training
    time (right)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), dpi=110)
    for row, (key, label) in enumerate(
        ((VOC, 'VOC mAP@0.5'), (COCO[0], 'COCO bbox mAP'))):
        for name, r in results.items():
            epochs, minutes, values = curve(r, key)
            style = dict(
                marker='o',
                markersize=3,
                color=model_colour(name, MODELS),
                linestyle='--' if ', ' in name else '-',
                label=f'{name}: {values[-1]:.3f}')
            axes[row, 0].plot(epochs, values, **style)
            axes[row, 1].plot(minutes, values, **style)
        for ax in axes[row]:
            ax.set_ylabel(f'BCCD val {label}')
            ax.grid(alpha=0.3)
        axes[row, 1].legend(loc='lower right', fontsize=8)
    axes[1, 0].set_xlabel('epoch')
    axes[1, 1].set_xlabel('training time (min, validation not counted)')
    fig.suptitle('BCCD 640x480, Faster R-CNN FPN from scratch, same recipe')
    fig.tight_layout()
    fig.savefig(path)


def print_tables(results: dict) -> None:
    print('| model | epochs | VOC mAP@0.5 last (best) | ' +
          ' | '.join(f'AP50 {c}' for c in CLASSES) +
          ' | COCO mAP | AP50 | AP75 | AP s | AP m | AP l | params (M) | '
          'backbone GFLOPs | s/epoch | training s |')
    print('|---' * (12 + len(CLASSES)) + '|')
    for name, r in results.items():
        epochs, _, voc = curve(r, VOC)
        last = next(e for e in reversed(r['epochs']) if VOC in e)
        per_class = ' | '.join(f'{last[f"{VOC_CLASS}{c}"]:.3f}'
                               for c in CLASSES)
        coco = ' | '.join(f'{last[k]:.3f}' for k in COCO)
        seconds = np.median([e['seconds'] for e in r['epochs']])
        print(f'| {name} | {r["epochs"][-1]["epoch"]} | {voc[-1]:.3f} '
              f'({max(voc):.3f}) | {per_class} | {coco} | '
              f'{r["params"] / 1e6:.2f} | {r["flops"] / 1e9:.2f} | '
              f'{seconds:.0f} | {training_seconds(r):.0f} |')


def main(argv=None):
    parser = parser_for(
        __doc__.split('\n\n')[0], MODELS,
        'BCCD folder with Annotations/, JPEGImages/, ImageSets/Main/',
        'work_dirs/compare_bccd')
    parser.set_defaults(models=['FishNet-99 w0.625', 'ResNet-18'])
    args = parser.parse_args(argv)
    prepare(args, [
        'Annotations', 'JPEGImages', 'ImageSets/Main/train.txt',
        'ImageSets/Main/val.txt'
    ], 'a BCCD folder in the VOC layout', RESNET18)
    results = run_models(args, args.models, MODELS, build_cfg, complexity)
    images = args.subset or 87
    precision = 'bf16' if args.amp else 'fp32'
    print(f'\nBCCD val ({images} images, 640x480), {args.epochs} epochs '
          '(", N s": that many training seconds, cosine in time), batch '
          f'{args.batch_size or 4}, {precision}, from scratch')
    print_tables(results)
    draw(results, args.out / 'curves.png')
    print(f'curves: {args.out / "curves.png"}, numbers: '
          f'{args.out / "results.json"}')


if __name__ == '__main__':
    main()
