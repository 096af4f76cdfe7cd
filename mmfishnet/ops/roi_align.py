"""RoIAlign as two small matrix products per RoI, for the CPU.

mmcv's ``RoIAlign`` (average pooling) averages, for each output bin, the
bilinear interpolation of the feature map at a regular grid of sample points.
A sample point's bilinear weight is the product of a weight over rows and a
weight over columns, and a point outside the map counts as zero when its row
*or* its column is out (a product again), so the whole average splits into a
row matrix and a column matrix per RoI::

    out[r, c] = Wy[r] @ F[b_r, c, y0:y0+KH, x0:x0+KW] @ Wx[r].T

``Wy[r]`` (PH, KH) holds, for each output row, the mean bilinear weight of its
sample rows over the KH map rows that the RoI touches; ``Wx[r]`` (PW, KW)
likewise for columns. The result is the same as mmcv's kernel, forward and
backward, for ``aligned`` True and False and for adaptive
(``sampling_ratio=0``) or fixed sampling, while the work per RoI falls from
(bins x samples x taps x channels) scalar loads to two batched matrix
products over the RoI's window, which use every core and vector unit. RoIs
with windows of similar shape are computed together, gathered from the map
in NHWC; the backward adds their gradient straight into the map's.
"""
from typing import List, NamedTuple, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn.modules.utils import _pair

#: Upper bound on the elements of one batch of gathered RoI windows (RoIs x
#: channels x window rows x window columns): RoIs are processed in batches of
#: similar window size below it, which keeps the memory of a call bounded.
MAX_WINDOW_ELEMENTS = 1 << 24


def _axis_weights(start: Tensor, end: Tensor, length: int, bins: int,
                  sampling_ratio: int,
                  aligned: bool) -> Tuple[Tensor, Tensor, Tensor]:
    """Bilinear weights of one axis, as mmcv's CPU kernel computes them.

    Args:
        start, end (Tensor): (R, ) RoI edges on this axis, in map pixels
            (already scaled by ``spatial_scale``), float32.
        length (int): The map's size on this axis.
        bins (int): Output bins on this axis.
        sampling_ratio (int): Samples per bin; 0 for ceil(roi size / bins).
        aligned (bool): Pixel model of mmcv's ``aligned``.

    Returns:
        tuple: ``weights`` (R, bins, K) over each RoI's window of the map,
        ``first`` (R, ) the map index where the window starts and ``width``
        (R, ) how many map indices it covers (K is the widest).
    """
    offset = 0.5 if aligned else 0.0
    start = start - offset
    size = end - offset - start
    if aligned:
        if bool((size < 0).any()):
            raise ValueError(
                'RoIAlign (aligned=True) got a RoI with x2 < x1 or y2 < y1; '
                'boxes must be (batch index, x1, y1, x2, y2)')
    else:
        size = size.clamp(min=1.0)
    bin_size = size / bins
    if sampling_ratio > 0:
        grid = torch.full_like(size, sampling_ratio, dtype=torch.long)
    else:
        grid = torch.ceil(size / bins).long()
    max_grid = max(int(grid.max()), 1)
    bin_index = torch.arange(bins, dtype=size.dtype, device=size.device)
    sample = torch.arange(max_grid, device=size.device)
    # (R, bins, G): the sample positions, in mmcv's order of float operations
    grid_f = grid.to(size.dtype).clamp(min=1)[:, None, None]
    pos = (start[:, None, None] +
           bin_index[None, :, None] * bin_size[:, None, None]) + (
               (sample.to(size.dtype) + 0.5)[None, None, :] *
               bin_size[:, None, None]) / grid_f
    used = (sample[None, None, :] < grid[:, None, None]) & (pos >= -1.0) & (
        pos <= length)
    pos = pos.clamp(min=0)
    low = pos.long()
    at_edge = low >= length - 1
    low = torch.where(at_edge, torch.full_like(low, length - 1), low)
    high = torch.where(at_edge, low, low + 1)
    pos = torch.where(at_edge, low.to(pos.dtype), pos)
    frac = pos - low
    share = used.to(pos.dtype) / grid_f
    w_low, w_high = (1 - frac) * share, frac * share
    # the window: from the lowest to the highest index a used sample reads
    big = torch.full_like(low, length)
    first = torch.where(used, low, big).amin(dim=(1, 2)).clamp(max=length - 1)
    last = torch.where(used, high, torch.zeros_like(high)).amax(dim=(1, 2))
    width = (last - first + 1).clamp(min=1)
    window = int(width.max())
    weights = pos.new_zeros(start.shape[0], bins, window)
    local_low = (low - first[:, None, None]).clamp(0, window - 1)
    local_high = (high - first[:, None, None]).clamp(0, window - 1)
    weights.scatter_add_(2, local_low, w_low)
    weights.scatter_add_(2, local_high, w_high)
    return weights, first, width


