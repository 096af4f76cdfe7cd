# Semantic FPN with a quarter-width FishNet-99 on CamVid 480x360, trained from
# scratch: the recommended CamVid config, sized for CPUs (1 GPU or CPU x 8
# images, 10 epochs). `tools/analysis/compare_segmentation.py` trains it
# beside the same segmentor with ResNet-18 and ResNet-50 backbones.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/camvid_480x360.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
log_processor = dict(by_epoch=True)
widen_factor = 0.25
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='FishNet',
        arch='fishnet99',
        widen_factor=widen_factor,
        out_indices=(6, 7, 8, 9),
        norm_cfg=norm_cfg,
        # from scratch, every block starts as its shortcut, as mmseg's
        # ResNets do (their zero_init_residual=True)
        zero_init_residual=True),
    # body3, head1-3: 320/832/1600/2112 channels times widen_factor
    neck=dict(
        in_channels=[int(c * widen_factor) for c in (320, 832, 1600, 2112)],
        out_channels=64),
    # class-balanced: median-frequency weights of the train labels
    decode_head=dict(
        in_channels=[64, 64, 64, 64],
        channels=64,
        num_classes=11,
        loss_decode=dict(
            type='ClassWeightedCrossEntropyLoss',
            class_weight={{_base_.camvid_class_weight}})))
