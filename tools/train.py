"""Train a detector or classifier from a config in configs/ (or any mmdet /
mmpretrain config that uses FishNet).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--amp [--amp-dtype bfloat16|float16]] [--memory-format contiguous]
        [--compile]
    tools/dist_train.sh CONFIG GPUS [same options]
"""
import argparse

from launch_utils import add_common_args, build_runner, finish, load_config


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser)
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or without CKPT from the latest checkpoint '
        'in the work dir (iteration, optimizer, scheduler and log state)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by (total batch size / auto_scale_lr.'
        'base_batch_size)')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args, train=True)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise KeyError('--auto-scale-lr needs auto_scale_lr.'
                           'base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    build_runner(cfg).train()
    finish()


if __name__ == '__main__':
    main()
