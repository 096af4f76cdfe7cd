"""Evaluate a checkpoint: COCO bbox/segm mAP for detectors, top-1/top-5 for
classifiers, as the config's test_evaluator says.

    python tools/test.py CONFIG CHECKPOINT [--out results.pkl] [--amp]
        [--fuse-conv-bn] [--compile] [--memory-format contiguous]
    python tools/test.py CONFIG CHECKPOINT --format-only \
        --outfile-prefix DIR/name
    tools/dist_test.sh CONFIG CHECKPOINT GPUS [same options]
"""
import argparse

from launch_utils import add_common_args, build_runner, finish, load_config

from mmfishnet.runtime import enable_fuse_conv_bn
from mmfishnet.runtime.preflight import (check_checkpoint_file,
                                         check_checkpoint_fits,
                                         user_errors_exit)
from mmfishnet.utils import use_mmpretrain_without_multimodal


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint to evaluate')
    parser.add_argument(
        '--out', help='also dump the raw predictions to this .pkl file')
    parser.add_argument(
        '--format-only',
        action='store_true',
        help='write COCO-format JSON (e.g. for a test-dev submission) '
        'instead of computing metrics; needs --outfile-prefix')
    parser.add_argument(
        '--outfile-prefix',
        help='with --format-only: PREFIX.bbox.json (and PREFIX.segm.json)')
    parser.add_argument(
        '--fuse-conv-bn',
        action='store_true',
        help='fold BatchNorm layers into the preceding convolutions '
        '(same results, faster inference)')
    return parser.parse_args()


def main():
    # mmpretrain 1.2's multimodal models do not import with transformers 5;
    # FishNet's configs need none of them (mmfishnet.utils.mmpretrain_models)
    use_mmpretrain_without_multimodal()
    args = parse_args()
    cfg = load_config(args, train=False)
    with user_errors_exit():
        check_checkpoint_file(args.checkpoint, 'the checkpoint to test')
    if args.fuse_conv_bn:
        enable_fuse_conv_bn(cfg)
    cfg.load_from = args.checkpoint
    evaluators = cfg.test_evaluator if isinstance(
        cfg.test_evaluator, list) else [cfg.test_evaluator]
    if args.format_only:
        if not args.outfile_prefix:
            raise SystemExit('--format-only needs --outfile-prefix')
        for evaluator in evaluators:
            evaluator.format_only = True
            evaluator.outfile_prefix = args.outfile_prefix
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise SystemExit('--out must be a .pkl file')
        dump_type = ('DumpDetResults'
                     if cfg.get('default_scope') == 'mmdet' else 'DumpResults')
        cfg.test_evaluator = [
            *evaluators,
            dict(type=dump_type, out_file_path=args.out)
        ]
    with user_errors_exit():
        runner = build_runner(cfg)
        check_checkpoint_fits(runner.model, args.checkpoint,
                              'the checkpoint to test')
    runner.test()
    finish()


if __name__ == '__main__':
    main()
