# Faster R-CNN with FishNet-99 + FPN, otherwise as
# faster_rcnn_fishnet150_fpn_coco.py.
_base_ = './faster_rcnn_fishnet150_fpn_coco.py'
model = dict(
    backbone=dict(
        arch='fishnet99',
        init_cfg=dict(checkpoint='checkpoints/fishnet99_in1k.pth')))
