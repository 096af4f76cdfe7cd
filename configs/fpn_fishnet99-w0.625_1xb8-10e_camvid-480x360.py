# The CamVid config with FishNet-99 at widen_factor 0.625: 5.82 M parameters
# and 7.73 GFLOPs at 480x360, within 15 % of ResNet-18's 8.63 in the same
# segmentor. The model of the FishNet against ResNet comparison of
# docs/segmentation.md (`tools/analysis/compare_segmentation.py`).
_base_ = ['./fpn_fishnet99-w0.25_1xb8-10e_camvid-480x360.py']
widen_factor = 0.625
model = dict(
    backbone=dict(widen_factor=widen_factor),
    # body3, head1-3: 320/832/1600/2112 channels times widen_factor
    neck=dict(
        in_channels=[int(c * widen_factor) for c in (320, 832, 1600, 2112)]))
