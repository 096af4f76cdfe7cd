# FishNet-150 on ImageNet-1k with the official recipe (see the base config).
# Official result: 78.14 / 93.95 top-1 / top-5 (fishnet150_ckpt.tar).
_base_ = ['./_base_/fishnet_8xb32_in1k.py']
model = dict(backbone=dict(arch='fishnet150'))
