"""Classify images with an exported FishNet classifier, without torch.

    python tools/deployment/onnx_classify.py MODEL.onnx IMAGE [IMAGE ...] \
        [--topk 5] [--threads N] [--json OUT.json]

Needs only onnxruntime, numpy and Pillow. The preprocessing (resize, crop,
channel order, mean and std) and the class names come from the file's
metadata, written by ``tools/deployment/pytorch2onnx.py``. Prints the top-k
classes of every image with softmax scores; ``--json`` also writes, per
image, the top-1 label, class name and score and all scores.
"""
import argparse
import json

import numpy as np
from onnx_model import OnnxModel, check_task, read_rgb, softmax


def classify(model: OnnxModel, paths) -> np.ndarray:
    """Softmax scores (len(paths), num_classes), one image at a time (each
    keeps the size its preprocessing gives it)."""
    scores = [
        softmax(model.run(model.preprocess(read_rgb(p))[None])[0][0])
        for p in paths
    ]
    return np.stack(scores)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('model')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument('--threads', type=int, default=0)
    parser.add_argument('--json', help='write the predictions here')
    args = parser.parse_args(argv)
    try:
        model = OnnxModel(args.model, args.threads)
        check_task(model, 'classification')
        scores = classify(model, args.images)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'error: {e}') from None
    names = model.classes or [f'class {i}' for i in range(scores.shape[1])]
    predictions = []
    for path, score in zip(args.images, scores):
        print(path)
        for rank, label in enumerate(np.argsort(-score)[:args.topk], 1):
            print(f'  {rank}. {names[label]} ({label}): {score[label]:.4f}')
        label = int(score.argmax())
        predictions.append(
            dict(
                image=str(path),
                label=label,
                name=names[label],
                score=float(score[label]),
                scores=[float(s) for s in score]))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(predictions, f, indent=1)


if __name__ == '__main__':
    main()
