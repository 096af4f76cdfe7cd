# Faster R-CNN with FishNet-99 at widen_factor 0.625 on BCCD, from scratch:
# within 10 % of ResNet-18's backbone multiply-adds at 640x480, trained with
# the same recipe as faster_rcnn_r18_fpn_1xb4-8e_bccd.py (configs/_base_/
# faster_rcnn_fpn_bccd.py) and compared with it by
# tools/analysis/compare_detection.py.
_base_ = './_base_/faster_rcnn_fpn_bccd.py'
widen_factor = 0.625
model = dict(
    backbone=dict(
        _delete_=True,
        type='FishNet',
        arch='fishnet99',
        widen_factor=widen_factor,
        out_indices=(6, 7, 8, 9),
        norm_cfg={{_base_.norm_cfg}},
        # from scratch, every block starts as its shortcut, as the ResNet's
        zero_init_residual=True),
    # body3, head1-3: 320/832/1600/2112 channels times widen_factor
    neck=dict(
        in_channels=[int(c * widen_factor) for c in (320, 832, 1600, 2112)]))
