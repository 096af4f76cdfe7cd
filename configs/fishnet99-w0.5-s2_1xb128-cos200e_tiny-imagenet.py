# FishNet-99 for Tiny ImageNet (200 classes, 64x64), half width, stem with one
# 2x down-sampling (stem_stride 2: the stages see 32x32, as on CIFAR). 4.01 M
# params (200 classes), 0.33 GFLOPs. Recipe as the CIFAR-10 config: 1 GPU x 128
# images, SGD lr 0.1, momentum 0.9, weight decay 5e-4, cosine over 200 epochs;
# random crop 64 (padding 8) and horizontal flip.
# Data: the unpacked download tiny-imagenet-200/ (wnids.txt, words.txt,
# train/<wnid>/images/, val/images/ + val/val_annotations.txt) in data/.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/fishnet_small_images.py',
]
stem_stride = 2
num_classes = 200
model = dict(
    backbone=dict(stem_stride=stem_stride),
    head=dict(num_classes=num_classes, topk=(1, 5)))

data_preprocessor = dict(
    num_classes=num_classes,
    # Tiny ImageNet training-set mean (RGB) and ImageNet std
    mean=[122.5, 114.3, 101.4],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=64, padding=8),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
data_root = 'data/tiny-imagenet-200'
train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(
        type='TinyImageNet',
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(
        type='TinyImageNet',
        data_root=data_root,
        split='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
