"""Time training iterations of detectors or classifiers built from configs.

    python tools/analysis/benchmark_train_step.py CONFIG [CONFIG ...] \
        [--size 800 1216] [--batch 2] [--iters 5] [--warmup 2]

Each config (a path, or 'mmdet::...' / 'mmpretrain::...') is built with random
weights (no pretrained download) and trained on one synthetic batch (for
detectors: mmdet's demo inputs with boxes and masks) with SGD, in a fresh
process so that peak memory is its own. Prints the median and min seconds per
iteration and the peak memory (GPU allocator peak on CUDA, process peak RSS on
the CPU). Compare configs only within one run: same machine, same sizes.
"""
import argparse
import json

import torch
from bench_utils import (device, device_name, peak_memory_mb, run_isolated,
                         time_steps)

from mmfishnet.utils import use_mmpretrain_without_multimodal


def build(config: str):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmfishnet  # noqa: F401
    if '::' in config:  # an upstream config, e.g. mmdet::mask_rcnn/...
        from mmengine.hub import get_config
        cfg = get_config(config)
    else:
        cfg = Config.fromfile(config)
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    cfg.model.backbone.init_cfg = None
    if cfg.get('data_preprocessor'):
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return scope, MODELS.build(cfg.model)


def synthetic_batch(scope: str, model, size, batch: int):
    h, w = size
    if scope == 'mmdet':
        from mmdet.testing import demo_mm_inputs
        num_classes = getattr(model.roi_head.bbox_head, 'num_classes', 80) \
            if hasattr(model, 'roi_head') else 80
        return demo_mm_inputs(
            batch, [(3, h, w)] * batch,
            num_items=[5] * batch,
            num_classes=num_classes,
            with_mask=hasattr(model, 'roi_head')
            and getattr(model.roi_head, 'with_mask', False))
    from mmpretrain.structures import DataSample
    num_classes = model.head.num_classes
    return dict(
        inputs=[
            torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
            for _ in range(batch)
        ],
        data_samples=[
            DataSample().set_gt_label(i % num_classes) for i in range(batch)
        ])


def measure(config: str, size, batch: int, iters: int, warmup: int) -> dict:
    torch.manual_seed(0)
    scope, model = build(config)
    model.to(device()).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-4, momentum=0.9)
    packed = synthetic_batch(scope, model, size, batch)

    def step():
        data = model.data_preprocessor(packed, True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    result = time_steps(step, warmup, iters)
    return dict(result, peak_mb=peak_memory_mb(), device=device_name())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--size', type=int, nargs=2, default=[800, 1216])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--one', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    # mmpretrain's classifiers import with transformers 5 too
    # (mmfishnet.utils.mmpretrain_models)
    use_mmpretrain_without_multimodal()
    if args.one:
        print(
            json.dumps(
                measure(args.configs[0], args.size, args.batch, args.iters,
                        args.warmup)))
        return
    print(f'training step, batch {args.batch} of {args.size[0]}x'
          f'{args.size[1]}, median of {args.iters} after {args.warmup} '
          'warm-up iterations')
    print(f'{"config":62s} {"median s/it":>11s} {"min s/it":>9s} '
          f'{"peak MB":>8s}')
    for config in args.configs:
        r = run_isolated(__file__, config, [
            '--size', *map(str, args.size), '--batch',
            str(args.batch), '--iters',
            str(args.iters), '--warmup',
            str(args.warmup)
        ])
        print(f'{config:62s} {r["median_s"]:11.3f} {r["min_s"]:9.3f} '
              f'{r["peak_mb"]:8.0f}   ({r["device"]})')


if __name__ == '__main__':
    main()
