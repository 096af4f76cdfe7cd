# FishNeXt-201 on ImageNet-1k: FishNet-201 with grouped (ResNeXt-style)
# bottlenecks, trained with the FishNet ImageNet recipe of the base config (the
# paper does not give a separate FishNeXt recipe).
# The paper gives no FishNeXt-201 result. Ours: 45.00 M parameters with the
# classifier (FishNet-201: 44.58 M), 10.67 GFLOPs at 224x224.
_base_ = ['./_base_/fishnet_8xb32_in1k.py']
model = dict(backbone=dict(arch='fishnext201'))
