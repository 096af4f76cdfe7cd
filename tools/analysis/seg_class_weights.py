"""Median-frequency class weights of a segmentation split, for
``CrossEntropyLoss(class_weight=...)``.

    python tools/analysis/seg_class_weights.py data/camvid/trainannot \
        --num-classes 11

Reads every ``.png`` label map of the folder (label values at or above
``--num-classes`` are ignored) and prints each class's pixel share and
weight, then the ``class_weight`` list to put into the config.
"""
import argparse
import sys
from pathlib import Path

from mmfishnet.datasets.class_weights import (class_frequencies,
                                              median_frequency_weights)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('labels', type=Path, help='folder of label maps')
    parser.add_argument('--num-classes', type=int, required=True)
    parser.add_argument(
        '--digits', type=int, default=4, help='decimals of the weights')
    args = parser.parse_args(argv)
    paths = sorted(str(p) for p in args.labels.glob('*.png'))
    if not paths:
        sys.exit(f'error: {args.labels} holds no .png label maps')
    try:
        weights = median_frequency_weights(paths, args.num_classes)
    except ValueError as e:
        sys.exit(f'error: {args.labels}: {e}')
    pixels, _ = class_frequencies(paths, args.num_classes)
    print(f'{len(paths)} label maps in {args.labels}')
    for c, (count, weight) in enumerate(zip(pixels, weights)):
        print(f'class {c:2d}: {100 * count / pixels.sum():6.2f} % of the '
              f'pixels, weight {weight:.{args.digits}f}')
    rounded = ', '.join(f'{w:.{args.digits}f}' for w in weights)
    print(f'class_weight=[{rounded}]')
    return 0


if __name__ == '__main__':
    sys.exit(main())
