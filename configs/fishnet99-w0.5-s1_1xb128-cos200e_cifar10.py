# FishNet-99 for CIFAR-10 (32x32), half width (widen_factor 0.5, 3.91 M params,
# 0.33 GFLOPs), stem without down-sampling (stem_stride 1): the recommended
# CIFAR-10 config. Recipe: 1 GPU x 128 images, SGD lr 0.1, momentum 0.9, weight
# decay 5e-4, cosine schedule over 200 epochs; random crop 32 (padding 4) and
# horizontal flip. Data: mmpretrain's CIFAR10 in data/cifar10 (downloaded on
# first use); for an image folder see docs/small_images.md.
_base_ = [
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
    './_base_/fishnet_small_images.py',
]
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
