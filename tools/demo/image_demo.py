"""Run a detector on images and save pictures of its predictions.

    python tools/demo/image_demo.py CONFIG CHECKPOINT IMAGE [IMAGE ...] \
        --out-dir DIR [--score-thr 0.3] [--device cpu] [--amp] \
        [--ann-file COCO.json] [--grid grid.png] [--display-size 384]

Writes DIR/<image name>.png with boxes, class names, scores and masks, drawn
on the image enlarged to ``--display-size`` pixels (shorter side; images are
never shrunk). With ``--ann-file`` (the images' COCO annotations) each
picture shows the ground truth on the left and the prediction on the right,
and the COCO box mAP and AP50 of the drawn images (every prediction, not
only those drawn above ``--score-thr``) are printed and returned;
``--grid`` also stacks all pictures into one PNG.
"""
import argparse
import os
import os.path as osp

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import VISUALIZERS
from mmengine.structures import InstanceData
from pycocotools.coco import COCO

import mmfishnet  # noqa: F401
from mmfishnet.engine import (autocast_context, float32_head_outputs,
                              resolve_amp_dtype, to_channels_last)
from mmfishnet.runtime import tool_safety
from mmfishnet.runtime.preflight import (check_checkpoint_file,
                                         check_config_path, check_images,
                                         user_errors_exit)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16/fp16 autocast, as tools/test.py --amp')
    parser.add_argument(
        '--ann-file',
        help='COCO annotations of the images: draw the '
        'ground truth beside the prediction')
    parser.add_argument('--grid', help='also save all pictures in one PNG')
    parser.add_argument(
        '--display-size',
        type=int,
        default=384,
        help='shorter side of the pictures (default: 384)')
    return parser.parse_args(argv)


def image_id(coco: COCO, path: str) -> int:
    """The id of the image file ``path`` in ``coco`` (matched by name)."""
    name = osp.basename(path)
    images = [
        i for i in coco.dataset['images']
        if osp.basename(i['file_name']) == name
    ]
    if not images:
        raise SystemExit(f'error: {path} has no entry in the --ann-file '
                         'images; give the annotations of these images')
    return images[0]['id']


def category_ids(coco: COCO, classes) -> dict:
    """COCO category id -> label (index in ``classes``), matched by name."""
    return {
        cat['id']: classes.index(cat['name'])
        for cat in coco.dataset['categories'] if cat['name'] in classes
    }


def ground_truth(coco: COCO, path: str, classes) -> InstanceData:
    """The COCO annotations of the image file ``path`` as mmdet instances
    (boxes x1y1x2y2, labels in the order of ``classes``, bitmap masks)."""
    anns = coco.loadAnns(
        coco.getAnnIds(imgIds=image_id(coco, path), iscrowd=False))
    label_of = category_ids(coco, classes)
    anns = [a for a in anns if a['category_id'] in label_of]
    gt = InstanceData()
    gt.bboxes = torch.tensor([[x, y, x + w, y + h]
                              for x, y, w, h in (a['bbox'] for a in anns)],
                             dtype=torch.float32).reshape(-1, 4)
    gt.labels = torch.tensor([label_of[a['category_id']] for a in anns],
                             dtype=torch.long)
    if anns and 'segmentation' in anns[0]:
        gt.masks = torch.from_numpy(
            np.stack([coco.annToMask(a) for a in anns]).astype(bool))
    return gt


def enlarge(instances: InstanceData, factor: float) -> InstanceData:
    """``instances`` drawn on an image ``factor`` times larger."""
    instances = instances.clone()
    instances.bboxes = instances.bboxes * factor
    if 'masks' in instances and len(instances) > 0:
        masks = torch.as_tensor(instances.masks)[None].float()
        instances.masks = F.interpolate(
            masks, scale_factor=factor, mode='nearest')[0] > 0.5
    return instances


