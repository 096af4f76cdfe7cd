"""Export a trained FishNet classifier, segmentor or detector to ONNX and
check ONNX Runtime against eager PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out FILE \
        [--shape H W] [--dynamic] [--opset 18] [--max-rel 1e-4] \
        [--cfg-options KEY=VALUE ...]

The task comes from the config's ``default_scope`` (mmpretrain,
mmseg, mmdet); the graph's input ``image`` is the normalized batch
(N, 3, H, W) and its outputs are listed in ``mmfishnet/deployment/graphs.py``
(``logits``; ``seg_logits`` at the input size; FPN maps and dense-head
tensors for detectors). The batch size is always dynamic, ``--dynamic`` makes
H and W dynamic too. ``--shape`` defaults to the size the test pipeline
produces (its center crop or fixed resize); configs whose test images keep
their own size need it.

After writing FILE the tool runs it with ONNX Runtime and the model with
PyTorch on the same random inputs (batch 1 and 2; with ``--dynamic`` also a
second size that FishNet must pad) and prints, per output, the largest
absolute and relative error; it exits with status 1 if a relative error is
above ``--max-rel``. The test preprocessing, the class names (and palette)
are stored in the file's metadata for ``onnx_classify.py`` /
``onnx_segment.py``, which need neither torch nor mmcv.
"""
import argparse
import sys
from pathlib import Path

import torch
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DATASETS, MODELS, init_default_scope
from mmengine.runner import load_checkpoint

import mmfishnet  # noqa: F401
from mmfishnet.checkpoint import load_checkpoint_file, safe_loading
from mmfishnet.deployment import (TASK_BY_SCOPE, ParityError, check_exporter,
                                  check_parity, export_onnx, exportable_copy,
                                  graph_for, metadata_for,
                                  preprocessing_from_config)
from mmfishnet.runtime.preflight import (UserInputError, check_checkpoint_file,
                                         check_checkpoint_fits,
                                         check_config_path, user_errors_exit)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, type=Path, help='.onnx file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='example input size (default: the test pipeline\'s)')
    parser.add_argument(
        '--dynamic', action='store_true', help='dynamic height and width')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument(
        '--max-rel',
        type=float,
        default=1e-4,
        help='largest relative error of ONNX Runtime accepted')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, as in tools/train.py')
    return parser.parse_args(argv)


def example_shape(args, preprocess: dict, config: str):
    """(H, W) of the example input."""
    if args.shape:
        if min(args.shape) < 2:
            raise UserInputError(f'--shape {args.shape}: H and W must be >= 2')
        return tuple(args.shape)
    for step in reversed(preprocess['transforms']):
        if step['type'] in ('center_crop', 'resize'):
            width, height = step['size']
            return height, width
    raise UserInputError(
        f'{config}: the test pipeline keeps each image\'s own size; give the '
        'example size with --shape H W (and --dynamic for other sizes)')


def check_inputs(shape, dynamic: bool):
    """Batches of 1 and 2 at ``shape``; with ``dynamic`` also a size that is
    not a multiple of 32 and differs from the example."""
    height, width = shape
    sizes = [(1, height, width), (2, height, width)]
    if dynamic:
        sizes.append((1, height + height // 4 + 7, width - width // 4 + 5))
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(n, 3, h, w, generator=generator) for n, h, w in sizes]


def build(cfg: Config, checkpoint: str):
    """The config's model in eval mode with the checkpoint's weights, and the
    dataset meta (classes, palette) of the checkpoint or the dataset
    class."""
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    if cfg.model.get('backbone'):
        cfg.model.backbone.init_cfg = None  # the checkpoint has every weight
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    check_checkpoint_fits(model, checkpoint, 'the checkpoint to export')
    with safe_loading.scope():
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    meta = load_checkpoint_file(checkpoint, map_location='cpu').get('meta', {})
    dataset_meta = meta.get('dataset_meta')
    if not dataset_meta:
        with DATASETS.switch_scope_and_registry(None) as registry:
            dataset = registry.get(cfg.test_dataloader.dataset.type)
        dataset_meta = getattr(dataset, 'METAINFO', None)
    return model.eval(), dataset_meta


def main(argv=None):
    args = parse_args(argv)
    with user_errors_exit():
        try:
            check_exporter()
        except RuntimeError as e:
            raise UserInputError(str(e)) from None
        check_config_path(args.config)
        check_checkpoint_file(args.checkpoint, 'checkpoint')
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        scope = cfg.get('default_scope')
        if scope not in TASK_BY_SCOPE:
            raise UserInputError(
                f'{args.config}: default_scope {scope!r} is not one of '
                f'{sorted(TASK_BY_SCOPE)}; cannot tell the task')
        task = TASK_BY_SCOPE[scope]
        try:
            preprocess = preprocessing_from_config(cfg)
        except ValueError as e:
            raise UserInputError(str(e)) from None
        shape = example_shape(args, preprocess, args.config)
        init_default_scope(scope)
        model, dataset_meta = build(cfg, args.checkpoint)

    # the exported copy swaps modules that would freeze shapes; the check
    # compares it with the model as trained
    graph = graph_for(exportable_copy(model), task)
    metadata = metadata_for(graph, task, cfg, preprocess, dataset_meta)
    export_onnx(
        graph,
        args.out,
        torch.randn(2, 3, *shape),
        dynamic=args.dynamic,
        metadata=metadata,
        opset=args.opset)
    print(f'wrote {args.out} ({task}, input image N x 3 x '
          f'{"H x W" if args.dynamic else "%d x %d" % shape}, outputs '
          f'{", ".join(graph.output_names)})')
    inputs = check_inputs(shape, args.dynamic)
    try:
        rows = check_parity(
            graph_for(model, task), args.out, inputs, max_rel=args.max_rel)
    except ParityError as e:
        print(f'error: {e}', file=sys.stderr)
        raise SystemExit(1)
    sizes = ', '.join('x'.join(map(str, x.shape)) for x in inputs)
    print(f'ONNX Runtime vs PyTorch (fp32) on {sizes}:')
    print('| output | shape | max abs error | max rel error |')
    print('|---|---|---|---|')
    for row in rows:
        print(f'| {row.name} | {"x".join(map(str, row.shape))} | '
              f'{row.max_abs:.3g} | {row.max_rel:.3g} |')
    print(f'all relative errors <= {args.max_rel:g}')


if __name__ == '__main__':
    main()
