"""Segment images with an exported FishNet segmentor, without torch.

    python tools/deployment/onnx_segment.py MODEL.onnx IMAGE [IMAGE ...] \
        --out-dir DIR [--threads N]

Needs only onnxruntime, numpy and Pillow; the preprocessing, class names and
palette come from the file's metadata (``tools/deployment/pytorch2onnx.py``).
For every image it writes ``DIR/<name>_labels.png`` (8-bit class indices at
the image's own size, as mmseg predicts them: logits resized bilinearly,
then argmax) and ``DIR/<name>_color.png`` (the classes in the palette), and
prints the share of pixels of each predicted class.
"""
import argparse
from pathlib import Path

import numpy as np
from onnx_model import OnnxModel, check_task, read_rgb, resize_bilinear
from PIL import Image


def segment(model: OnnxModel, image: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> class indices (H, W), uint8."""
    logits = model.run(model.preprocess(image)[None])[0][0]  # C x h x w
    height, width = image.shape[:2]
    if logits.shape[1:] != (height, width):
        logits = resize_bilinear(logits.transpose(1, 2, 0), width,
                                 height).transpose(2, 0, 1)
    return logits.argmax(axis=0).astype(np.uint8)


def palette_of(model: OnnxModel, num_classes: int) -> np.ndarray:
    """(num_classes, 3) uint8: the stored palette, or fixed random colours
    if the export had none."""
    palette = model.meta.get('palette')
    if palette:
        return np.asarray(palette, np.uint8)
    return np.random.default_rng(0).integers(
        0, 256, (num_classes, 3), dtype=np.uint8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('model')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out-dir', required=True, type=Path)
    parser.add_argument('--threads', type=int, default=0)
    args = parser.parse_args(argv)
    try:
        model = OnnxModel(args.model, args.threads)
        check_task(model, 'segmentation')
        images = [read_rgb(p) for p in args.images]
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'error: {e}') from None
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for path, image in zip(args.images, images):
        labels = segment(model, image)
        num_classes = len(model.classes) or int(labels.max()) + 1
        names = model.classes or [f'class {i}' for i in range(num_classes)]
        stem = args.out_dir / Path(path).stem
        Image.fromarray(labels).save(f'{stem}_labels.png')
        colors = palette_of(model, num_classes)[labels]
        Image.fromarray(colors).save(f'{stem}_color.png')
        shares = np.bincount(labels.ravel(), minlength=num_classes)
        shares = shares / labels.size
        top = ', '.join(f'{names[c]} {shares[c]:.1%}'
                        for c in np.argsort(-shares) if shares[c] > 0)
        print(f'{path}: {top} -> {stem}_labels.png, {stem}_color.png')


if __name__ == '__main__':
    main()
