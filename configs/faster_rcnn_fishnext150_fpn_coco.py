# Faster R-CNN with FishNeXt-150 + FPN, otherwise as
# faster_rcnn_fishnet150_fpn_coco.py. Pretrained weights: see
# mask_rcnn_fishnext150_fpn_coco.py.
_base_ = './faster_rcnn_fishnet150_fpn_coco.py'
model = dict(backbone={{_base_.fishnext150.det_c2_c5}})
