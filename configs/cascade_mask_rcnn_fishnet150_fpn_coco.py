# Cascade Mask R-CNN, FishNet-150 + FPN, 1x schedule, 8 GPUs x 2 images, MS
# COCO 2017. The FPN reads body3 and head1-3 (strides 4-32), as in
# mask_rcnn_fishnet150_fpn_coco.py. mmdet's R-50 1x result: 41.2 box / 35.9
# mask AP (mmdet's numbers, its model zoo).
_base_ = [
    'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
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
auto_scale_lr = dict(enable=False, base_batch_size=16)
