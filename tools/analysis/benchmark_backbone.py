"""Speed and peak memory of FishNet backbones against ResNet-50.

    python tools/analysis/benchmark_backbone.py \
        [fishnet99 fishnet150 fishnet201 resnet50] \
        [--size 224 224] [--batch 8] [--iters 10] [--warmup 3] \
        [--channels-last] [--amp]

For each backbone (random weights, in a fresh process): the inference forward
(eval, no grad) and a training step (forward + backward of the sum of its
outputs) on a random batch. FishNet returns its four FPN maps, ResNet-50
(mmdet's) its four stages. ``--amp`` uses fp16 autocast on CUDA and bf16
autocast on the CPU. Prints median and min seconds and peak memory (GPU
allocator peak on CUDA, process peak RSS on the CPU).
"""
import argparse
import contextlib
import json

import torch
from bench_utils import (device, device_name, peak_memory_mb, run_isolated,
                         time_steps)

BACKBONES = {
    'fishnet99': dict(type='FishNet', arch='fishnet99'),
    'fishnet150': dict(type='FishNet', arch='fishnet150'),
    'fishnet201': dict(type='FishNet', arch='fishnet201'),
    'resnet50': dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3)),
}


def measure(name: str, args) -> dict:
    from mmdet.registry import MODELS

    import mmfishnet  # noqa: F401
    torch.manual_seed(0)
    model = MODELS.build(BACKBONES[name]).to(device())
    x = torch.randn(args.batch, 3, *args.size, device=device())
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    autocast = torch.autocast(
        device(),
        dtype=torch.float16 if device() == 'cuda' else
        torch.bfloat16) if args.amp else contextlib.nullcontext()

    def inference():
        with torch.no_grad(), autocast:
            model(x)

    def train_step():
        with autocast:
            loss = sum(out.float().mean() for out in model(x))
        loss.backward()

    model.eval()
    infer = time_steps(inference, args.warmup, args.iters)
    model.train()
    train = time_steps(train_step, args.warmup, args.iters)
    return dict(
        params_m=sum(p.numel() for p in model.parameters()) / 1e6,
        infer_s=infer['median_s'],
        train_s=train['median_s'],
        peak_mb=peak_memory_mb(),
        device=device_name())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('names', nargs='*', default=list(BACKBONES))
    parser.add_argument('--size', type=int, nargs=2, default=[224, 224])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--one', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = set(args.names) - set(BACKBONES)
    if unknown:
        parser.error(f'unknown backbones {sorted(unknown)}; choose from '
                     f'{list(BACKBONES)}')
    if args.one:
        print(json.dumps(measure(args.names[0], args)))
        return
    flags = [
        '--size', *map(str, args.size), '--batch',
        str(args.batch), '--iters',
        str(args.iters), '--warmup',
        str(args.warmup)
    ] + ['--channels-last'] * args.channels_last + ['--amp'] * args.amp
    print(f'batch {args.batch} of {args.size[0]}x{args.size[1]}, '
          f'channels_last={args.channels_last}, amp={args.amp}; median '
          f'of {args.iters} after {args.warmup} warm-up runs')
    print(f'{"backbone":12s} {"params M":>8s} {"infer s":>8s} '
          f'{"train s":>8s} {"peak MB":>8s}')
    for name in args.names:
        r = run_isolated(__file__, name, flags)
        print(f'{name:12s} {r["params_m"]:8.2f} {r["infer_s"]:8.3f} '
              f'{r["train_s"]:8.3f} {r["peak_mb"]:8.0f}   ({r["device"]})')


if __name__ == '__main__':
    main()
