# Mask2Former for COCO instance segmentation, FishNet-150, large-scale
# jitter, 50 epochs, 8 GPUs x 2 images. The pixel decoder reads body3 and
# head1-3 (strides 4-32, 320/832/1600/2112 channels) where mmdet's config
# reads R-50's C2-C5. mmdet's R-50 result: 45.7 box / 42.9 mask AP (mmdet's
# numbers, its model zoo).
_base_ = [
    'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    backbone={{_base_.fishnet150.det_c2_c5}},
    panoptic_head=dict(in_channels={{_base_.fishnet_channels.c2_c5}}))
