# Faster R-CNN with mmdet's ResNet-18 FPN on BCCD, from scratch: the baseline
# of the FishNet-99 w0.625 detector (the same recipe, configs/_base_/
# faster_rcnn_fpn_bccd.py), compared by tools/analysis/compare_detection.py.
_base_ = './_base_/faster_rcnn_fpn_bccd.py'
model = dict(
    backbone=dict(depth=18, zero_init_residual=True),
    neck=dict(in_channels=[64, 128, 256, 512]))
