# The recipe of a published FishNet CIFAR-10 port (its number, not ours: 85.06
# %
# test top-1), on the small-image FishNet-99 of
# fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py: batch 256, SGD lr 0.1,
# momentum 0.9, weight decay 1e-4, lr x0.1 every 30 epochs for 100 epochs.
_base_ = ['./fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py']
train_dataloader = dict(batch_size=256)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    _delete_=True, type='StepLR', step_size=30, gamma=0.1, by_epoch=True)
train_cfg = dict(max_epochs=100)
auto_scale_lr = dict(base_batch_size=256)
