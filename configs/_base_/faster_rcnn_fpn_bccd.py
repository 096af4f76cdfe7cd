# Faster R-CNN FPN on BCCD (640x480 blood-smear photographs, 3 classes), from
# scratch, for CPUs (1 GPU or CPU x 4 images). The shared recipe of
# `faster_rcnn_r18_fpn_1xb4-8e_bccd.py` and
# `faster_rcnn_fishnet99-w0.625_fpn_1xb4-8e_bccd.py`: those set only the
# backbone and the FPN's input channels.
#
# The FPN and the heads are 128 channels wide instead of 256 (sized for CPUs:
# at 256 the FPN and RPN convolutions cost more than a ResNet-18 backbone).
# From scratch with batches of 4: BN in the backbone trains (norm_eval=False,
# nothing frozen) and every residual branch starts at zero; the lr warms up
# over 300 iterations and gradients are clipped; boxes of zero size are
# dropped by BCCDDataset (kept, they make loss_bbox NaN). RoIAlign runs as
# SeparableRoIAlign (the same results as mmcv's, several times faster on
# the CPU). Validation after every second epoch: VOC mAP@0.5 with per-class
# AP, and COCO-style bbox mAP (the ground truth converted from the VOC files).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)

dataset_type = 'BCCDDataset'
data_root = 'data/bccd/'
image_size = (640, 480)  # (w, h): the photographs' own size
norm_cfg = dict(type='BN', requires_grad=True)
fpn_channels = 128
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
    neck=dict(out_channels=fpn_channels),
    rpn_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(
            type='SeparableRoIExtractor', out_channels=fpn_channels),
        bbox_head=dict(in_channels=fpn_channels, num_classes=3)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    # a smear looks the same mirrored either way
    dict(
        type='RandomFlip',
        prob=[0.25, 0.25, 0.25],
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    # 'instances': the ground truth CocoMetric converts (no COCO json here)
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'instances'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    batch_sampler=None,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Main/train.txt',
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Main/val.txt',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='VOCMetric', metric='mAP', iou_thrs=[0.5], eval_mode='area'),
    dict(type='CocoMetric', metric='bbox', classwise=True, ann_file=None)
]
test_evaluator = val_evaluator

# 8 epochs of 52 iterations (205 images), SGD, lr steps after epochs 6 and 7
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(
    optimizer=dict(lr=0.01), clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=300),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[6, 7],
        gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    logger=dict(type='LoggerHook', interval=10))
