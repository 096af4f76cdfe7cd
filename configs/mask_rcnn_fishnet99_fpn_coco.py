# Mask R-CNN with FishNet-99 + FPN, otherwise as
# mask_rcnn_fishnet150_fpn_coco.py.
_base_ = './mask_rcnn_fishnet150_fpn_coco.py'
model = dict(backbone={{_base_.fishnet99.det_c2_c5}})
