# Mask R-CNN, FishNet-150 + FPN, 1x schedule (12 epochs), 8 GPUs x 2 images,
# MS COCO 2017 (train on train2017, evaluate bbox and segm on val2017).
# Paper's result (Sun et al. 2018, their numbers, not reproduced here; the
# absolute values of their table were not checked): FishNet-150 improves
# Mask R-CNN over its ResNet-50 baseline by +2.8 box AP and +2.3 mask AP on
# COCO. mmdet's R-50 1x baseline: 38.2 box / 34.7 mask AP.
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    backbone={{_base_.fishnet150.det_c2_c5}},
    neck=dict(in_channels={{_base_.fishnet_channels.c2_c5}}),
    # mmcv's RoIAlign computed as SeparableRoIAlign: the same features,
    # several times faster on the CPU; mmcv's kernel on GPUs
    roi_head=dict(
        bbox_roi_extractor=dict(type='SeparableRoIExtractor'),
        mask_roi_extractor=dict(type='SeparableRoIExtractor')))
# The lr (0.02) is for a total batch of 16; `tools/train.py --auto-scale-lr`
# rescales it for other GPU counts.
auto_scale_lr = dict(enable=False, base_batch_size=16)
