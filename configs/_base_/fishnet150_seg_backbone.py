# FishNet-150 as the backbone of mmseg segmentors: the detection backbone
# fragment (same maps, channels, pretrained weights and hooks) with every
# stage trainable and SyncBN statistics updated, as mmseg's ResNet baselines
# (BN without CUDA: tools/train.py says so in the log). Segmentor configs
# pull in {{_base_.fishnet_backbone}} and {{_base_.fpn_in_channels}}.
_base_ = './fishnet150_fpn_backbone.py'
fishnet_backbone = dict(
    frozen_stages=-1,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False)
# UPerNet's auxiliary FCN head reads the stride-16 map (in_index 2)
fishnet_stride16_channels = 1600
