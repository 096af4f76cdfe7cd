# DeepLabV3+, FishNet-150, ADE20K 512x512, mmseg's 80k schedule (4 GPUs x 4
# images). Without dilation: the ASPP reads head1 (stride 8, 832 channels,
# in_index 1), the decoder's stride-4 skip (c1) is body3 (320 channels, the
# first map), and the auxiliary FCN head reads head2 (stride 16, in_index
# 2). mmseg's R-50-D8 result: 42.72 mIoU (mmseg's number, its model zoo).
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    pretrained=None,
    backbone={{_base_.fishnet150.seg_c2_c5}},
    decode_head=dict(
        in_index=1,
        in_channels={{_base_.fishnet_channels.c3}},
        c1_in_channels={{_base_.fishnet_channels.c2}}),
    auxiliary_head=dict(
        in_index=2, in_channels={{_base_.fishnet_channels.c4}}))
