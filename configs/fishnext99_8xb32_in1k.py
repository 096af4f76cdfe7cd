# FishNeXt-99 on ImageNet-1k: FishNet-99 with grouped (ResNeXt-style)
# bottlenecks, trained with the FishNet ImageNet recipe of the base config (the
# paper does not give a separate FishNeXt recipe).
# The paper gives no FishNeXt-99 result. Ours: 16.81 M parameters with the
# classifier (FishNet-99: 16.63 M), 4.34 GFLOPs at 224x224.
_base_ = ['./_base_/fishnet_8xb32_in1k.py']
model = dict(backbone=dict(arch='fishnext99'))