def _window_index(map_size: Tuple[int, int], batch: Tensor, rows: Tensor,
                  cols: Tensor) -> Tensor:
    """(R, KH, KW) positions in an (N * H * W, C) map of the windows at
    rows (R, KH) and columns (R, KW) of the images ``batch`` (R, )."""
    height, width = map_size
    return (batch[:, None, None] * height +
            rows[:, :, None]) * width + cols[:, None, :]


class _Batch(NamedTuple):
    """RoIs computed together: their positions in the output (R, ), the
    positions of their windows' pixels in the flattened map (R * KH * KW, )
    and their weights, cut to the batch's window: (R, PH, KH), (R, PW, KW)."""
    rois: Tensor
    index: Tensor
    row_weights: Tensor
    col_weights: Tensor


class _PooledWindows(Function):
    """(N * H * W, C) map -> (R, PH, PW, C) pooled windows of the batches,
    with a backward that adds each batch's gradient straight into the map's
    (no window is kept for it: the op is linear in the map)."""

    @staticmethod
    def forward(ctx, flat_map: Tensor, batches: List[_Batch],
                num_rois: int) -> Tensor:
        _, out_h, _ = batches[0].row_weights.shape
        out_w = batches[0].col_weights.size(1)
        channels = flat_map.size(1)
        out = flat_map.new_empty(num_rois, out_h, out_w, channels)
        for b in batches:
            num, _, win_h = b.row_weights.shape
            win_w = b.col_weights.size(2)
            window = flat_map.index_select(0, b.index)
            # (R, PH, KH) @ (R, KH, KW * C) -> (R, PH, KW * C)
            rows = torch.bmm(b.row_weights,
                             window.view(num, win_h, win_w * channels))
            # (R, 1, PW, KW) @ (R, PH, KW, C) -> (R, PH, PW, C)
            out[b.rois] = torch.matmul(b.col_weights[:, None],
                                       rows.view(num, out_h, win_w, channels))
        ctx.batches = batches
        ctx.map_shape = flat_map.shape
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        grad_map = grad_out.new_zeros(ctx.map_shape)
        channels = grad_map.size(1)
        for b in ctx.batches:
            num, out_h, win_h = b.row_weights.shape
            win_w = b.col_weights.size(2)
            # (R, 1, KW, PW) @ (R, PH, PW, C) -> (R, PH, KW, C)
            rows = torch.matmul(
                b.col_weights.transpose(1, 2)[:, None], grad_out[b.rois])
            # (R, KH, PH) @ (R, PH, KW * C) -> (R, KH, KW * C)
            window = torch.bmm(
                b.row_weights.transpose(1, 2),
                rows.view(num, out_h, win_w * channels))
            grad_map.index_add_(0, b.index, window.view(-1, channels))
        return grad_map, None, None


def _batches(win_h: Tensor, win_w: Tensor, channels: int) -> List[Tensor]:
    """RoIs grouped into batches of similar window shape (so that padding
    each to the batch's largest window wastes little), each batch under
    :data:`MAX_WINDOW_ELEMENTS`."""
    # rows in classes of 4, then columns ascending within a class
    row_class = (win_h + 3) // 4
    order = torch.argsort(row_class * (int(win_w.max()) + 1) + win_w)
    row_class, h, w = (t[order].tolist() for t in (row_class, win_h, win_w))
    batches, begin = [], 0
    for i in range(1, len(order) + 1):
        end_here = i == len(order)
        if not end_here:
            rows_max = max(h[begin:i + 1])
            end_here = (
                row_class[i] != row_class[begin] or w[i] > 1.25 * w[begin] + 2
                or (i + 1 - begin) * rows_max * w[i] * channels
                > MAX_WINDOW_ELEMENTS)
        if end_here:
            batches.append(order[begin:i])
            begin = i
    return batches


