# Mask2Former for ADE20K semantic segmentation, FishNet-150, 512x512 crops,
# mmseg's 160k schedule (8 GPUs x 2 images). The pixel decoder reads body3
# and head1-3 (strides 4-32) where mmseg's config reads R-50's C2-C5.
# mmseg's R-50 result: 47.87 mIoU (mmseg's number, its model zoo).
_base_ = [
    'mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    backbone={{_base_.fishnet150.seg_c2_c5}},
    decode_head=dict(in_channels={{_base_.fishnet_channels.c2_c5}}))
