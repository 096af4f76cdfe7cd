# FishNet-150 as an FPN backbone for mmdet detectors. Detector configs pull
# these variables in with {{_base_.fishnet_backbone}} /
# {{_base_.fpn_in_channels}}.
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
# Safe loading and crash-safe saving of checkpoints for the run
# (docs/checkpoints.md).
custom_hooks = [dict(type='CheckpointSafetyHook')]

# The converted official ImageNet checkpoint (docs/pretrained_weights.md):
# python tools/model_converters/fishnet2mmpretrain.py \
#     fishnet150_ckpt.tar checkpoints/fishnet150_in1k.pth
# Override with --cfg-options model.backbone.init_cfg.checkpoint=PATH.
pretrained = 'checkpoints/fishnet150_in1k.pth'

# The four FPN maps: body3 and head1-3, strides 4/8/16/32.
# Frozen stem + tail1 and frozen BN statistics, as mmdet's R-50 baselines.
fishnet_backbone = dict(
    _delete_=True,
    type='FishNet',
    arch='fishnet150',
    out_indices=(6, 7, 8, 9),
    frozen_stages=1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,
    init_cfg=dict(
        type='Pretrained', checkpoint=pretrained, prefix='backbone.'))
fpn_in_channels = [320, 832, 1600, 2112]
