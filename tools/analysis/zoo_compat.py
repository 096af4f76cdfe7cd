"""Walk the installed mmdet and mmseg model zoos with FishNet swapped in.

    python tools/analysis/zoo_compat.py [--toolbox mmdet mmseg]
        [--families faster_rcnn dino ...] [--markdown docs/zoo_compat.md]
        [--upstream] [--verbose]

For every model family (one representative config per config folder of
the installed mmdet 3.3 / mmseg 1.2; ``LEFT_OUT`` says which folders are
not walked and why, ``SAME_MODEL`` which hold a model walked in another
folder) this writes a user config with the recipe lines of
``docs/backbone.md`` (``mmfishnet.runtime.recipes``) beside
``configs/_base_/fishnet.py``, runs the checks of ``tools/train.py`` on it
(arguments, neck and head channels, input normalisation, pretrained files),
builds and initialises the model as a Runner does (the backbone loads its
pretrained file) and runs one loss + backward and one predict on two random
images on the CPU (``mmfishnet.testing``). Prints ``family | config |
recipe | result``; ``--upstream`` runs the upstream configs themselves
instead (their ResNet, no weights), to tell a family's own CPU limits from
FishNet's.

So that the walk takes minutes, the backbone is a quarter-width FishNet-99
(the fragment with ``widen_factor=0.25`` and its channels scaled, same
variable names) whose pretrained file holds random weights (BN in training
mode: there are no ImageNet statistics to keep), at most 100 proposals and
20 detections per image are kept, batch augmentations are off and mmseg's
training pad is the image size. SyncBN runs as BN.
"""
import argparse
import os.path as osp
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Tuple

import torch
from mmengine.config import Config

from mmfishnet.runtime import check_neck_channels, check_preprocessor
from mmfishnet.runtime.preflight import (check_fishnet_args,
                                         check_pretrained_files, config_dicts)
from mmfishnet.runtime.recipes import PREPROCESSOR, RECIPES_BY_NAME
from mmfishnet.testing import build_model, predict, random_batch, train_step

REPO = Path(__file__).resolve().parents[2]
FRAGMENT = REPO / 'configs' / '_base_' / 'fishnet.py'

