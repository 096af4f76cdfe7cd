# A user's config: the recommended CIFAR-10 config on an ImageNet-style folder
# (data/my_cifar/{train,val}/<class>/*.png) instead of mmpretrain's CIFAR10.
_base_ = ['../../../configs/fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py']
data_preprocessor = dict(to_rgb=True)  # image files load as BGR
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/my_cifar',
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/my_cifar',
        data_prefix='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
