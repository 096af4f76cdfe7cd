"""RoIAlign forward + backward on the CPU: mmcv's kernel against
SeparableRoIAlign (mmfishnet.ops), on the sizes of a Faster R-CNN training
step on 640x480 images.

    python tools/analysis/benchmark_roi_align.py [--rois 2048] [--repeat 3]

Two cases, each with the same random boxes (a mix of proposal sizes over a
640x480 image, in a batch of 4) and ``sampling_ratio=0`` (adaptive, as
mmdet's configs use) and 2:

* ``one map``: every RoI on one 256-channel map of stride 4 (120x160), the
  worst case;
* ``extractor``: mmdet's ``SingleRoIExtractor`` against
  ``SeparableRoIExtractor`` over the four FPN maps (strides 4-32), each RoI
  on the level mmdet's scale rule picks, as a detector runs it.

Prints seconds (median of ``--repeat``) and the ratio, and checks that both
give the same output (max relative difference).
"""
import argparse
import platform
import time

import torch
from mmcv.ops import roi_align

import mmfishnet  # noqa: F401
from mmfishnet.ops import roi_align_separable

STRIDES = (4, 8, 16, 32)
IMAGE = (480, 640)


def random_rois(num: int, batch: int, seed: int = 0) -> torch.Tensor:
    """Boxes of 8-480 px (log-uniform sides) over a 640x480 image."""
    g = torch.Generator().manual_seed(seed)
    h, w = IMAGE
    sides = torch.exp(
        torch.rand(num, 2, generator=g) *
        (torch.log(torch.tensor(480.)) - torch.log(torch.tensor(8.))) +
        torch.log(torch.tensor(8.)))
    corner = torch.rand(
        num, 2, generator=g) * (torch.tensor([w, h]) - sides).clamp(min=0)
    index = torch.randint(0, batch, (num, 1), generator=g).float()
    return torch.cat([index, corner, corner + sides], dim=1)


def seconds(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def forward_backward(op, feats, *args):
    x = [f.detach().requires_grad_() for f in feats]
    out = op(x, *args)
    out.backward(torch.ones_like(out))
    return out.detach()


def extractors(ratio: int):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = dict(
        roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=ratio),
        out_channels=256,
        featmap_strides=list(STRIDES))
    return (MODELS.build(dict(type='SingleRoIExtractor', **cfg)),
            MODELS.build(dict(type='SeparableRoIExtractor', **cfg)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rois', type=int, default=2048)
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    rois = random_rois(args.rois, 4)
    maps = [
        torch.randn(4, args.channels, IMAGE[0] // s, IMAGE[1] // s)
        for s in STRIDES
    ]
    print(f'{platform.processor() or platform.machine()}, torch '
          f'{torch.__version__}, {torch.get_num_threads()} threads; '
          f'{args.rois} RoIs, batch 4, {args.channels} channels, forward + '
          'backward, median of {args.repeat}')
    print('| case | sampling_ratio | mmcv (s) | separable (s) | speed-up | '
          'max rel. diff |')
    print('|---|---|---|---|---|---|')
    for ratio in (0, 2):
        mmcv_extractor, separable_extractor = extractors(ratio)
        cases = {
            'one map (stride 4)':
            (lambda x: roi_align(x[0], rois, 7, 0.25, ratio, 'avg', True),
             lambda x: roi_align_separable(x[0], rois, 7, 0.25, ratio)),
            'extractor (4 levels)': (lambda x: mmcv_extractor(x, rois),
                                     lambda x: separable_extractor(x, rois)),
        }
        for case, (mmcv_op, separable_op) in cases.items():
            expected = forward_backward(mmcv_op, maps)
            ours = forward_backward(separable_op, maps)
            diff = float((ours - expected).abs().max() / expected.abs().max())
            t_mmcv = seconds(lambda: forward_backward(mmcv_op, maps),
                             args.repeat)
            t_ours = seconds(lambda: forward_backward(separable_op, maps),
                             args.repeat)
            print(f'| {case} | {ratio} | {t_mmcv:.2f} | {t_ours:.3f} | '
                  f'{t_mmcv / t_ours:.1f}x | {diff:.1e} |')


if __name__ == '__main__':
    main()
