# FishNet backbones for MMDetection, MMSegmentation and MMPretrain configs.
# Variables only, every name starting with `fishnet` or `fishnext`: this file
# sits in `_base_` beside any upstream config, whatever hooks, imports or
# runtime settings that config has. The recipe (docs/backbone.md gives the
# lines for every neck and head):
#
#   _base_ = ['mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
#             'path/to/mmfishnet/configs/_base_/fishnet.py']
#   custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
#   model = dict(
#       data_preprocessor={{_base_.fishnet_preprocessor}},
#       backbone={{_base_.fishnet150.det_c2_c5}},
#       neck=dict(in_channels={{_base_.fishnet_channels.c2_c5}}))
#
# fishnet99/150/201 and fishnext99/150/201 each hold one backbone per use:
#   det_c2_c5  mmdet, body3 + head1-3 (strides 4-32): FPN, PAFPN, NAS-FPN,
#              Mask2Former / MaskFormer
#   det_c3_c5  mmdet, head1-3 (strides 8-32): DINO, Deformable DETR, RTMDet,
#              YOLOX
#   det_c5     mmdet, head3 (stride 32): DETR, Conditional / DAB-DETR,
#              CenterNet
#   seg_c2_c5  mmseg, body3 + head1-3: every decode head reads these maps by
#              in_index (stride 8 is head1, without dilation)
#   seg_c3_c5  mmseg, head1-3: FastFCN's JPU neck
#   cls_c5     mmpretrain, head3 for a classification head
# The names follow ResNet's C2-C5 by stride; the widths are the same for all
# six archs. Detection freezes the stem and tail1 and keeps BN statistics
# fixed, as mmdet's R-50 baselines; segmentation trains every stage with
# SyncBN, as mmseg's. All load the ImageNet weights converted from the
# authors' files (FishNeXt: your own ImageNet training), see
# docs/pretrained_weights.md.

# FishNet's stage indices for each set of maps
fishnet_out_indices = dict(c2_c5=(6, 7, 8, 9), c3_c5=(7, 8, 9), c5=(9, ))
# Channels of each map (c2..c5) and of each set of maps (c5_c3: deepest
# first, for YOLOV3Neck; c3_c5_tuple for FastFCN's JPU, which asserts a tuple)
fishnet_channels = dict(
    c2=320,
    c3=832,
    c4=1600,
    c5=2112,
    c2_c5=[320, 832, 1600, 2112],
    c3_c5=[832, 1600, 2112],
    c5_c3=[2112, 1600, 832],
    c3_c5_tuple=(832, 1600, 2112))
# The input the ImageNet weights were trained on: RGB, ImageNet mean and std
# (mmdet's and mmseg's data preprocessors; mmpretrain's names the switch
# to_rgb)
fishnet_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)
fishnet_cls_preprocessor = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)


def _fishnet_uses(arch):
    """The backbone dict of every use of ``arch`` (functions are not kept in
    the config)."""

    def backbone(maps, **settings):
        return dict(
            _delete_=True,
            type='FishNet',
            arch=arch,
            out_indices=fishnet_out_indices[maps],
            init_cfg=dict(
                type='Pretrained',
                checkpoint=f'checkpoints/{arch}_in1k.pth',
                prefix='backbone.'),
            **settings)

    det = dict(
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True)
    seg = dict(norm_cfg=dict(type='SyncBN', requires_grad=True))
    return dict(
        det_c2_c5=backbone('c2_c5', **det),
        det_c3_c5=backbone('c3_c5', **det),
        det_c5=backbone('c5', **det),
        seg_c2_c5=backbone('c2_c5', **seg),
        seg_c3_c5=backbone('c3_c5', **seg),
        cls_c5=backbone('c5'))


fishnet99 = _fishnet_uses('fishnet99')
fishnet150 = _fishnet_uses('fishnet150')
fishnet201 = _fishnet_uses('fishnet201')
fishnext99 = _fishnet_uses('fishnext99')
fishnext150 = _fishnet_uses('fishnext150')
fishnext201 = _fishnet_uses('fishnext201')
