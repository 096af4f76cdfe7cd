# PSPNet, FishNet-150, ADE20K 512x512, mmseg's 80k schedule (4 GPUs x 4
# images). mmseg's ResNet-50 reaches stride 8 by dilating its last two
# stages (d8); FishNet needs no dilation: its head1 map (832 channels) is at
# stride 8 and has passed the whole tail, bridge and body, so the pyramid
# pooling module reads head1 (in_index 1) and the auxiliary FCN head reads
# head2 (stride 16, in_index 2). mmseg's R-50-D8 result: 41.13 mIoU (mmseg's
# number, its model zoo).
_base_ = [
    'mmseg::pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    pretrained=None,
    backbone={{_base_.fishnet150.seg_c2_c5}},
    decode_head=dict(in_index=1, in_channels={{_base_.fishnet_channels.c3}}),
    auxiliary_head=dict(
        in_index=2, in_channels={{_base_.fishnet_channels.c4}}))