def roi_align_separable(feats: Tensor,
                        rois: Tensor,
                        output_size: Union[int, Tuple[int, int]],
                        spatial_scale: float = 1.0,
                        sampling_ratio: int = 0,
                        aligned: bool = True) -> Tensor:
    """Average RoIAlign, equal to ``mmcv.ops.roi_align(..., 'avg', aligned)``.

    Args:
        feats (Tensor): (N, C, H, W) feature map, any memory format.
        rois (Tensor): (R, 5) boxes ``(batch index, x1, y1, x2, y2)`` in input
            pixels; not differentiated (as in mmcv).
        output_size (int | tuple): (PH, PW) output bins.
        spatial_scale (float): Map pixels per input pixel (1 / stride).
        sampling_ratio (int): Sample points per bin and axis; 0 for
            ceil(RoI size / bins) per RoI, as mmdet's configs use.
        aligned (bool): mmcv's pixel model (True: shift by half a pixel).

    Returns:
        Tensor: (R, C, PH, PW) in the dtype of ``feats``.
    """
    if feats.dim() != 4 or rois.dim() != 2 or rois.size(1) != 5:
        raise ValueError('roi_align_separable takes feats (N, C, H, W) and '
                         'rois (R, 5); got '
                         f'{tuple(feats.shape)} and {tuple(rois.shape)}')
    out_h, out_w = _pair(output_size)
    _, channels, height, width = feats.shape
    num_rois = rois.size(0)
    if num_rois == 0:
        return feats.new_zeros(0, channels, out_h, out_w)
    with torch.no_grad():
        boxes = rois.detach().float() * torch.tensor(
            [1.0] + [spatial_scale] * 4, device=rois.device)
        batch = rois[:, 0].detach().long()
        wy, y0, ky = _axis_weights(boxes[:, 2], boxes[:, 4], height, out_h,
                                   sampling_ratio, aligned)
        wx, x0, kx = _axis_weights(boxes[:, 1], boxes[:, 3], width, out_w,
                                   sampling_ratio, aligned)
    # channels_last maps are read in place; others are transposed once
    flat_map = feats.permute(0, 2, 3, 1).reshape(-1, channels)
    wy, wx = wy.to(feats.dtype), wx.to(feats.dtype)
    batches = []
    for idx in _batches(ky, kx, channels):
        win_h, win_w = int(ky[idx].max()), int(kx[idx].max())
        rows = (y0[idx, None] +
                torch.arange(win_h, device=feats.device)).clamp(max=height - 1)
        cols = (x0[idx, None] +
                torch.arange(win_w, device=feats.device)).clamp(max=width - 1)
        # weights past a RoI's own window are zero: clamped rows add nothing
        batches.append(
            _Batch(
                idx,
                _window_index((height, width), batch[idx], rows,
                              cols).flatten(), wy[idx, :, :win_h],
                wx[idx, :, :win_w]))
    pooled = _PooledWindows.apply(flat_map, batches, num_rois)
    return pooled.permute(0, 3, 1, 2).contiguous()


class SeparableRoIAlign(nn.Module):
    """``mmcv.ops.RoIAlign`` with average pooling, computed on the CPU by
    :func:`roi_align_separable` and on other devices by mmcv's kernel.

    Takes mmcv's arguments, so an mmdet ``roi_layer`` config works unchanged
    (see :class:`mmfishnet.models.SeparableRoIExtractor`).

    Shapes: ``input`` (N, C, H, W), ``rois`` (R, 5) -> (R, C, PH, PW).

    Args:
        output_size (int | tuple): (PH, PW).
        spatial_scale (float): 1 / the map's stride. Default: 1.0.
        sampling_ratio (int): Samples per bin and axis, 0 for adaptive.
            Default: 0.
        pool_mode (str): Only ``'avg'``; mmcv's ``RoIAlign`` does ``'max'``.
            Default: ``'avg'``.
        aligned (bool): mmcv's half-pixel model. Default: True.
        use_torchvision (bool): Only False (mmcv's option, kept for config
            compatibility). Default: False.
    """

    def __init__(self,
                 output_size: Union[int, Tuple[int, int]],
                 spatial_scale: float = 1.0,
                 sampling_ratio: int = 0,
                 pool_mode: str = 'avg',
                 aligned: bool = True,
                 use_torchvision: bool = False) -> None:
        super().__init__()
        if pool_mode != 'avg':
            raise ValueError(
                f"SeparableRoIAlign computes pool_mode='avg' only, got "
                f"{pool_mode!r}: use mmcv.ops.RoIAlign (type='RoIAlign' in "
                'SingleRoIExtractor) for max pooling')
        if use_torchvision:
            raise ValueError('SeparableRoIAlign replaces the kernel: '
                             'use_torchvision=True asks for another one; '
                             'use mmcv.ops.RoIAlign for it')
        if int(sampling_ratio) != sampling_ratio or sampling_ratio < 0:
            raise ValueError('sampling_ratio must be a whole number >= 0 '
                             f'(0: adaptive), got {sampling_ratio!r}')
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = aligned

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        if input.device.type != 'cpu':
            from mmcv.ops import roi_align
            return roi_align(input, rois, self.output_size, self.spatial_scale,
                             self.sampling_ratio, 'avg', self.aligned)
        return roi_align_separable(input, rois, self.output_size,
                                   self.spatial_scale, self.sampling_ratio,
                                   self.aligned)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, '
                f'spatial_scale={self.spatial_scale}, '
                f'sampling_ratio={self.sampling_ratio}, '
                f'aligned={self.aligned}')
