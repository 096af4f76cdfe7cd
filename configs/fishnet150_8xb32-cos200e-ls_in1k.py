# The official "well-trained" FishNet-150 recipe: the plain recipe with a
# cosine lr schedule over 200 epochs and label smoothing 0.1.
# Official result: 79.35 / 94.75 top-1 / top-5
# (fishnet150_ckpt_welltrained.tar).
_base_ = ['./fishnet150_8xb32_in1k.py']
model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            num_classes=1000,  # the same as the head's num_classes
            mode='original')))
param_scheduler = dict(
    _delete_=True,
    type='CosineAnnealingLR',
    T_max=200,
    by_epoch=True,
    begin=0,
    end=200)
train_cfg = dict(max_epochs=200)
