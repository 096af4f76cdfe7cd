"""Draw a segmentor's predictions: image | ground truth | prediction, one row
per image, with the dataset's palette and a legend, into one PNG.

    python tools/analysis/seg_pictures.py CONFIG CHECKPOINT \
        [--data-root DIR] [--split val] [--num 4] [--out predictions.png]

The images are ``--num`` images spread evenly over the config's
``val_dataloader`` dataset (its ``data_root`` replaced by ``--data-root``).
Ground truth and prediction are drawn by mmseg's ``SegLocalVisualizer``;
pixels the dataset ignores (255, e.g. CamVid's unlabelled) keep the image.
"""
import argparse
import os.path as osp

import cv2
import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

import mmfishnet  # noqa: F401
from mmfishnet.runtime import tool_safety
from mmfishnet.runtime.preflight import (check_checkpoint_file,
                                         check_config_path, user_errors_exit)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--data-root', help='replaces the dataset data_root')
    parser.add_argument('--num', type=int, default=4)
    parser.add_argument('--out', default='predictions.png')
    return parser.parse_args(argv)


def legend(classes, palette, width: int) -> np.ndarray:
    """A strip with one colour box and name per class (RGB)."""
    per_row = max(1, width // 170)
    rows = -(-len(classes) // per_row)
    strip = np.full((rows * 30 + 10, width, 3), 255, np.uint8)
    for i, (name, colour) in enumerate(zip(classes, palette)):
        x, y = 10 + (i % per_row) * 170, 10 + (i // per_row) * 30
        cv2.rectangle(strip, (x, y), (x + 20, y + 20), tuple(colour), -1)
        cv2.putText(strip, name, (x + 28, y + 16), cv2.FONT_HERSHEY_SIMPLEX,
                    0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def draw(args) -> np.ndarray:
    from mmseg.apis import inference_model, init_model
    from mmseg.registry import DATASETS
    from mmseg.visualization import SegLocalVisualizer
    cfg = Config.fromfile(args.config)
    dataset_cfg = cfg.val_dataloader.dataset
    if args.data_root:
        dataset_cfg.data_root = args.data_root
    init_default_scope('mmseg')
    dataset = DATASETS.build(dataset_cfg)
    model = init_model(cfg, args.checkpoint, device='cpu')
    classes, palette = dataset.metainfo['classes'], dataset.metainfo['palette']
    visualizer = SegLocalVisualizer(name='seg_pictures', alpha=0.8)
    visualizer.dataset_meta = dict(classes=classes, palette=palette)
    rows = []
    for index in np.linspace(0, len(dataset) - 1, args.num).astype(int):
        sample = dataset[int(index)]
        path = sample['data_samples'].img_path
        result = inference_model(model, path)
        result.gt_sem_seg = PixelData(
            data=sample['data_samples'].gt_sem_seg.data)
        image = mmcv.imread(path, channel_order='rgb')
        panels = [image]
        for gt in (True, False):  # one panel at a time: get_image() is it
            visualizer.add_datasample(
                osp.basename(path),
                image,
                result,
                draw_gt=gt,
                draw_pred=not gt,
                with_labels=False)
            panels.append(visualizer.get_image())
        rows.append(np.concatenate(panels, axis=1))
    grid = np.concatenate(rows, axis=0)
    return np.concatenate([grid, legend(classes, palette, grid.shape[1])])


def main(argv=None):
    args = parse_args(argv)
    with user_errors_exit():
        check_config_path(args.config)
        check_checkpoint_file(args.checkpoint, 'checkpoint')
    with tool_safety():
        grid = draw(args)
    mmcv.imwrite(mmcv.rgb2bgr(grid), args.out)
    print(f'{args.num} images: image | ground truth | prediction -> '
          f'{args.out}')
    return grid


if __name__ == '__main__':
    main()
