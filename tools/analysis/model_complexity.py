"""Parameters and FLOPs of FishNet variants as classifiers.

    python tools/analysis/model_complexity.py                # every table
    python tools/analysis/model_complexity.py --table fishnext
    python tools/analysis/model_complexity.py --arch fishnet99 --size 32 \
        --stem-stride 1 --widen-factor 0.5 --num-classes 10

Each model is the FishNet backbone (``out_indices=(9, )``) with the released
classifier head (``FishNetClsHead``). FLOPs are multiply-adds of one image
(mmengine's ``FlopAnalyzer``, fvcore's convention; the usual "GFLOPs" of
ResNet-50 at 224 is 4.1 in this convention). The tables:

* ``imagenet``: FishNet-99/150/201 and FishNeXt-99/150/201 at 224x224;
* ``downsample``: FishNet-150 with each down-sampling choice at 224x224;
* ``small``: the small-image variants of the CIFAR-10 and Tiny ImageNet
  configs (32x32 and 64x64).
"""
import argparse
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

import mmfishnet  # noqa: F401
from mmfishnet.models import FishNet, FishNetClsHead
from mmfishnet.models.layers import DOWNSAMPLE_TYPES

# (label, backbone kwargs, input size, classes)
Spec = Tuple[str, dict, int, int]
# (arch, stem_stride, widen_factor, input size) of the small-image table
SMALL_VARIANTS = (
    ('fishnet99', 1, 0.25, 32),
    ('fishnet99', 1, 0.5, 32),
    ('fishnet150', 1, 0.5, 32),
    ('fishnext99', 1, 0.5, 32),
    ('fishnet99', 2, 0.5, 32),
    ('fishnet99', 2, 0.25, 64),
    ('fishnet99', 2, 0.5, 64),
    ('fishnet150', 2, 0.5, 64),
)
TABLES: Dict[str, List[Spec]] = {
    'imagenet': [(f'{arch}', dict(arch=arch), 224, 1000)
                 for arch in ('fishnet99', 'fishnet150', 'fishnet201',
                              'fishnext99', 'fishnext150', 'fishnext201')],
    'downsample': [(f'fishnet150 downsample={kind}',
                    dict(arch='fishnet150', downsample=kind), 224, 1000)
                   for kind in DOWNSAMPLE_TYPES],
    'small': [(f'{arch} stem_stride={stride} widen_factor={widen}',
               dict(arch=arch, stem_stride=stride,
                    widen_factor=widen), size, 10)
              for arch, stride, widen, size in SMALL_VARIANTS],
}


class Classifier(nn.Module):
    """FishNet + FishNetClsHead: (N, 3, H, W) -> (N, num_classes)."""

    def __init__(self, num_classes: int, **backbone_kwargs):
        super().__init__()
        self.backbone = FishNet(out_indices=(9, ), **backbone_kwargs)
        self.head = FishNetClsHead(
            num_classes=num_classes,
            in_channels=self.backbone.out_channels[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def complexity(backbone_kwargs: dict, size: int,
               num_classes: int) -> Tuple[int, int]:
    """(parameters, multiply-adds of one ``size`` x ``size`` image)."""
    model = Classifier(num_classes, **backbone_kwargs).eval()
    params = sum(p.numel() for p in model.parameters())
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, size, size))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return params, analyzer.total()


def print_table(name: str, specs: List[Spec]) -> None:
    print(f'\n{name}')
    print('| model | input | classes | params (M) | GFLOPs |')
    print('|---|---|---|---|---|')
    for label, kwargs, size, classes in specs:
        params, flops = complexity(kwargs, size, classes)
        print(f'| {label} | {size}x{size} | {classes} | {params / 1e6:.2f} '
              f'| {flops / 1e9:.3f} |')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--table',
        choices=sorted(TABLES),
        nargs='*',
        help='tables to print (default: all)')
    parser.add_argument('--arch', help='one model instead of the tables')
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--num-classes', type=int, default=1000)
    parser.add_argument('--stem-stride', type=int, default=4)
    parser.add_argument('--widen-factor', type=float, default=1.0)
    parser.add_argument(
        '--downsample', default='maxpool2x2', choices=DOWNSAMPLE_TYPES)
    args = parser.parse_args()
    if args.arch:
        kwargs = dict(
            arch=args.arch,
            stem_stride=args.stem_stride,
            widen_factor=args.widen_factor,
            downsample=args.downsample)
        print_table('one model',
                    [(args.arch, kwargs, args.size, args.num_classes)])
        return
    for name in args.table or TABLES:
        print_table(name, TABLES[name])


if __name__ == '__main__':
    main()
