# Fine-tune FishNet-150 from the converted official ImageNet weights on your
# own classes. The pattern: the backbone and the head's score layers load the
# ImageNet checkpoint, the classifier fc is initialised anew for num_classes.
#
# Data: an ImageNet-style folder per split, one sub-folder per class:
#   data/custom/train/<class>/*.jpg, data/custom/val/<class>/*.jpg
# Set num_classes to the number of class folders; a mismatch stops the run
# before the first iteration (mmpretrain's ClassNumCheckHook).
_base_ = './fishnet150_8xb32_in1k.py'

pretrained = 'checkpoints/fishnet150_in1k.pth'
num_classes = 10
data_root = 'data/custom/'

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(
        num_classes=num_classes,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='head.')))
data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader

# A tenth of the ImageNet lr, 30 epochs, decayed at 15 and 25.
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = dict(milestones=[15, 25])
train_cfg = dict(max_epochs=30)
