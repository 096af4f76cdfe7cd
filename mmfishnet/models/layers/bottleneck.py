"""FishNet's pre-activation bottleneck and its parameter-free shortcut."""
from typing import Tuple

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from torch import Tensor


def channel_reduction(x: Tensor, k: int) -> Tensor:
    """The shortcut ``r_k`` of the first block of a body stage.

    Output channel ``j`` is the sum of the ``k`` adjacent input channels
    ``j*k .. j*k + k - 1``: (N, C, H, W) -> (N, C // k, H, W). ``k == 1`` is
    the identity.
    """
    if k == 1:
        return x
    return x.unflatten(1, (x.shape[1] // k, k)).sum(2)


def bottleneck_width(out_channels: int,
                     width_ratio: float = 0.25,
                     cardinality: int = 1,
                     min_group_width: int = 4) -> Tuple[int, int]:
    """Width and groups of a bottleneck's 3x3 conv: ``(mid_channels, groups)``.

    ``mid_channels = out_channels * width_ratio`` (FishNet: ``out // 4``).
    With ``cardinality > 1`` (FishNeXt) the 3x3 conv is grouped ResNeXt-style
    into ``groups = min(cardinality, mid_channels // min_group_width)``
    groups, so no group is narrower than ``min_group_width`` channels, and
    ``mid_channels`` is rounded down to a multiple of ``groups``.
    """
    mid_channels = max(1, int(out_channels * width_ratio))
    groups = 1
    if cardinality > 1:
        groups = max(1, min(cardinality, mid_channels // min_group_width))
        mid_channels -= mid_channels % groups
    return mid_channels, groups


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck: ``conv(BR(conv(BR(conv(BR(x)))))) + S(x)``.

    ``BR`` is norm followed by ReLU. The 1x1-3x3-1x1 convs map
    ``in -> mid -> mid -> out`` with ``(mid, groups)`` from
    :func:`bottleneck_width` (FishNet: ``mid = out // 4``, no groups; FishNeXt:
    ``mid = out // 2`` in up to 32 groups of at least 4 channels). The stride
    is always 1 (FishNet resamples between blocks, never inside one). The
    shortcut ``S`` is

    * ``r_k(x)`` with ``k = in_channels // out_channels`` when
      ``channel_reduction=True`` (first trunk block of a body stage);
    * ``conv1x1(ReLU(norm(x)))`` when the channel count changes;
    * ``x`` otherwise.

    No activation follows the addition.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        dilation (int): Dilation (and padding) of the 3x3 conv.
        channel_reduction (bool): Use the parameter-free ``r_k`` shortcut.
            ``in_channels`` must then be a multiple of ``out_channels``.
        norm_cfg (dict): Config of the norm layers.
        with_cp (bool): Recompute the block in the backward pass instead of
            storing its activations (non-reentrant checkpointing).
        width_ratio (float): ``mid / out`` before grouping (0.25: FishNet).
        cardinality (int): Most groups of the 3x3 conv (1: FishNet).
        min_group_width (int): Fewest channels of a group.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 dilation: int = 1,
                 channel_reduction: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False,
                 width_ratio: float = 0.25,
                 cardinality: int = 1,
                 min_group_width: int = 4):
        super().__init__()
        if channel_reduction and in_channels % out_channels:
            raise ValueError(
                f'the r_k shortcut needs in_channels ({in_channels}) to be a '
                f'multiple of out_channels ({out_channels})')
        mid_channels, groups = bottleneck_width(out_channels, width_ratio,
                                                cardinality, min_group_width)
        self.with_cp = with_cp
        self.reduction = (
            in_channels // out_channels if channel_reduction else 0)

        self.norm1_name, norm1 = build_norm_layer(norm_cfg, in_channels, 1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, mid_channels, 2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, mid_channels, 3)
        self.add_module(self.norm1_name, norm1)
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.conv2 = nn.Conv2d(
            mid_channels,
            mid_channels,
            3,
            padding=dilation,
            dilation=dilation,
            groups=groups,
            bias=False)
        self.add_module(self.norm3_name, norm3)
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)

        if not channel_reduction and in_channels != out_channels:
            self.shortcut = nn.Sequential(
                build_norm_layer(norm_cfg, in_channels)[1],
                nn.ReLU(inplace=True),
                nn.Conv2d(in_channels, out_channels, 1, bias=False))
        else:
            self.shortcut = None

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    @property
    def norm3(self) -> nn.Module:
        return getattr(self, self.norm3_name)

    def _residual(self, x: Tensor) -> Tensor:
        out = self.conv1(self.relu(self.norm1(x)))
        out = self.conv2(self.relu(self.norm2(out)))
        out = self.conv3(self.relu(self.norm3(out)))
        if self.reduction:
            identity = channel_reduction(x, self.reduction)
        elif self.shortcut is not None:
            identity = self.shortcut(x)
        else:
            identity = x
        return out.add_(identity)

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._residual, x, use_reentrant=False)
        return self._residual(x)


def make_blocks(num_blocks: int,
                in_channels: int,
                out_channels: int,
                dilation: int = 1,
                channel_reduction: bool = False,
                **block_kwargs) -> nn.Sequential:
    """A stack of ``num_blocks`` bottlenecks.

    Only the first block changes channels (and may use ``r_k``); the others map
    ``out_channels -> out_channels`` with identity shortcuts and the same
    dilation.
    """
    blocks = [
        PreActBottleneck(in_channels, out_channels, dilation,
                         channel_reduction, **block_kwargs)
    ]
    blocks += [
        PreActBottleneck(out_channels, out_channels, dilation, **block_kwargs)
        for _ in range(num_blocks - 1)
    ]
    return nn.Sequential(*blocks)
