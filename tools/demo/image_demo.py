"""Run a detector on images and save pictures of its predictions.

    python tools/demo/image_demo.py CONFIG CHECKPOINT IMAGE [IMAGE ...] \
        --out-dir DIR [--score-thr 0.3] [--device cpu] [--amp]

Writes DIR/<image name>.png with boxes, class names, scores and masks.
"""
import argparse
import os
import os.path as osp

import mmcv
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import VISUALIZERS

import mmfishnet  # noqa: F401
from mmfishnet.engine import (autocast_context, float32_head_outputs,
                              resolve_amp_dtype, to_channels_last)
from mmfishnet.runtime.preflight import (check_checkpoint_file,
                                         check_config_path, check_images,
                                         user_errors_exit)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--amp', action='store_true',
                        help='bf16/fp16 autocast, as tools/test.py --amp')
    args = parser.parse_args(argv)
    with user_errors_exit():
        check_config_path(args.config)
        check_checkpoint_file(args.checkpoint, 'checkpoint')
        check_images(args.images)

    model = init_detector(args.config, args.checkpoint, device=args.device)
    to_channels_last(model)
    dtype = None
    if args.amp:
        dtype = resolve_amp_dtype('auto', args.device.split(':')[0])
        float32_head_outputs(model)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(args.out_dir, exist_ok=True)
    for path in args.images:
        with autocast_context(dtype, args.device.split(':')[0]):
            result = inference_detector(model, path)
        out_file = osp.join(args.out_dir,
                            osp.splitext(osp.basename(path))[0] + '.png')
        visualizer.add_datasample(
            'prediction',
            mmcv.imread(path, channel_order='rgb'),
            data_sample=result,
            draw_gt=False,
            pred_score_thr=args.score_thr,
            out_file=out_file)
        kept = (result.pred_instances.scores >= args.score_thr).sum().item()
        print(f'{path}: {kept} objects with score >= {args.score_thr} '
              f'-> {out_file}')


if __name__ == '__main__':
    main()
