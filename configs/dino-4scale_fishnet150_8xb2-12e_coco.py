# DINO with 4 feature scales, FishNet-150, 12 epochs, 8 GPUs x 2 images,
# MS COCO 2017. DINO's ChannelMapper reads three maps, head1-3 (strides
# 8/16/32, 832/1600/2112 channels), where mmdet's config reads R-50's C3-C5;
# the fourth scale is a stride-2 conv on head3, as there. mmdet's R-50
# result with this schedule: 49.0 box AP (mmdet's number, its model zoo).
_base_ = [
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
    './_base_/fishnet.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.fishnet_preprocessor}},
    backbone={{_base_.fishnet150.det_c3_c5}},
    neck=dict(in_channels={{_base_.fishnet_channels.c3_c5}}))
