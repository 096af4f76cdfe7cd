"""The three kinds of FishNet stage: tail (down), bridge (7x7 SE), body/head
(fusion of an up- or down-sampled trunk with a transferred skip)."""
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from torch import Tensor

from .bottleneck import make_blocks
from .downsample import build_downsample


class TailStage(nn.Module):
    """Residual blocks, then a 2x down-sampling (2x2 max-pool in the released
    network; see :func:`build_downsample`): the tail's stage.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H // 2, W // 2).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int,
                 downsample: str = 'maxpool2x2',
                 **block_kwargs):
        super().__init__()
        self.blocks = make_blocks(num_blocks, in_channels, out_channels,
                                  **block_kwargs)
        self.pool = build_downsample(
            downsample, out_channels,
            block_kwargs.get('norm_cfg', dict(type='BN')))

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.blocks(x))


class Bridge(nn.Module):
    """The SE-style block between tail and body, at the lowest resolution.

    ::

        s = conv1x1(BR(conv1x1(BR(x))))             # C -> C/2 -> 2C  (+bias)
        a = sigmoid(conv(relu(conv(GAP(BR(s))))))   # 2C -> out/16 -> out
        r = blocks(s)                                # 2C -> out
        out = r * a + a

    The output is ``r * a + a`` (not ``r * a + r``), as in the released model.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int,
                 norm_cfg: dict = dict(type='BN'),
                 **block_kwargs):
        super().__init__()
        score_channels = 2 * in_channels
        squeeze_channels = out_channels // 16
        self.score = nn.Sequential(
            build_norm_layer(norm_cfg, in_channels)[1], nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, in_channels // 2, 1, bias=False),
            build_norm_layer(norm_cfg, in_channels // 2)[1],
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels // 2, score_channels, 1, bias=True))
        self.blocks = make_blocks(
            num_blocks,
            score_channels,
            out_channels,
            norm_cfg=norm_cfg,
            **block_kwargs)
        self.attention = nn.Sequential(
            build_norm_layer(norm_cfg, score_channels)[1],
            nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(score_channels, squeeze_channels, 1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(squeeze_channels, out_channels, 1, bias=True),
            nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        score = self.score(x)
        attention = self.attention(score)  # (N, out_channels, 1, 1)
        return torch.addcmul(attention, self.blocks(score), attention)


class FusionStage(nn.Module):
    """A body (up) or head (down) stage:
    ``cat([resample(trunk(x)), transfer(skip)])``.

    The trunk blocks run at the input resolution, then the trunk is resampled
    by 2 (nearest-neighbour up-sampling in the body; in the head 2x2
    max-pooling, or another ``downsample`` of :func:`build_downsample`); the
    transfer blocks refine the skip at the output resolution. The
    trunk comes first in the concatenation.

    Shapes: x (N, in_channels, H, W) and skip (N, skip_channels, H', W') with
    ``H' = 2H`` (up) or ``H' = H // 2`` (down) -> (N, out_channels +
    skip_channels, H', W').

    Args:
        in_channels (int): Channels of ``x``.
        out_channels (int): Channels of the trunk after its blocks.
        skip_channels (int): Channels of ``skip``.
        num_blocks (int): Trunk blocks.
        num_transfer_blocks (int): Transfer blocks on the skip.
        upsample (bool): Body stage (up-sample) or head stage (max-pool).
        dilation (int): Dilation of the trunk's 3x3 convs.
        channel_reduction (bool): First trunk block uses the ``r_k`` shortcut.
        downsample (str): Head stages: how the trunk is down-sampled.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 skip_channels: int,
                 num_blocks: int,
                 num_transfer_blocks: int,
                 upsample: bool,
                 dilation: int = 1,
                 channel_reduction: bool = False,
                 downsample: str = 'maxpool2x2',
                 **block_kwargs):
        super().__init__()
        self.trunk = make_blocks(num_blocks, in_channels, out_channels,
                                 dilation, channel_reduction, **block_kwargs)
        self.transfer = make_blocks(num_transfer_blocks, skip_channels,
                                    skip_channels, **block_kwargs)
        if upsample:
            self.resample = nn.Upsample(scale_factor=2, mode='nearest')
        else:
            self.resample = build_downsample(
                downsample, out_channels,
                block_kwargs.get('norm_cfg', dict(type='BN')))

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return torch.cat([self.resample(self.trunk(x)),
                          self.transfer(skip)],
                         dim=1)
