# Faster R-CNN with FishNet-201 + FPN, otherwise as
# faster_rcnn_fishnet150_fpn_coco.py.
_base_ = './faster_rcnn_fishnet150_fpn_coco.py'
model = dict(
    backbone=dict(
        arch='fishnet201',
        init_cfg=dict(checkpoint='checkpoints/fishnet201_in1k.pth')))
