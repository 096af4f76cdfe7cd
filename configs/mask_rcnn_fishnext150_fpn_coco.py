# Mask R-CNN with FishNeXt-150 + FPN, otherwise as
# mask_rcnn_fishnet150_fpn_coco.py.
# No FishNeXt weights were ever released: train fishnext150_8xb32_in1k.py first
# and put its checkpoint at checkpoints/fishnext150_in1k.pth. The paper gives
# no
# FishNeXt detection result.
_base_ = './mask_rcnn_fishnet150_fpn_coco.py'
model = dict(backbone={{_base_.fishnext150.det_c2_c5}})
