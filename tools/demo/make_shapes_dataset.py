"""Generate a small COCO-format instance segmentation dataset of coloured
shapes (square, disc, triangle) on textured backgrounds.

    python tools/demo/make_shapes_dataset.py OUT_DIR [--train 600] [--val 40]

Writes OUT_DIR/{train,val}/*.png and
OUT_DIR/annotations/instances_{train,val}.json
with polygon masks, boxes and areas, deterministically from --seed; each split
has its own random stream, so the val images do not depend on --train. Shapes
do not overlap, so every polygon is exactly the visible mask.
"""
import argparse
import json
import math
import os
import os.path as osp

import cv2
import numpy as np

CATEGORIES = ['square', 'disc', 'triangle']


def shape_polygon(kind: str, cx: float, cy: float, r: float,
                  angle: float) -> np.ndarray:
    """Vertices (K, 2) of a shape of circumradius ``r`` centred at (cx, cy)."""
    sides = {'square': 4, 'disc': 32, 'triangle': 3}[kind]
    t = angle + np.arange(sides) * 2 * math.pi / sides
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth colour gradient with noise, so the task is not trivial."""
    ys, xs = np.mgrid[0:size, 0:size] / size
    c0, c1 = rng.uniform(40, 200, 3), rng.uniform(40, 200, 3)
    w = (xs * rng.uniform(-1, 1) + ys * rng.uniform(-1, 1))[..., None]
    img = c0 + (c1 - c0) * (w - w.min()) / (np.ptp(w) + 1e-6)
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_image(rng: np.random.Generator, size: int):
    img = background(rng, size)
    objects, circles = [], []
    for _ in range(rng.integers(1, 4)):
        for _attempt in range(20):
            r = rng.uniform(0.12, 0.25) * size
            cx, cy = rng.uniform(r, size - r, 2)
            if all(
                    math.hypot(cx - x, cy - y) > r + s + 2
                    for x, y, s in circles):
                break
        else:
            continue
        circles.append((cx, cy, r))
        label = int(rng.integers(len(CATEGORIES)))
        poly = shape_polygon(CATEGORIES[label], cx, cy, r,
                             rng.uniform(0, 2 * math.pi))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.fillPoly(img, [np.round(poly).astype(np.int32)], color)
        objects.append((label, poly))
    return img, objects


def polygon_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


def write_split(out_dir: str, split: str, num: int, size: int,
                rng: np.random.Generator) -> None:
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num + 1):
        img, objects = make_image(rng, size)
        name = f'{image_id:06d}.png'
        cv2.imwrite(osp.join(out_dir, split, name), img)
        images.append(
            dict(id=image_id, file_name=name, height=size, width=size))
        for label, poly in objects:
            x0, y0 = poly.min(0)
            x1, y1 = poly.max(0)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=label + 1,
                    segmentation=[poly.round(2).flatten().tolist()],
                    area=polygon_area(poly),
                    bbox=[
                        float(x0),
                        float(y0),
                        float(x1 - x0),
                        float(y1 - y0)
                    ],
                    iscrowd=0))
    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(CATEGORIES)
    ]
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    with open(
            osp.join(out_dir, 'annotations', f'instances_{split}.json'),
            'w') as f:
        json.dump(
            dict(
                images=images, annotations=annotations, categories=categories),
            f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out_dir')
    parser.add_argument('--train', type=int, default=600)
    parser.add_argument('--val', type=int, default=40)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    train_seed, val_seed = np.random.SeedSequence(args.seed).spawn(2)
    write_split(args.out_dir, 'train', args.train, args.size,
                np.random.default_rng(train_seed))
    write_split(args.out_dir, 'val', args.val, args.size,
                np.random.default_rng(val_seed))
    print(f'wrote {args.train} train and {args.val} val images of '
          f'{args.size}x{args.size} to {args.out_dir}')


if __name__ == '__main__':
    main()
