"""Classify images with a FishNet classifier and print the top-k classes.

    python tools/demo/classify.py CONFIG CHECKPOINT IMAGE [IMAGE ...] [--topk 5]

From Python, the same with MMPretrain's inferencer::

    import mmfishnet
    from mmpretrain import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(
        'configs/fishnet150_8xb32_in1k.py',
        pretrained='checkpoints/fishnet150_in1k.pth')
    result = inferencer('image.jpg')[0]   # pred_class, pred_score, pred_scores
"""
import argparse

import numpy as np
from mmpretrain import ImageClassificationInferencer

import mmfishnet  # noqa: F401


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument('--device', default=None)
    args = parser.parse_args(argv)

    inferencer = ImageClassificationInferencer(
        args.config, pretrained=args.checkpoint, device=args.device)
    classes = inferencer.classes
    for path, result in zip(args.images, inferencer(args.images)):
        scores = np.asarray(result['pred_scores'])
        print(path)
        for rank, label in enumerate(np.argsort(-scores)[:args.topk], 1):
            name = classes[label] if classes else f'class {label}'
            print(f'  {rank}. {name} ({label}): {scores[label]:.4f}')


if __name__ == '__main__':
    main()
