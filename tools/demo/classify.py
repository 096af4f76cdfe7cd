"""Classify images with a FishNet classifier and print the top-k classes.

    python tools/demo/classify.py CONFIG CHECKPOINT IMAGE [IMAGE ...] \
        [--topk 5]
        [--amp]

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
from mmfishnet.engine import (autocast_context, float32_head_outputs,
                              resolve_amp_dtype, to_channels_last)
from mmfishnet.runtime import tool_safety
from mmfishnet.runtime.preflight import (check_checkpoint_file,
                                         check_config_path, check_images,
                                         user_errors_exit)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument('--device', default=None)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16/fp16 autocast, as tools/test.py --amp')
    args = parser.parse_args(argv)
    with user_errors_exit():
        check_config_path(args.config)
        check_checkpoint_file(args.checkpoint, 'checkpoint')
        check_images(args.images)

    with tool_safety():
        classify(args)


def classify(args) -> None:
    inferencer = ImageClassificationInferencer(
        args.config, pretrained=args.checkpoint, device=args.device)
    to_channels_last(inferencer.model)
    dtype = None
    if args.amp:
        dtype = resolve_amp_dtype(
            'auto', inferencer.model.data_preprocessor.device.type)
        float32_head_outputs(inferencer.model)
    classes = inferencer.classes
    with autocast_context(dtype):
        results = inferencer(args.images)
    for path, result in zip(args.images, results):
        scores = np.asarray(result['pred_scores'])
        print(path)
        for rank, label in enumerate(np.argsort(-scores)[:args.topk], 1):
            name = classes[label] if classes else f'class {label}'
            print(f'  {rank}. {name} ({label}): {scores[label]:.4f}')


if __name__ == '__main__':
    main()
