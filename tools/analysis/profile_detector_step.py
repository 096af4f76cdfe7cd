"""Where a two-stage detector's CPU training step goes: the share of RoI
extraction, with mmcv's RoIAlign and with SeparableRoIAlign.

    python tools/analysis/profile_detector_step.py CONFIG --data data/bccd \
        [--batch 4] [--iters 3] [--amp]

Builds CONFIG's detector (random weights), takes the first ``--batch``
images of its training set through its training pipeline, and times
``--iters`` training steps (loss, backward, SGD) after one warm-up, in
channels_last as the tools train, under bf16 autocast with ``--amp`` (the
mmcv op guard on), twice: with the config's RoI extractor as it is and with
mmdet's ``SingleRoIExtractor`` (mmcv's kernel) in its place. Prints the
seconds per step and the part spent in RoI extraction (the extractors'
forward and the RoI op's backward, from torch.profiler), and the ten most
expensive operators.
"""
import argparse
import contextlib
import copy
import platform
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from torch.profiler import profile, record_function

import mmfishnet  # noqa: F401
from mmfishnet.engine import mmcv_op_guard
from mmfishnet.testing import build_model

#: The autograd nodes of the RoI ops' backward.
ROI_BACKWARD = ('RoIAlignFunctionBackward', '_PooledWindowsBackward')


def real_batch(cfg: Config, data: Path, batch: int) -> dict:
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.update(data_root=str(data), indices=batch)
    return pseudo_collate(list(DATASETS.build(dataset_cfg)))


def timed_extractors(model) -> None:
    """Mark every RoI extractor's forward for the profiler."""
    for name in ('bbox_roi_extractor', 'mask_roi_extractor'):
        extractor = getattr(model.roi_head, name, None)
        if extractor is None:
            continue
        forward = extractor.forward

        def marked(*args, _forward=forward, **kwargs):
            with record_function('roi_extraction'):
                return _forward(*args, **kwargs)

        extractor.forward = marked


def with_mmcv_extractors(cfg: Config) -> Config:
    cfg = copy.deepcopy(cfg)
    for name in ('bbox_roi_extractor', 'mask_roi_extractor'):
        if cfg.model.roi_head.get(name):
            cfg.model.roi_head[name].type = 'SingleRoIExtractor'
    return cfg


def profile_steps(cfg: Config, batch: dict, iters: int, amp: bool):
    model = build_model(cfg, pretrained=False)
    model.to(memory_format=torch.channels_last)
    timed_extractors(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-4, momentum=0.9)
    precision = (
        torch.autocast('cpu', dtype=torch.bfloat16)
        if amp else contextlib.nullcontext())

    def step():
        data = model.data_preprocessor(batch, True)
        data['inputs'] = data['inputs'].contiguous(
            memory_format=torch.channels_last)
        with mmcv_op_guard.scope():
            with precision:
                loss, _ = model.parse_losses(model(**data, mode='loss'))
            optimizer.zero_grad()
            loss.backward()
        optimizer.step()

    step()  # warm-up
    with profile() as prof:
        for _ in range(iters):
            with record_function('step'):
                step()
    events = prof.key_averages()
    total = {e.key: e.cpu_time_total for e in events}
    backward = sum(v for k, v in total.items() if any(
        k.endswith(op) for op in ROI_BACKWARD))
    step_us = total['step']
    roi_us = total.get('roi_extraction', 0) + backward
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:10]
    return step_us / iters / 1e6, roi_us / step_us, top


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--data', type=Path, required=True)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--amp', action='store_true')
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    batch = real_batch(cfg, args.data, args.batch)
    print(f'{platform.processor() or platform.machine()}, torch '
          f'{torch.__version__}, {torch.get_num_threads()} threads; '
          f'{Path(args.config).name}, batch {args.batch}, '
          f'{"bf16 autocast" if args.amp else "fp32"}, channels_last, '
          f'{args.iters} steps after one warm-up')
    print('| RoI extractor | s/step | RoI extraction share |')
    print('|---|---|---|')
    tops = {}
    for label, variant in (('as configured', cfg),
                           ("mmdet's SingleRoIExtractor (mmcv RoIAlign)",
                            with_mmcv_extractors(cfg))):
        seconds, share, tops[label] = profile_steps(variant, batch, args.iters,
                                                    args.amp)
        print(f'| {label} | {seconds:.2f} | {100 * share:.1f} % |')
    for label, top in tops.items():
        print(f'\nmost expensive operators (self CPU), {label}:')
        for e in top:
            seconds = e.self_cpu_time_total / 1e6 / args.iters
            print(f'  {e.key[:60]:60s} {seconds:7.3f} s/step')


if __name__ == '__main__':
    main()
