# The fast CIFAR-10 FishNet: fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py with
# one 2x down-sampling in the stem (stem_stride 2), as in the Tiny ImageNet
# config: the stages see 16x16 and the tail goes down to 2x2. A quarter of the
# s1 config's multiply-adds and activations; on a 2-core CPU its training step
# is about 3x faster than the s1 config's and 2x faster than ResNet-18's, for
# some accuracy (configs/fishnet_small_images/README.md).
_base_ = ['./fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py']
stem_stride = 2
model = dict(backbone=dict(stem_stride=stem_stride))
