# FishNeXt-150 on ImageNet-1k: FishNet-150 with grouped (ResNeXt-style)
# bottlenecks, trained with the FishNet ImageNet recipe of the base config (the
# paper does not give a separate FishNeXt recipe).
# Paper's result (Sun et al. 2018, Table 1; the paper's number, not reproduced
# here): FishNeXt-150 (4d) 26.2 M parameters, 21.5 % top-1 error (78.5 %
# top-1),
# against 22.2 % for ResNeXt-50 (32x4d). Ours: 25.22 M parameters with the
# classifier (FishNet-150: 24.96 M), 6.50 GFLOPs at 224x224.
_base_ = ['./_base_/fishnet_8xb32_in1k.py']
model = dict(backbone=dict(arch='fishnext150'))
