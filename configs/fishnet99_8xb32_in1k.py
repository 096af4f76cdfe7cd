# FishNet-99 on ImageNet-1k with the official recipe (see the base config).
# Official result: 77.41 / 93.59 top-1 / top-5 (fishnet99_ckpt.tar).
_base_ = ['./_base_/fishnet_8xb32_in1k.py']
model = dict(backbone=dict(arch='fishnet99'))