def box_ap(coco: COCO, detections: list, images: list) -> dict:
    """COCO box ``mAP`` and ``AP50`` of ``detections`` (COCO result dicts)
    over the ``images`` (ids) only."""
    from pycocotools.cocoeval import COCOeval
    if not detections:
        return dict(mAP=0.0, AP50=0.0)
    evaluation = COCOeval(coco, coco.loadRes(detections), 'bbox')
    evaluation.params.imgIds = sorted(images)
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return dict(mAP=evaluation.stats[0], AP50=evaluation.stats[1])


def coco_detections(instances: InstanceData, image: int,
                    category_of: dict) -> list:
    """``instances`` (x1y1x2y2 boxes in the image's pixels) as COCO result
    dicts of ``image``."""
    return [
        dict(
            image_id=image,
            category_id=category_of[int(label)],
            bbox=[x1, y1, x2 - x1, y2 - y1],
            score=float(score)) for (x1, y1, x2, y2), score, label in zip(
                instances.bboxes.tolist(), instances.scores, instances.labels)
    ]


def stack_rows(pictures):
    """One picture per row, padded to the widest."""
    width = max(p.shape[1] for p in pictures)
    return np.concatenate([
        mmcv.impad(p, shape=(p.shape[0], width), pad_val=255) for p in pictures
    ])


def main(argv=None):
    args = parse_args(argv)
    with user_errors_exit():
        check_config_path(args.config)
        check_checkpoint_file(args.checkpoint, 'checkpoint')
        check_images(args.images)
        if args.ann_file and not osp.isfile(args.ann_file):
            raise FileNotFoundError(f'--ann-file {args.ann_file} does not '
                                    'exist')

    with tool_safety():
        return draw_predictions(args)


def draw_predictions(args) -> dict:
    """Draw every image; with ``--ann-file``, return the drawn images' box
    AP (see :func:`box_ap`)."""
    model = init_detector(args.config, args.checkpoint, device=args.device)
    to_channels_last(model)
    dtype = None
    if args.amp:
        dtype = resolve_amp_dtype('auto', args.device.split(':')[0])
        float32_head_outputs(model)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    classes = list(model.dataset_meta['classes'])
    coco = COCO(args.ann_file) if args.ann_file else None
    if coco is not None:
        category_of = {
            label: cat
            for cat, label in category_ids(coco, classes).items()
        }
    os.makedirs(args.out_dir, exist_ok=True)
    pictures, detections = [], []
    for path in args.images:
        with autocast_context(dtype, args.device.split(':')[0]):
            result = inference_detector(model, path)
        if coco is not None:
            detections += coco_detections(result.pred_instances.cpu(),
                                          image_id(coco, path), category_of)
        image = mmcv.imread(path, channel_order='rgb')
        factor = max(1.0, args.display_size / min(image.shape[:2]))
        result.pred_instances = enlarge(result.pred_instances.cpu(), factor)
        if coco is not None:
            result.gt_instances = enlarge(
                ground_truth(coco, path, classes), factor)
        out_file = osp.join(args.out_dir,
                            osp.splitext(osp.basename(path))[0] + '.png')
        visualizer.add_datasample(
            'prediction',
            mmcv.imrescale(image, factor, interpolation='nearest'),
            data_sample=result,
            draw_gt=coco is not None,
            pred_score_thr=args.score_thr,
            out_file=out_file)
        pictures.append(visualizer.get_image())
        kept = (result.pred_instances.scores >= args.score_thr).sum().item()
        print(f'{path}: {kept} objects with score >= {args.score_thr} '
              f'-> {out_file}')
    if args.grid:
        mmcv.imwrite(mmcv.rgb2bgr(stack_rows(pictures)), args.grid)
        print(f'{len(pictures)} pictures -> {args.grid}')
    if coco is None:
        return {}
    ap = box_ap(coco, detections,
                [image_id(coco, path) for path in args.images])
    print(f'box mAP {ap["mAP"]:.3f}, AP50 {ap["AP50"]:.3f} on the '
          f'{len(args.images)} drawn images')
    return ap


if __name__ == '__main__':
    main()
