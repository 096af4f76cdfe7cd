# A user's config: an upstream mmdet config with FishNet swapped in, as the
# README shows (the base path is relative to this test file's location).
_base_ = [
    'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
    '../../../configs/_base_/fishnet.py'
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    backbone={{_base_.fishnet150.det_c2_c5}},
    neck=dict(in_channels={{_base_.fishnet_channels.c2_c5}}))
