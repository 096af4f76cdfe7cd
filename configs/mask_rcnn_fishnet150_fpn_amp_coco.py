# Mask R-CNN, FishNet-150 + FPN, 1x, mixed precision (fp16 autocast with
# dynamic loss scaling). Without CUDA, tools/train.py falls back to fp32.
_base_ = './mask_rcnn_fishnet150_fpn_coco.py'
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
