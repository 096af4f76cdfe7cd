# Faster R-CNN with FishNet-201 + FPN, otherwise as
# faster_rcnn_fishnet150_fpn_coco.py.
_base_ = './faster_rcnn_fishnet150_fpn_coco.py'
model = dict(backbone={{_base_.fishnet201.det_c2_c5}})
