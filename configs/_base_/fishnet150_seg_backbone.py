# FishNet-150 as the backbone of mmseg segmentors. Segmentor configs pull
# these variables in with {{_base_.fishnet_backbone}} and the channels.
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
# Safe loading and crash-safe saving of checkpoints for the run
# (docs/checkpoints.md).
custom_hooks = [dict(type='CheckpointSafetyHook')]

# The converted official ImageNet checkpoint (docs/pretrained_weights.md).
# Override with --cfg-options model.backbone.init_cfg.checkpoint=PATH, or
# model.backbone.init_cfg=None to train from scratch.
pretrained = 'checkpoints/fishnet150_in1k.pth'

# The four maps body3 and head1-3 (strides 4/8/16/32), SyncBN as mmseg's
# ResNet baselines (BN without CUDA: tools/train.py says so in the log).
fishnet_backbone = dict(
    _delete_=True,
    type='FishNet',
    arch='fishnet150',
    out_indices=(6, 7, 8, 9),
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False,
    init_cfg=dict(
        type='Pretrained', checkpoint=pretrained, prefix='backbone.'))
fishnet_channels = [320, 832, 1600, 2112]
# UPerNet's auxiliary FCN head reads the stride-16 map (in_index 2)
fishnet_stride16_channels = 1600
