"""How often an exported model and its PyTorch original agree on real images,
each through its own full pipeline.

    python tools/deployment/onnx_agreement.py CONFIG CHECKPOINT MODEL.onnx \
        IMAGE_OR_FOLDER [...] [--limit N]

PyTorch runs the config's test pipeline (mmcv image loading and transforms,
the data preprocessor) through mmpretrain's ``ImageClassificationInferencer``
or mmseg's ``inference_model``; ONNX Runtime runs ``onnx_classify.py`` /
``onnx_segment.py``'s torch-free path (Pillow loading, the preprocessing
stored in the file). Prints the top-1 agreement of classifiers and the
per-pixel agreement of segmentors. Folders are searched for .png, .jpg and
.jpeg files, recursively.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

import mmfishnet  # noqa: F401
from mmfishnet.runtime import tool_safety
from mmfishnet.runtime.preflight import (check_checkpoint_file,
                                         check_config_path, user_errors_exit)

sys.path.insert(0, str(Path(__file__).parent))
from onnx_classify import classify  # noqa: E402
from onnx_model import OnnxModel, read_rgb  # noqa: E402
from onnx_segment import segment  # noqa: E402

EXTENSIONS = ('.png', '.jpg', '.jpeg')


def image_paths(items, limit=None):
    paths = []
    for item in map(Path, items):
        if item.is_dir():
            paths += sorted(
                p for p in item.rglob('*') if p.suffix.lower() in EXTENSIONS)
        elif item.is_file():
            paths.append(item)
        else:
            raise SystemExit(f'error: {item} does not exist')
    if not paths:
        raise SystemExit(f'error: no images in {" ".join(items)}')
    return paths[:limit]


def classification_agreement(args, model: OnnxModel, paths):
    from mmpretrain import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(
        args.config, pretrained=args.checkpoint, device='cpu')
    torch_labels = np.array([
        r['pred_label']
        for r in inferencer([str(p) for p in paths], batch_size=32)
    ])
    onnx_labels = classify(model, paths).argmax(axis=1)
    agree = int((torch_labels == onnx_labels).sum())
    print(f'top-1 agreement of ONNX Runtime with PyTorch: {agree}/'
          f'{len(paths)} images ({100 * agree / len(paths):.2f} %)')


def segmentation_agreement(args, model: OnnxModel, paths):
    from mmseg.apis import inference_model, init_model
    segmentor = init_model(args.config, args.checkpoint, device='cpu')
    same = total = 0
    for path in paths:
        torch_labels = inference_model(segmentor,
                                       str(path)).pred_sem_seg.data[0].numpy()
        onnx_labels = segment(model, read_rgb(path))
        same += int((torch_labels == onnx_labels).sum())
        total += torch_labels.size
    print(f'pixel agreement of ONNX Runtime with PyTorch on {len(paths)} '
          f'images: {100 * same / total:.3f} %')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('model')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--limit', type=int, help='only the first N images')
    args = parser.parse_args(argv)
    with user_errors_exit():
        check_config_path(args.config)
        check_checkpoint_file(args.checkpoint, 'checkpoint')
    paths = image_paths(args.images, args.limit)
    model = OnnxModel(args.model)
    compare = dict(
        classification=classification_agreement,
        segmentation=segmentation_agreement).get(model.task)
    if compare is None:
        raise SystemExit(f'error: {args.model} is a {model.task} model; '
                         'agreement is measured for classifiers and '
                         'segmentors')
    with tool_safety():
        compare(args, model, paths)


if __name__ == '__main__':
    main()
