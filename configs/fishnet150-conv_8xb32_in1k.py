# Down-sampling ablation (paper, Table 2): FishNet-150 on ImageNet-1k with a
# learned strided convolution (norm-ReLU-conv1x1, stride 2, C -> C) instead of
# the released 2x2 max-pooling, at all six down-samplings of the tail and the
# head; official recipe of the base config.
# Paper's result (its number, not reproduced here): strided convolution
# 22.75 % top-1 error with 30.2 M parameters (released 2x2 max-pooling:
# 21.93 %, 26.4 M). Ours: 28.67 M parameters, 6.82 GFLOPs at 224x224.
_base_ = ['./fishnet150_8xb32_in1k.py']
model = dict(backbone=dict(downsample='conv'))