# folder -> (representative config, recipe)
FAMILIES: Dict[str, Dict[str, Tuple[str, str]]] = {
    'mmdet': {
        'atss': ('atss_r50_fpn_1x_coco.py', 'fpn'),
        'autoassign': ('autoassign_r50-caffe_fpn_1x_coco.py', 'fpn'),
        'boxinst': ('boxinst_r50_fpn_ms-90k_coco.py', 'fpn'),
        'cascade_rcnn': ('cascade-mask-rcnn_r50_fpn_1x_coco.py', 'fpn'),
        'cascade_rpn':
        ('cascade-rpn_faster-rcnn_r50-caffe_fpn_1x_coco.py', 'fpn'),
        'centernet': ('centernet_r18_8xb16-crop512-140e_coco.py', 'c5'),
        'cityscapes': ('mask-rcnn_r50_fpn_1x_cityscapes.py', 'fpn'),
        'condinst': ('condinst_r50_fpn_ms-poly-90k_coco_instance.py', 'fpn'),
        'conditional_detr':
        ('conditional-detr_r50_8xb2-50e_coco.py', 'c5_list'),
        'crowddet': ('crowddet-rcnn_r50_fpn_8xb2-30e_crowdhuman.py', 'fpn'),
        'dab_detr': ('dab-detr_r50_8xb2-50e_coco.py', 'c5_list'),
        'ddod': ('ddod_r50_fpn_1x_coco.py', 'fpn'),
        'ddq': ('ddq-detr-4scale_r50_8xb2-12e_coco.py', 'c3_c5'),
        'deformable_detr': ('deformable-detr_r50_16xb2-50e_coco.py', 'c3_c5'),
        'detr': ('detr_r50_8xb2-150e_coco.py', 'c5_list'),
        'dino': ('dino-4scale_r50_8xb2-12e_coco.py', 'c3_c5'),
        'double_heads': ('dh-faster-rcnn_r50_fpn_1x_coco.py', 'fpn'),
        'dyhead': ('atss_r50_fpn_dyhead_1x_coco.py', 'fpn_then'),
        'dynamic_rcnn': ('dynamic-rcnn_r50_fpn_1x_coco.py', 'fpn'),
        'fast_rcnn': ('fast-rcnn_r50_fpn_1x_coco.py', 'fpn'),
        'faster_rcnn': ('faster-rcnn_r50_fpn_1x_coco.py', 'fpn'),
        'fcos': ('fcos_r50-caffe_fpn_gn-head_1x_coco.py', 'fpn'),
        'foveabox': ('fovea_r50_fpn_4xb4-1x_coco.py', 'fpn'),
        'fpg': ('faster-rcnn_r50_fpg_crop640-50e_coco.py', 'fpn'),
        'free_anchor': ('freeanchor_r50_fpn_1x_coco.py', 'fpn'),
        'fsaf': ('fsaf_r50_fpn_1x_coco.py', 'fpn'),
        'gfl': ('gfl_r50_fpn_1x_coco.py', 'fpn'),
        'ghm': ('retinanet_r50_fpn_ghm-1x_coco.py', 'fpn'),
        'gn': ('mask-rcnn_r50_fpn_gn-all_2x_coco.py', 'fpn'),
        'gn+ws': ('mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py', 'fpn'),
        'grid_rcnn': ('grid-rcnn_r50_fpn_gn-head_1x_coco.py', 'fpn'),
        'groie': ('mask-rcnn_r50_fpn_groie_1x_coco.py', 'fpn'),
        'htc': ('htc_r50_fpn_1x_coco.py', 'fpn'),
        'legacy_1.x': ('mask-rcnn_r50_fpn_1x_coco_v1.py', 'fpn'),
        'libra_rcnn': ('libra-faster-rcnn_r50_fpn_1x_coco.py', 'fpn_then'),
        'mask2former': ('mask2former_r50_8xb2-lsj-50e_coco.py', 'mask2former'),
        'mask_rcnn': ('mask-rcnn_r50_fpn_1x_coco.py', 'fpn'),
        'maskformer': ('maskformer_r50_ms-16xb1-75e_coco.py', 'mask2former'),
        'ms_rcnn': ('ms-rcnn_r50_fpn_1x_coco.py', 'fpn'),
        'nas_fcos': ('nas-fcos_r50-caffe_fpn_nashead-gn-head_4xb4-1x_coco.py',
                     'fpn'),
        'nas_fpn': ('retinanet_r50_nasfpn_crop640-50e_coco.py', 'fpn'),
        'paa': ('paa_r50_fpn_1x_coco.py', 'fpn'),
        'pafpn': ('faster-rcnn_r50_pafpn_1x_coco.py', 'fpn'),
        'panoptic_fpn': ('panoptic-fpn_r50_fpn_1x_coco.py', 'fpn'),
        'pisa': ('mask-rcnn_r50_fpn_pisa_1x_coco.py', 'fpn'),
        'point_rend': ('point-rend_r50-caffe_fpn_ms-1x_coco.py', 'fpn'),
        'reppoints': ('reppoints-moment_r50_fpn_1x_coco.py', 'fpn'),
        'retinanet': ('retinanet_r50_fpn_1x_coco.py', 'fpn'),
        'rpn': ('rpn_r50_fpn_1x_coco.py', 'fpn'),
        'rtmdet': ('rtmdet_s_8xb32-300e_coco.py', 'c3_c5'),
        'sabl': ('sabl-retinanet_r50_fpn_1x_coco.py', 'fpn'),
        'scnet': ('scnet_r50_fpn_1x_coco.py', 'fpn'),
        'seesaw_loss':
        ('mask-rcnn_r50_fpn_seesaw-loss_random-ms-2x_lvis-v1.py', 'fpn'),
        'simple_copy_paste':
        ('mask-rcnn_r50_fpn_rpn-2conv_4conv1fc_syncbn-all_32xb2-ssj-90k_'
         'coco.py', 'fpn'),
        'solo': ('solo_r50_fpn_1x_coco.py', 'fpn'),
        'solov2': ('solov2_r50_fpn_1x_coco.py', 'fpn'),
        'sparse_rcnn': ('sparse-rcnn_r50_fpn_1x_coco.py', 'fpn'),
        'tood': ('tood_r50_fpn_1x_coco.py', 'fpn'),
        'v3det': ('faster_rcnn_r50_fpn_8x4_sample1e-3_mstrain_v3det_2x.py',
                  'fpn'),
        'vfnet': ('vfnet_r50_fpn_1x_coco.py', 'fpn'),
        'yolact': ('yolact_r50_1xb8-55e_coco.py', 'fpn'),
        'yolo': ('yolov3_d53_8xb8-320-273e_coco.py', 'yolov3'),
        'yolof': ('yolof_r50-c5_8xb8-1x_coco.py', 'c5'),
        'yolox': ('yolox_s_8xb8-300e_coco.py', 'c3_c5'),
    },
    'mmseg': {
        'ann': ('ann_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_two_maps'),
        'apcnet': ('apcnet_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'ccnet': ('ccnet_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'danet': ('danet_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'deeplabv3':
        ('deeplabv3_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'deeplabv3plus': ('deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py',
                          'seg_deeplabv3plus'),
        'dmnet': ('dmnet_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'dnlnet': ('dnl_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'emanet':
        ('emanet_r50-d8_4xb2-80k_cityscapes-769x769.py', 'seg_stride8'),
        'encnet': ('encnet_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_enc'),
        'fastfcn':
        ('fastfcn_r50-d32_jpu_psp_4xb4-80k_ade20k-512x512.py', 'seg_jpu'),
        'fcn': ('fcn_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'gcnet': ('gcnet_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'isanet': ('isanet_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'knet':
        ('knet-s3_r50-d8_fcn_8xb2-adamw-80k_ade20k-512x512.py', 'seg_knet'),
        'mask2former': ('mask2former_r50_8xb2-160k_ade20k-512x512.py',
                        'seg_maps'),
        'maskformer': ('maskformer_r50-d32_8xb2-160k_ade20k-512x512.py',
                       'seg_maps'),
        'nonlocal_net': ('nonlocal_r50-d8_4xb4-80k_ade20k-512x512.py',
                         'seg_stride8'),
        'ocrnet': ('ocrnet_r101-d8_4xb2-40k_cityscapes-512x1024.py',
                   'seg_cascade'),
        'point_rend': ('pointrend_r50_4xb4-160k_ade20k-512x512.py',
                       'seg_neck'),
        'psanet': ('psanet_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'pspnet': ('pspnet_r50-d8_4xb4-80k_ade20k-512x512.py', 'seg_stride8'),
        'sem_fpn': ('fpn_r50_4xb4-160k_ade20k-512x512.py', 'seg_neck'),
        'upernet': ('upernet_r50_4xb4-80k_ade20k-512x512.py', 'seg_maps_aux'),
    },
}

# Folders whose model, after the swap, is built from the same types as the
# model of a folder walked (their own settings are a dataset, a schedule,
# augmentation or the backbone FishNet replaces): folder -> (config,
# recipe, the walked folder). Counted and run once, there;
# tests/test_tools/test_zoo_compat.py compares their types.
SAME_MODEL: Dict[str, Dict[str, Tuple[str, str, str]]] = {
    'mmdet': {
        'albu_example':
        ('mask-rcnn_r50_fpn_albu-1x_coco.py', 'fpn', 'mask_rcnn'),
        'deepfashion':
        ('mask-rcnn_r50_fpn_15e_deepfashion.py', 'fpn', 'mask_rcnn'),
        'empirical_attention':
        ('faster-rcnn_r50-attn0010_fpn_1x_coco.py', 'fpn', 'faster_rcnn'),
        'gcnet': ('mask-rcnn_r50-syncbn_fpn_1x_coco.py', 'fpn', 'mask_rcnn'),
        'instaboost': ('mask-rcnn_r50_fpn_instaboost-4x_coco.py', 'fpn',
                       'mask_rcnn'),
        'lvis': ('mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py', 'fpn',
                 'mask_rcnn'),
        'objects365': ('retinanet_r50_fpn_1x_objects365v1.py', 'fpn',
                       'retinanet'),
        'openimages': ('retinanet_r50_fpn_32xb2-1x_openimages.py', 'fpn',
                       'retinanet'),
        'pascal_voc': ('retinanet_r50_fpn_1x_voc0712.py', 'fpn', 'retinanet'),
        'resnet_strikes_back': ('mask-rcnn_r50-rsb-pre_fpn_1x_coco.py', 'fpn',
                                'mask_rcnn'),
        'scratch': ('mask-rcnn_r50-scratch_fpn_gn-all_6x_coco.py', 'fpn',
                    'gn'),
        'selfsup_pretrain': ('mask-rcnn_r50-swav-pre_fpn_1x_coco.py', 'fpn',
                             'mask_rcnn'),
        'strong_baselines':
        ('mask-rcnn_r50_fpn_rpn-2conv_4conv1fc_syncbn-all_lsj-50e_coco.py',
         'fpn', 'simple_copy_paste'),
        'wider_face': ('retinanet_r50_fpn_1x_widerface.py', 'fpn',
                       'retinanet'),
    },
    'mmseg': {},
}

# (reason, config folders) of the folders the walk leaves out
_MMDET_LEFT_OUT = [
    ('no ResNet config: its folder shows another backbone',
     ('convnext', 'cornernet', 'centripetalnet', 'efficientnet', 'hrnet',
      'pvt', 'regnet', 'res2net', 'resnest', 'swin', 'ssd')),
    ('a video model (tracking or video instance segmentation): its inputs '
     'are TrackDataSample sequences; its detector is a family walked here '
     '(Faster R-CNN, YOLOX, Mask R-CNN, Mask2Former)',
     ('bytetrack', 'deepsort', 'mask2former_vis', 'masktrack_rcnn', 'ocsort',
      'qdtrack', 'sort', 'strongsort')),
    ('needs a BERT language model from the HuggingFace hub at build time '
     '(a download)', ('glip', 'grounding_dino', 'mm_grounding_dino')),
    ('knowledge distillation: builds its teacher from a checkpoint URL at '
     'build time (a download)', ('ld', 'lad')),
    ('dataset and schedule fragments, no model', ('common', 'dsdl')),
    ('a re-identification model for the trackers, not a detector', ('reid', )),
    ('DetectoRS: its recursive feature pyramid feeds FPN outputs back into '
     'ResNet stages (rfp_backbone), so the backbone cannot be swapped',
     ('detectors', )),
    ("TridentNet: its RoI head expects the three branches of "
     "TridentResNet's shared-weight stage", ('tridentnet', )),
    ('semi-supervised: inputs are dicts of teacher and student branches; its '
     'detector is Faster R-CNN', ('soft_teacher', )),
    ('needs the timm package for its backbone', ('timm_example', )),
    ('Detectron2Wrapper configs: detectron2 (not installed) builds the model',
     ('misc', )),
    ('mmcv implements its CARAFE upsampling for CUDA only', ('carafe', )),
    ("mmcv implements Guided Anchoring's masked convolution for CUDA only",
     ('guided_anchoring', )),
    ('its configs put (modulated) deformable convolutions into the ResNet, '
     'which FishNet replaces, or use deformable RoI pooling, which mmcv '
     'implements for CUDA only', ('dcn', 'dcnv2')),
    ("its ResNet config fails the same way on the CPU with untrained "
     "weights: predict pastes a mask whose box lies outside the image (an "
     "empty torch.arange in mmdet's CPU mask pasting)", ('queryinst', )),
]
_MMSEG_LEFT_OUT = [
    ('no ResNet config: its folder shows another backbone',
     ('beit', 'bisenetv2', 'cgnet', 'convnext', 'ddrnet', 'dpt', 'erfnet',
      'fastscnn', 'hrnet', 'mae', 'mobilenet_v2', 'mobilenet_v3', 'pidnet',
      'poolformer', 'resnest', 'segformer', 'segmenter', 'segnext', 'setr',
      'stdc', 'swin', 'twins', 'unet', 'vit')),
    ('BiSeNetV1 is a whole network: its ResNet-18 is the context path inside '
     'the BiSeNetV1 backbone', ('bisenetv1', )),
    ('ICNet is a whole network: its ResNet sits inside the ICNet backbone '
     '(backbone_cfg) at three input scales', ('icnet', )),
    ('needs CLIP weights at build time (a download)', ('san', )),
    ('needs Stable Diffusion weights at build time (a download)', ('vpd', )),
    ('dataset fragments, no model', ('dsdl', )),
]
LEFT_OUT: Dict[str, Dict[str, str]] = {
    toolbox: {
        folder: reason
        for reason, folders in left_out
        for folder in folders
    }
    for toolbox, left_out in (('mmdet', _MMDET_LEFT_OUT), ('mmseg',
                                                           _MMSEG_LEFT_OUT))
}

IMAGE_SHAPE = (3, 96, 128)  # C, H, W of the two random images
# Families that need larger images: DDOD's deformable convs want 3x3
# positions at stride 128. (The two-stage DETRs pick their queries among the
# encoder's positions: 100 queries, and DDQ's 150 dense ones, fit in the 256
# positions of 96x128 at strides 8-64.)
IMAGE_SHAPES = {
    'ddod': (3, 384, 384),
}
NARROW = 0.25
# Proposals per image kept by the walk (upstream: 1000-2000) and detections
# (upstream: 100; PointRend's and the cascades' mask heads cost per detection)
MAX_PROPOSALS = 100
MAX_DETECTIONS = 20
# Classes of a head, at most (V3Det's 13,204, LVIS's 1,203): what the walk
# checks is FishNet beside the family's heads, not the width of their
# classifier, which only slows the losses and the batched NMS
MAX_CLASSES = 80
# Object queries of a DETR-like decoder (DINO's and DDQ's 900, DDQ's dense
# queries a multiple of them): the walk checks the wiring, not their count
MAX_QUERIES = 100


def capped_class_weight(weight, capped: dict):
    """A loss's ``class_weight`` for the capped heads: a list of one weight
    per class (and, as MaskFormer's, one for "no object" last) keeps the
    weights of the classes that remain; anything else is returned as is."""
    if not isinstance(weight, (list, tuple)):
        return weight
    for classes, kept in capped.items():
        if len(weight) == classes:
            return list(weight[:kept])
        if len(weight) == classes + 1:
            return [*weight[:kept], weight[-1]]
    return weight


def installed_configs(toolbox: str) -> Path:
    """The config folder that ships inside the installed ``toolbox``."""
    module = __import__(toolbox)
    return Path(module.__file__).parent / '.mim' / 'configs'


def family_folders(toolbox: str) -> List[str]:
    """Every config folder of the installed ``toolbox`` but ``_base_``."""
    root = installed_configs(toolbox)
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and p.name != '_base_')


def user_config(toolbox: str, upstream: str, recipe: str,
                fragment: str) -> str:
    """The text of a user's config: the upstream config and the FishNet
    fragment as bases, ``custom_imports`` and the recipe's model lines."""
    lines = [PREPROCESSOR, *RECIPES_BY_NAME[recipe].config_lines()]
    body = ',\n    '.join(lines)
    # mmengine's `scope::folder/file` wants a folder name of word characters
    # (not mmdet's gn+ws or legacy_1.x): the installed file's path works too
    folder = upstream.split('/')[0]
    base = (f'{toolbox}::{upstream}' if re.fullmatch(r'\w+', folder) else str(
        installed_configs(toolbox) / upstream))
    return (f"_base_ = ['{base}', '{fragment}']\n"
            "custom_imports = dict(imports=['mmfishnet'], "
            'allow_failed_imports=False)\n'
            f'model = dict(\n    {body})\n')


def narrow_fragment(folder: str, widen_factor: float = NARROW) -> str:
    """Write ``configs/_base_/fishnet.py`` with every backbone a FishNet-99
    of ``widen_factor`` and its channels scaled to match (the same variable
    names) into ``folder``, beside the file its backbones load: that
    FishNet's random initial weights under ``backbone.``. Returns the
    fragment's path; written once per folder."""
    path = osp.join(folder, 'fishnet_narrow.py')
    if osp.exists(path):
        return path
    from mmfishnet.models import FishNet
    weights = osp.join(folder, f'fishnet99-w{widen_factor}_random.pth')
    torch.manual_seed(0)
    backbone = FishNet(arch='fishnet99', widen_factor=widen_factor)
    backbone.init_weights()
    torch.save(
        dict(state_dict={
            f'backbone.{k}': v
            for k, v in backbone.state_dict().items()
        }), weights)
    fragment = Config.fromfile(str(FRAGMENT)).to_dict()

    # each full-width map's channels -> the narrow FishNet's (its default
    # out_indices: the four FPN maps the fragment's channels name), as
    # FishNet rounds them per stage
    with torch.device('meta'):
        full = FishNet(arch='fishnet99')
    narrow_of = dict(zip(full.out_channels, backbone.out_channels))

    def scale(value):
        if isinstance(value, (list, tuple)):
            return type(value)(scale(v) for v in value)
        return narrow_of[value]

    for name, uses in fragment.items():
        if name.startswith(('fishnet9', 'fishnet1', 'fishnet2', 'fishnext')):
            for use in uses.values():
                # random weights have no BN statistics worth keeping
                use.update(
                    arch='fishnet99',
                    widen_factor=widen_factor,
                    norm_eval=False)
                use['init_cfg']['checkpoint'] = weights
    fragment['fishnet_channels'] = {
        k: scale(v)
        for k, v in fragment['fishnet_channels'].items()
    }
    Config(fragment).dump(path)
    return path


def prepare(cfg: Config, toolbox: str, shape: Tuple[int, int, int]) -> None:
    """What the walk changes beyond the recipe, for speed: fewer proposals,
    detections, queries and classes, no batch augmentation, mmseg's training
    pad at the image size."""
    capped = {}  # a head's class count -> its capped count
    for _, node in config_dicts(cfg.model, 'model'):
        if isinstance(node.get('num_queries'), int):
            node['num_queries'] = min(node['num_queries'], MAX_QUERIES)
        if isinstance(node.get('num_classes'), int):
            classes = node['num_classes']
            node['num_classes'] = min(classes, MAX_CLASSES)
            capped[classes] = node['num_classes']
    for _, node in config_dicts(cfg.model, 'model'):
        if 'class_weight' in node:
            node['class_weight'] = capped_class_weight(node['class_weight'],
                                                       capped)
    for part in ('train_cfg', 'test_cfg'):
        for path, node in config_dicts(cfg.model.get(part), part):
            if isinstance(node.get('nms_pre'), int):
                node['nms_pre'] = min(node['nms_pre'], MAX_PROPOSALS)
            if isinstance(node.get('max_per_img'), int):
                most = (
                    MAX_PROPOSALS if part == 'train_cfg' or 'rpn' in path else
                    MAX_DETECTIONS)
                node['max_per_img'] = min(node['max_per_img'], most)
    preprocessor = cfg.model.get('data_preprocessor')
    if preprocessor is not None:
        preprocessor['batch_augments'] = None
        if toolbox == 'mmseg':
            preprocessor['size'] = shape[1:]


def run_config(path: str,
               toolbox: str,
               shape: Tuple[int, int, int] = IMAGE_SHAPE,
               pretrained: bool = True) -> None:
    """The checks of ``tools/train.py`` on the config file ``path``, then
    its model built and one loss + backward and one predict on two random
    images of ``shape`` (raises on failure). ``pretrained=False``: without
    the config's weights (the upstream configs: no download)."""
    cfg = Config.fromfile(path)
    cfg.setdefault('default_scope', toolbox)
    check_fishnet_args(cfg)
    check_neck_channels(cfg)
    check_preprocessor(cfg)
    check_pretrained_files(cfg)
    prepare(cfg, toolbox, shape)
    model = build_model(cfg, pretrained=pretrained)
    batch = random_batch(model, cfg, shape)
    train_step(model, batch)
    predict(model, batch)


def model_types(cfg: Config) -> FrozenSet[Tuple[str, str]]:
    """(where, type) of every typed part of ``cfg.model`` but the backbone
    and the data preprocessor (list positions left out): what tells one
    model family from another once FishNet is the backbone."""
    return frozenset(
        (re.sub(r'\[\d+\]', '[]', path), node['type'])
        for path, node in config_dicts(cfg.model, 'model')
        if isinstance(node.get('type'), str) and not path.startswith(
            ('model.backbone', 'model.data_preprocessor')))


def walk(toolbox: str,
         folder: str,
         workdir: str,
         verbose: bool = False,
         upstream_only: bool = False) -> Tuple[bool, str]:
    """Run one family: (ok, ``'ok'`` or the error's first line). With
    ``upstream_only`` the upstream config runs as it is (its ResNet without
    weights), to tell the family's own CPU limits from FishNet's."""
    upstream_name, recipe = FAMILIES[toolbox][folder]
    upstream = f'{folder}/{upstream_name}'
    path = str(installed_configs(toolbox) / upstream)
    if not upstream_only:
        fragment = narrow_fragment(workdir)
        path = osp.join(workdir, f'{toolbox}_{folder}.py')
        with open(path, 'w') as f:
            f.write(user_config(toolbox, upstream, recipe, fragment))
    try:
        run_config(path, toolbox, IMAGE_SHAPES.get(folder, IMAGE_SHAPE),
                   not upstream_only)
    except Exception as e:  # the table reports every failure
        if verbose:
            traceback.print_exc()
        message = f'{type(e).__name__}: {e}'.splitlines()[0]
        return False, message[:300]
    return True, 'ok'


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--toolbox',
        nargs='+',
        default=['mmdet', 'mmseg'],
        choices=list(FAMILIES))
    parser.add_argument(
        '--families', nargs='+', help='config folders (default: all)')
    parser.add_argument('--markdown', help='also write the table here')
    parser.add_argument(
        '--verbose', action='store_true', help='print tracebacks')
    parser.add_argument(
        '--upstream',
        action='store_true',
        help='run the upstream configs as they are (their ResNet, no '
        'weights) instead of with FishNet')
    args = parser.parse_args(argv)
    rows, failed = [], 0
    with tempfile.TemporaryDirectory() as workdir:
        for toolbox in args.toolbox:
            for folder in args.families or sorted(FAMILIES[toolbox]):
                if folder not in FAMILIES[toolbox]:
                    continue
                start = time.perf_counter()
                ok, message = walk(toolbox, folder, workdir, args.verbose,
                                   args.upstream)
                failed += not ok
                config, recipe = FAMILIES[toolbox][folder]
                rows.append((toolbox, folder, config, recipe, message))
                print(
                    f'{toolbox} {folder}: {message} '
                    f'({time.perf_counter() - start:.1f} s)',
                    flush=True)
    table = [
        '| toolbox | family | config | recipe | result |',
        '|---|---|---|---|---|'
    ]
    table += [f'| {t} | {f} | `{c}` | {r} | {m} |' for t, f, c, r, m in rows]
    for toolbox in args.toolbox if args.families is None else ():
        for folder, (config, recipe,
                     twin) in sorted(SAME_MODEL[toolbox].items()):
            table.append(f'| {toolbox} | {folder} | `{config}` | {recipe} | '
                         f'the model of {twin}, counted and run there |')
        for folder, reason in sorted(LEFT_OUT[toolbox].items()):
            table.append(f'| {toolbox} | {folder} | | | left out: '
                         f'{reason} |')
    summary = f'{len(rows) - failed} of {len(rows)} families ran'
    print('\n'.join(table))
    print(summary)
    if args.markdown:
        Path(args.markdown).write_text(
            page_header(summary) + '\n'.join(table) + '\n')
    return 1 if failed else 0


def page_header(summary: str) -> str:
    """The heading and provenance of the markdown page."""
    import mmdet
    import mmseg
    command = ' '.join(['python tools/analysis/zoo_compat.py', *sys.argv[1:]])
    return (
        '# FishNet in the model zoos of mmdet and mmseg\n\n'
        'One config (a ResNet one where there is) of every config folder of '
        'the installed mmdet '
        f'{mmdet.__version__} and mmseg {mmseg.__version__}, with FishNet '
        'swapped in by the lines of [backbone.md](backbone.md#the-lines-for-'
        'each-neck-and-head): the checks of tools/train.py, the model built '
        'with the backbone loading its pretrained file, one loss + backward '
        f'+ predict on two random images on the CPU (torch '
        f'{torch.__version__}), '
        f'{time.strftime("%Y-%m-%d")}: {summary}. A folder whose model is '
        "built from the same types as a walked folder's (another dataset, "
        'schedule or augmentation, or a change to the backbone FishNet '
        'replaces) is counted once, there; folders the walk leaves out say '
        'why. Made by\n\n'
        f'```bash\n{command}\n```\n\n')


if __name__ == '__main__':
    sys.exit(main())
