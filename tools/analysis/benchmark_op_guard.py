"""Cost of mmcv's op guard (mmfishnet.engine.mmcv_ops), per call and in a
detector's training step.

    python tools/analysis/benchmark_op_guard.py [--calls 20000] [--boxes 10]
    python tools/analysis/benchmark_op_guard.py --step [CONFIG] \
        [--size 480 640] [--iters 3]

Per call: times the same small mmcv ops (``nms`` on ``--boxes`` boxes,
``roi_align`` on one RoI of an 8x16x16 map) without the guard, with the
guard on float32 contiguous inputs (its pass-through path: one scan of the
arguments) and with bf16 inputs (the converting path), and prints
microseconds per call. Small ops make the fixed cost visible.

``--step``: ``--iters`` training steps of CONFIG's detector (default: the
README's Mask R-CNN FishNet-150, random weights, two random images of
``--size``) under bf16 autocast and channels_last, with every guarded
kernel timed inside and outside its guard: the difference is what the
guard's copies cost, printed as seconds and as a share of the step.
``--mmcv-extractors`` runs mmcv's RoIAlign (through the guard) in place of
the config's ``SeparableRoIExtractor``.
"""
import argparse
import platform
import time

import torch
from mmcv.ops import nms, roi_align

from mmfishnet.engine import mmcv_op_guard


def per_call_us(function, calls: int) -> float:
    for _ in range(min(100, calls)):
        function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls * 1e6


def cases(boxes: int):
    torch.manual_seed(0)
    xy = torch.rand(boxes, 2) * 50
    box_tensor = torch.cat([xy, xy + 10 + torch.rand(boxes, 2) * 20], 1)
    scores = torch.rand(boxes)
    feats = torch.randn(1, 8, 16, 16)
    rois = torch.tensor([[0, 1., 1., 12., 10.]])
    return {
        'nms':
        lambda b=box_tensor, s=scores: nms(b, s, 0.5),
        'roi_align':
        lambda f=feats: roi_align(f, rois, 4, 1.0, 2),
        'nms bf16':
        lambda b=box_tensor.bfloat16(), s=scores.bfloat16(): nms(b, s, 0.5),
        'roi_align bf16':
        lambda f=feats.bfloat16(): roi_align(f, rois.bfloat16(), 4, 1.0, 2),
    }


def guard_share_of_step(config: str, size, iters: int,
                        mmcv_extractors: bool) -> None:
    """Seconds per step and the guard's own part of them (see --step)."""
    from mmengine.config import Config

    from mmfishnet.engine import mmcv_ops
    from mmfishnet.testing import build_model, random_batch, train_step
    cfg = Config.fromfile(config)
    if mmcv_extractors:
        for name in ('bbox_roi_extractor', 'mask_roi_extractor'):
            if cfg.model.roi_head.get(name):
                cfg.model.roi_head[name].type = 'SingleRoIExtractor'
    model = build_model(cfg, pretrained=False)
    model.to(memory_format=torch.channels_last)
    batch = random_batch(model, cfg, (3, *size))
    ext = mmcv_ops._mmcv_ext()
    spent = dict(outside=0.0, inside=0.0)

    def timed(function, key):

        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start

        return call

    originals = {}
    for name, written in mmcv_ops.WRITTEN_ARGUMENTS.items():
        kernel = getattr(ext, name, None)
        if kernel is not None:
            originals[name] = kernel
            setattr(
                ext, name,
                timed(
                    mmcv_ops._guard(timed(kernel, 'inside'), written),
                    'outside'))
    try:
        with torch.autocast('cpu', dtype=torch.bfloat16):
            train_step(model, batch)  # warm-up
            spent.update(outside=0.0, inside=0.0)
            start = time.perf_counter()
            for _ in range(iters):
                train_step(model, batch)
            step = (time.perf_counter() - start) / iters
    finally:
        for name, kernel in originals.items():
            setattr(ext, name, kernel)
    guard = (spent['outside'] - spent['inside']) / iters
    extractor = ("mmdet's SingleRoIExtractor (mmcv's RoIAlign)"
                 if mmcv_extractors else "the config's RoI extractors")
    print(f'{config} with {extractor}, 2 images of {size[0]}x{size[1]}, '
          f'bf16 autocast, channels_last, {iters} steps: {step:.3f} s/step, '
          f'mmcv kernels '
          f'{spent["inside"] / iters:.4f} s, the guard around them '
          f'{guard:.4f} s ({100 * guard / step:.2f} % of the step)')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--calls', type=int, default=20000)
    parser.add_argument('--boxes', type=int, default=10)
    parser.add_argument(
        '--step',
        nargs='?',
        const='configs/mask_rcnn_fishnet150_fpn_coco.py',
        help='the guard in a bf16 training step of this detector config')
    parser.add_argument('--size', type=int, nargs=2, default=[480, 640])
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument(
        '--mmcv-extractors',
        action='store_true',
        help="--step with mmdet's SingleRoIExtractor (mmcv's RoIAlign, "
        'through the guard) in place of the config\'s')
    args = parser.parse_args()
    if args.step:
        print(f'{platform.processor() or platform.machine()}, torch '
              f'{torch.__version__}, {torch.get_num_threads()} threads')
        guard_share_of_step(args.step, args.size, args.iters,
                            args.mmcv_extractors)
        return
    torch.set_num_threads(1)
    print(f'{platform.processor() or platform.machine()}, torch '
          f'{torch.__version__}, 1 thread, {args.calls} calls each')
    print(f'{"op":16s} {"no guard":>10s} {"guard":>10s} {"overhead":>10s}')
    for name, call in cases(args.boxes).items():
        bare = None
        if 'bf16' not in name:  # without the guard bf16 does not run
            bare = per_call_us(call, args.calls)
        with mmcv_op_guard.scope():
            guarded = per_call_us(call, args.calls)
        overhead = f'{guarded - bare:+.2f}' if bare is not None else ''
        bare = f'{bare:.2f}' if bare is not None else 'fails'
        print(f'{name:16s} {bare:>10s} {guarded:>10.2f} {overhead:>10s}')


if __name__ == '__main__':
    main()
