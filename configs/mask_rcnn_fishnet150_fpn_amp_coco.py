# Mask R-CNN, FishNet-150 + FPN, 1x, mixed precision in training and testing:
# bf16 autocast on GPUs that have it (A100/H100) and on CPUs with AVX512-BF16
# or
# AMX, fp16 with dynamic loss scaling on older GPUs, fp32 with a log line on a
# CPU without bf16. Set dtype='bfloat16' or 'float16' to choose.
_base_ = './mask_rcnn_fishnet150_fpn_coco.py'
optim_wrapper = dict(type='MixedPrecisionOptimWrapper', dtype='auto')
val_cfg = dict(type='AutocastValLoop', dtype='auto')
test_cfg = dict(type='AutocastTestLoop', dtype='auto')
