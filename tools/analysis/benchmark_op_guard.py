"""Per-call cost of mmcv's CPU op guard (mmfishnet.engine.mmcv_ops).

    python tools/analysis/benchmark_op_guard.py [--calls 20000] [--boxes 10]

Times the same small mmcv ops (``nms`` on ``--boxes`` boxes, ``roi_align``
on one RoI of an 8x16x16 map) without the guard, with the guard on float32
contiguous inputs (its pass-through path: one scan of the arguments) and
with bf16 inputs (the converting path), and prints microseconds per call.
Small ops make the fixed cost visible; on a GPU the guard is never
installed.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--calls', type=int, default=20000)
    parser.add_argument('--boxes', type=int, default=10)
    args = parser.parse_args()
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
