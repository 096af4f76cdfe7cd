# Semantic FPN, FishNet-150, Cityscapes 512x1024 crops, mmseg's 80k schedule
# (4 GPUs x 2 images). mmseg's ResNet-50 result with this schedule: 74.52
# mIoU (mmseg's number, its model zoo).
_base_ = [
    'mmseg::sem_fpn/fpn_r50_4xb2-80k_cityscapes-512x1024.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    pretrained=None,
    backbone={{_base_.fishnet150.seg_c2_c5}},
    neck=dict(in_channels={{_base_.fishnet_channels.c2_c5}}))
