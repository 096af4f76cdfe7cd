"""Draw what FishNet sees: an image and the feature map of every stage.

    python tools/analysis/feature_maps.py CONFIG IMAGE [--checkpoint CKPT]
        [--out feature_maps.png] [--maps backbone|neck] [--short-side N]
        [--channel-reduction squeeze_mean|select_max]

For a classifier config the panels are FishNet's ten stages (tail1-3,
bridge, body1-3, head1-3): the backbone is built with every stage as an
output. For a detector or segmentor config (any model with a neck) they are
the FPN maps (``--maps neck``, the default) or FishNet's ten stages
(``--maps backbone``). Each panel is titled
with its stage, stride and channels and drawn with the OpenMMLab visualizer
(``Visualizer.draw_featmap``: the channel mean, or the strongest channel,
over the image). Without ``--checkpoint`` the model keeps the authors'
random initialisation and the title says so.
"""
import argparse
import math
import os.path as osp

import matplotlib
import mmcv
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.visualization import Visualizer

import mmfishnet  # noqa: F401
from mmfishnet.checkpoint import safe_loading
from mmfishnet.models import FishNet
from mmfishnet.runtime.preflight import (check_checkpoint_file,
                                         check_config_path, check_images,
                                         is_fishnet, user_errors_exit)

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

ALL_STAGES = tuple(range(len(FishNet.stage_names)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('image')
    parser.add_argument('--checkpoint', help='trained weights (optional)')
    parser.add_argument('--out', default='feature_maps.png')
    parser.add_argument(
        '--maps',
        choices=['backbone', 'neck'],
        default='neck',
        help='for a detector or segmentor: the FPN maps or FishNet stages')
    parser.add_argument(
        '--short-side',
        type=int,
        help='resize the image to this shorter side '
        '(default: 800 for detectors, the image as it is '
        'for classifiers)')
    parser.add_argument(
        '--channel-reduction',
        choices=['squeeze_mean', 'select_max'],
        default='squeeze_mean')
    parser.add_argument(
        '--display-size',
        type=int,
        default=320,
        help='shorter side of every panel in the PNG')
    return parser.parse_args(argv)


def build_model(cfg: Config, checkpoint, maps: str) -> torch.nn.Module:
    """The config's model, every FishNet stage an output when the backbone's
    maps are drawn, with ``checkpoint`` or the authors' initialisation."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    backbone = cfg.model.backbone
    if not is_fishnet(backbone.get('type')):
        raise SystemExit(f'error: {cfg.filename}: the backbone is '
                         f'{backbone.get("type")}, not FishNet')
    if maps == 'backbone':
        backbone.out_indices = ALL_STAGES
    backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    if checkpoint:
        with safe_loading.scope():
            load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    else:
        model.init_weights()
    return model.eval()


def panel_titles(model, feats, image_height: int, maps: str):
    titles = []
    for i, feat in enumerate(feats):
        stride = image_height / feat.shape[-2]
        if maps == 'backbone':
            index = model.backbone.out_indices[i]
            name = f'{index}: {model.backbone.stage_names[index]}'
        else:
            name = f'FPN P{int(round(math.log2(stride)))}'
        titles.append(f'{name}, stride {stride:g}, {feat.shape[1]} ch')
    return titles


def main(argv=None):
    args = parse_args(argv)
    with user_errors_exit():
        check_config_path(args.config)
        check_images([args.image])
        if args.checkpoint:
            check_checkpoint_file(args.checkpoint, '--checkpoint')
    cfg = Config.fromfile(args.config)
    detector = 'neck' in cfg.model and cfg.model.neck is not None
    maps = args.maps if detector else 'backbone'
    model = build_model(cfg, args.checkpoint, maps)

    image = mmcv.imread(args.image, channel_order='rgb')
    # mmdet's test pipelines resize to an 800 px short side; segmentors and
    # classifiers see the image as it is
    resize = detector and cfg.get('default_scope') == 'mmdet'
    short_side = args.short_side or (800 if resize else None)
    if short_side:
        image = mmcv.imrescale(image, short_side / min(image.shape[:2]))
    data = model.data_preprocessor(
        dict(inputs=[torch.from_numpy(image.copy()).permute(2, 0, 1)]), False)
    with torch.no_grad():
        feats = (
            model.extract_feat(data['inputs'])
            if maps == 'neck' else model.backbone(data['inputs']))
    padded = data['inputs'].shape[-2:]
    display = mmcv.imrescale(image, args.display_size / min(image.shape[:2]))
    # draw over the padded area too, so that maps and image line up
    canvas = mmcv.impad(
        display,
        shape=tuple(
            round(s * display.shape[0] / image.shape[0]) for s in padded))
    panels = [(canvas, f'input {image.shape[1]}x{image.shape[0]}')]
    for feat, title in zip(feats, panel_titles(model, feats, padded[0], maps)):
        drawn = Visualizer.draw_featmap(
            feat[0].float(), canvas, channel_reduction=args.channel_reduction)
        panels.append((drawn, title))

    columns = min(4, len(panels))
    rows = math.ceil(len(panels) / columns)
    aspect = canvas.shape[1] / canvas.shape[0]
    fig, axes = plt.subplots(
        rows,
        columns,
        squeeze=False,
        figsize=(3.2 * columns * aspect, 3.4 * rows))
    for ax in axes.flat:
        ax.axis('off')
    for ax, (picture, title) in zip(axes.flat, panels):
        ax.imshow(picture)
        ax.set_title(title, fontsize=9)
    weights = (
        osp.basename(args.checkpoint)
        if args.checkpoint else 'untrained (random initialisation)')
    fig.suptitle(
        f'{osp.basename(args.image)} through '
        f'{osp.basename(args.config)}, {weights}',
        fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'{len(panels) - 1} feature maps -> {args.out}')
    return [title for _, title in panels]


if __name__ == '__main__':
    main()
