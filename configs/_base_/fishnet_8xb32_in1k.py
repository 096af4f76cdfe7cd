# The official FishNet ImageNet-1k recipe (kevin-ssy/FishNet main.py and
# README): 8 GPUs x 32 images = batch 256, SGD lr 0.1 momentum 0.9, weight
# decay 1e-4 on all parameters (BN and biases included), lr x0.1 every 30
# epochs for 100 epochs; RandomResizedCrop 224 (scale 0.08-1, ratio
# 3/4-4/3), horizontal flip, PCA lighting 0.1; evaluation: short side 256,
# center crop 224.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='FishNet', arch='fishnet150', out_indices=(9, )),
    neck=None,
    head=dict(
        type='FishNetClsHead',
        num_classes=1000,
        in_channels=2112,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

# AlexNet-style PCA lighting of the official pipeline, in BGR order (images
# are loaded as BGR; the data preprocessor converts to RGB afterwards). The
# official jitter acts on [0, 1] images with alphastd 0.1: 25.5 on [0, 255].
# Images are float32 from loading so that the jitter is not clipped or wrapped
# by a cast back to uint8, as with the official tensors.
lighting_eigval = [0.2175, 0.0188, 0.0045]
lighting_eigvec = [
    [-0.5836, -0.6948, 0.4203],
    [-0.5808, -0.0045, -0.8140],
    [-0.5675, 0.7192, 0.4009],
]
train_pipeline = [
    dict(type='LoadImageFromFile', to_float32=True),
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.08, 1.0),
        aspect_ratio_range=(3. / 4., 4. / 3.)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='Lighting',
        eigval=lighting_eigval,
        eigvec=lighting_eigvec,
        alphastd=25.5,
        to_rgb=False),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# mmpretrain's check: stop before the first iteration if a dataset's class
# count differs from num_classes (e.g. when fine-tuning on your own classes).
custom_hooks = [dict(type='ClassNumCheckHook')]
