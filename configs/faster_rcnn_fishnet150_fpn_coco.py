# Faster R-CNN, FishNet-150 + FPN, 1x schedule, 8 GPUs x 2 images, MS COCO
# 2017.
# Paper's result: the paper reports FishNet-150 with Mask R-CNN (see
# mask_rcnn_fishnet150_fpn_coco.py); no Faster R-CNN number could be checked
# here. mmdet's R-50 1x baseline: 37.4 box AP.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    backbone={{_base_.fishnet150.det_c2_c5}},
    neck=dict(in_channels={{_base_.fishnet_channels.c2_c5}}),
    # mmcv's RoIAlign computed as SeparableRoIAlign: the same features,
    # several times faster on the CPU; mmcv's kernel on GPUs
    roi_head=dict(bbox_roi_extractor=dict(type='SeparableRoIExtractor')))
auto_scale_lr = dict(enable=False, base_batch_size=16)
