"""The weight initialisation of the released FishNet code."""
import math

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


def init_fishnet_weights(module: nn.Module) -> None:
    """Initialise ``module`` in place as the authors' ``_init_weights`` does.

    Conv weights (and the classifier, a 1x1 conv there) ~
    N(0, sqrt(2 / fan_out)) with ``fan_out = kh * kw * out_channels``; norm
    layers get weight 1 and bias
    0; biases keep PyTorch's default.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / m.out_features))
        elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
