# Semantic FPN, FishNeXt-150 (grouped bottlenecks, the same channels as
# FishNet-150), ADE20K 512x512, mmseg's 160k schedule.
_base_ = './fpn_fishnet150_4xb4-160k_ade20k-512x512.py'
model = dict(backbone={{_base_.fishnext150.seg_c2_c5}})
