# A user's config: an upstream mmdet config with FishNet swapped in, as the
# README shows (the base path is relative to this test file's location).
_base_ = [
    'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
    '../../../configs/_base_/fishnet150_fpn_backbone.py'
]
model = dict(
    backbone={{_base_.fishnet_backbone}},
    neck=dict(in_channels={{_base_.fpn_in_channels}}))
