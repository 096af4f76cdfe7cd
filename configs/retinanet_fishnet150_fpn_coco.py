# RetinaNet, FishNet-150 + FPN, 1x schedule, 8 GPUs x 2 images, MS COCO 2017.
# A single-stage FPN user: as in mmdet's RetinaNet the FPN starts at the
# stride-8 map (start_level=1: head1-3) and adds P6/P7 on the stride-32 input.
# No paper result. mmdet's R-50 1x baseline: 36.5 box AP.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    backbone={{_base_.fishnet150.det_c2_c5}},
    neck=dict(in_channels={{_base_.fishnet_channels.c2_c5}}))
auto_scale_lr = dict(enable=False, base_batch_size=16)
