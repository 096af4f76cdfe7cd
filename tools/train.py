"""Train a detector or classifier from a config in configs/ (or any mmdet /
mmpretrain config that uses FishNet).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--amp [--amp-dtype bfloat16|float16]] [--memory-format contiguous]
        [--compile] [--trust-checkpoint]
    tools/dist_train.sh CONFIG GPUS [same options]
"""
import argparse

from launch_utils import add_common_args, build_runner, finish, load_config
from mmengine.logging import print_log

from mmfishnet.checkpoint import (newest_complete_checkpoint,
                                  remove_partial_files)
from mmfishnet.runtime.preflight import (check_checkpoint_file,
                                         check_checkpoint_fits,
                                         user_errors_exit)
from mmfishnet.utils import use_mmpretrain_without_multimodal


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser)
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or without CKPT from the newest complete '
        'checkpoint in the work dir (iteration, optimizer, scheduler and log '
        'state)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by (total batch size / auto_scale_lr.'
        'base_batch_size)')
    return parser.parse_args()


def main():
    # mmpretrain 1.2's multimodal models do not import with transformers 5;
    # FishNet's configs need none of them (mmfishnet.utils.mmpretrain_models)
    use_mmpretrain_without_multimodal()
    args = parse_args()
    cfg = load_config(args, train=True)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise KeyError('--auto-scale-lr needs auto_scale_lr.'
                           'base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        for path in remove_partial_files(cfg.work_dir):
            print_log(
                f'removed {path}, left by an interrupted save',
                logger='current')
        cfg.load_from = newest_complete_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        if not cfg.resume:
            print_log(
                f'--resume: no complete checkpoint in {cfg.work_dir}, '
                'starting from scratch',
                logger='current')
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    with user_errors_exit():
        if cfg.get('load_from'):
            check_checkpoint_file(
                cfg.load_from,
                '--resume' if cfg.get('resume') else 'load_from')
        runner = build_runner(cfg)
        if cfg.get('load_from') and not cfg.get('resume'):
            check_checkpoint_fits(runner.model, cfg.load_from, 'load_from')
    runner.train()
    finish()


if __name__ == '__main__':
    main()
