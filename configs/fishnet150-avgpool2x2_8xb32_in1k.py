# Down-sampling ablation (paper, Table 2): FishNet-150 on ImageNet-1k with 2x2
# average pooling of stride 2 instead of the released 2x2 max-pooling, at all
# six down-samplings of the tail and the head; official recipe.
# Paper's result (its number, not reproduced here): 22.86 % top-1 error,
# 26.4 M parameters (released 2x2 max-pooling: 21.93 %). Ours: 24.96 M.
_base_ = ['./fishnet150_8xb32_in1k.py']
model = dict(backbone=dict(downsample='avgpool2x2'))
