# FishNet-201 on ImageNet-1k with the official recipe (see the base config).
# Official result: 78.76 / 94.39 top-1 / top-5 (weights never released).
_base_ = ['./_base_/fishnet_8xb32_in1k.py']
model = dict(backbone=dict(arch='fishnet201'))
