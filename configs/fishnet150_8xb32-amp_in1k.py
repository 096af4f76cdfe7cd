# FishNet-150 on ImageNet-1k, official recipe, mixed precision in training and
# evaluation (bf16 autocast where the GPU or CPU has it, fp16 with dynamic loss
# scaling on older GPUs; see configs/mask_rcnn_fishnet150_fpn_amp_coco.py).
_base_ = ['./fishnet150_8xb32_in1k.py']
optim_wrapper = dict(type='MixedPrecisionOptimWrapper', dtype='auto')
val_cfg = dict(type='AutocastValLoop', dtype='auto')
test_cfg = dict(type='AutocastTestLoop', dtype='auto')
