# UPerNet, FishNet-150, ADE20K 512x512, mmseg's 160k schedule (4 GPUs x 4
# images). mmseg's ResNet-50 result with this schedule: 42.05 mIoU (mmseg's
# number, its model zoo).
_base_ = [
    'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    pretrained=None,
    backbone={{_base_.fishnet150.seg_c2_c5}},
    decode_head=dict(in_channels={{_base_.fishnet_channels.c2_c5}}),
    auxiliary_head=dict(in_channels={{_base_.fishnet_channels.c4}}))
