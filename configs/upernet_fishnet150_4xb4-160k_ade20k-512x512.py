# UPerNet, FishNet-150, ADE20K 512x512, mmseg's 160k schedule (4 GPUs x 4
# images). mmseg's ResNet-50 result with this schedule: 42.05 mIoU (mmseg's
# number, its model zoo).
_base_ = [
    'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py',
    './_base_/fishnet150_seg_backbone.py',
]
model = dict(
    pretrained=None,
    backbone={{_base_.fishnet_backbone}},
    decode_head=dict(in_channels={{_base_.fpn_in_channels}}),
    auxiliary_head=dict(in_channels={{_base_.fishnet_stride16_channels}}))
