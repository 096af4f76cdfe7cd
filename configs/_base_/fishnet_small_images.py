# FishNet for small images (CIFAR 32x32, Tiny ImageNet 64x64) and its recipe,
# shared by the *_cifar10.py and *_tiny-imagenet.py configs. `stem_stride`
# keeps the input
# resolution (1) or halves it (2) before the first stage, so that the tail goes
# down to 4x4 and the body and head work at 32/16/8/4 (instead of the ImageNet
# stem's /4, which leaves a 32x32 image with 1x1 maps at the bottom);
# `widen_factor` scales every channel width (0.5: 3.9 M parameters for
# FishNet-99); `zero_init_residual` starts every block as its shortcut, which
# keeps the from-scratch activations bounded. The classifier's input is the
# head's last map: 2112 channels
# times widen_factor.
custom_imports = dict(imports=['mmfishnet'], allow_failed_imports=False)
arch = 'fishnet99'
stem_stride = 1
widen_factor = 0.5
num_classes = 10
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='FishNet',
        arch=arch,
        stem_stride=stem_stride,
        widen_factor=widen_factor,
        zero_init_residual=True,
        out_indices=(9, )),
    neck=None,
    head=dict(
        type='FishNetClsHead',
        num_classes=num_classes,
        in_channels=int(2112 * widen_factor),
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        # The authors' rule (std sqrt(2 / num_classes)) suits 1000 classes;
        # with 10 it starts at logits of magnitude 10 (loss 7 instead of 2.3).
        init_cfg=[
            dict(
                type='Kaiming',
                layer='Conv2d',
                mode='fan_out',
                nonlinearity='relu'),
            dict(type='Constant', layer='BatchNorm2d', val=1, bias=0),
            dict(type='Normal', layer='Linear', std=0.01, bias=0),
        ]))

# Recipe: SGD lr 0.1 (batch 128), momentum 0.9, weight decay 5e-4, cosine
# schedule over 200 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='CosineAnnealingLR', T_max=200, by_epoch=True)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
