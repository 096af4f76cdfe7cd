# The official "well-trained" FishNet-201 recipe (cosine, 200 epochs, label
# smoothing 0.1). Official result: 79.71 / 94.79 top-1 / top-5
# (fishnet201_ckpt_welltrain.tar).
_base_ = ['./fishnet150_8xb32-cos200e-ls_in1k.py']
model = dict(backbone=dict(arch='fishnet201'))
