# The Mask R-CNN FishNet-150 config on ../shared/data/tiny_coco at a small
# scale, for the end-to-end tests of the launchers: a quarter-width
# FishNet-150, a few iterations, checkpoints every 2, fewer proposals and
# detections, no pretrained weights (none can be downloaded here), so BN
# trains and nothing is frozen; evaluation only through tools/test.py.
_base_ = '../../../configs/mask_rcnn_fishnet150_fpn_coco.py'

data_root = '{{fileDirname}}/../../../../shared/data/tiny_coco/'
scale = (320, 224)

# A barely trained model scores below the default 0.05: keep every
# detection (at most 20 per image) so that COCO evaluation has input.
model = dict(
    backbone=dict(
        init_cfg=None, frozen_stages=-1, norm_eval=False, widen_factor=0.25),
    # the channels of FishNet-150 at widen_factor=0.25 (the channel check of
    # tools/train.py would name them otherwise)
    neck=dict(in_channels=[80, 208, 400, 528]),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(score_thr=0.0, max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_evaluator = dict(ann_file=data_root +
                      'annotations/instances_val2017.json')
val_dataloader = val_evaluator = val_cfg = None

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)
]
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=2), logger=dict(interval=1))
log_processor = dict(by_epoch=False)
# From scratch at batch 2 the detection lr of 0.02 diverges: a smaller lr and
# gradient clipping keep the few iterations finite.
optim_wrapper = dict(optimizer=dict(lr=0.002), clip_grad=dict(max_norm=10))
