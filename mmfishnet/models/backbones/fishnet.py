"""FishNet backbone (Sun et al., "FishNet: A Versatile Backbone for Image,
Region, and Pixel Level Prediction", NeurIPS 2018).

The architecture follows the authors' released code (kevin-ssy/FishNet)
exactly: converted official checkpoints reproduce the official outputs.
"""
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmfishnet.registry import register_model
from mmfishnet.utils.compat import is_exporting
from ..layers import (DOWNSAMPLE_TYPES, Bridge, FusionStage, PreActBottleneck,
                      TailStage, init_fishnet_weights)
from ..pretrained import check_not_other_zoo, load_state, read_weights

BLOCK_FIELDS = ('tail_blocks', 'bridge_blocks', 'body_blocks',
                'body_transfer_blocks', 'head_blocks', 'head_transfer_blocks')
DEFAULT_WIDTHS = dict(
    stem_channels=64,
    tail_channels=(128, 256, 512),
    bridge_channels=512,
    body_channels=(512, 384, 256))
# The bottleneck's 3x3 conv: FishNet's plain one, unless an arch says otherwise
DEFAULT_BOTTLENECK = dict(width_ratio=0.25, cardinality=1)
# FishNeXt: twice FishNet's bottleneck width, grouped ResNeXt-style
FISHNEXT_BOTTLENECK = dict(width_ratio=0.5, cardinality=32)
SCALAR_INT_FIELDS = ('bridge_blocks', 'stem_channels', 'bridge_channels',
                     'cardinality')
STEM_STRIDES = (1, 2, 4)


@register_model
class FishNet(BaseModule):
    """FishNet backbone: tail (down), body (up) and head (down) stages.

    The network is a stem followed by ten stages, indexed as in the official
    code (``all_feat[i + 1]`` is the output of stage ``i``):

    ===== ======= ================== ============= =======
    index stage   skip input         out (224 in)  stride
    ===== ======= ================== ============= =======
    0     tail1   -                  128 @ 28      8
    1     tail2   -                  256 @ 14      16
    2     tail3   -                  512 @ 7       32
    3     bridge  -                  512 @ 7       32
    4     body1   tail2 output       768 @ 14      16
    5     body2   tail1 output       512 @ 28      8
    6     body3   stem output        320 @ 56      4
    7     head1   body2 output       832 @ 28      8
    8     head2   body1 output       1600 @ 14     16
    9     head3   bridge output      2112 @ 7      32
    ===== ======= ================== ============= =======

    The stem (three 3x3 conv-norm-ReLU, the first with stride 2, then a 3x3/2
    max-pool) gives 64 @ 56. The default ``out_indices=(6, 7, 8, 9)`` are the
    four maps for an FPN: strides 4/8/16/32 with 320/832/1600/2112 channels.
    The channel widths are the same for all variants; with ``stem_stride``
    ``s`` every stride above is multiplied by ``s / 4``, with
    ``widen_factor`` ``w`` every width by ``w``.

    Variants (parameters with the 1000-class classifier, multiply-adds of a
    224x224 image; ``tools/analysis/model_complexity.py``):

    ============ ============= ======== ===============================
    arch         params        GFLOPs   bottleneck 3x3 conv
    ============ ============= ======== ===============================
    fishnet99    16.63 M       4.29     ``out/4`` wide, not grouped
    fishnet150   24.96 M       6.43
    fishnet201   44.58 M       10.56
    fishnext99   16.81 M       4.34     ``out/2`` wide, ``min(32,
    fishnext150  25.22 M       6.50     out/8)`` groups of >= 4
    fishnext201  45.00 M       10.67    channels (ResNeXt-style)
    ============ ============= ======== ===============================

    FishNeXt (the paper's Table 1): doubling the bottleneck width doubles the
    two 1x1 convs and the grouping divides the 3x3 conv by up to 32, which
    keeps the parameters within 1 % of FishNet's; the narrowest groups (in
    tail1 and the stem's transfer blocks) have 4 channels ("4d").

    Small images: ``stem_stride=1`` for 32x32 (CIFAR), ``2`` for 64x64 (Tiny
    ImageNet) keep the tail/body/head structure at 32/16/8/4 pixels, and
    ``widen_factor`` makes CPU-sized networks (10 classes):

    ============================== ====== ========= ======
    variant                        input  params    GFLOPs
    ============================== ====== ========= ======
    fishnet99, s=1, w=0.25         32     0.99 M    0.083
    fishnet99, s=1, w=0.5          32     3.91 M    0.330
    fishnext99, s=1, w=0.5         32     3.88 M    0.326
    fishnet150, s=1, w=0.5         32     6.00 M    0.506
    fishnet99, s=2, w=0.25         64     0.99 M    0.083
    fishnet99, s=2, w=0.5          64     3.91 M    0.330
    fishnet150, s=2, w=0.5         64     6.00 M    0.506
    ============================== ====== ========= ======

    Input size: the released model only accepts H and W divisible by 32. Here
    any size works: an input whose H or W is not a multiple of
    ``8 * stem_stride`` (32 by default) is zero-padded on the bottom and
    right to the next multiple (what mmdet's data preprocessor does with
    ``pad_size_divisor=32``), so a stride-``s`` output has
    ``ceil(H / 32) * 32 / s`` rows. Multiples of 32 are not padded and give
    exactly the official result.

    Args:
        arch (str | dict): ``'fishnet99'``, ``'fishnet150'``, ``'fishnet201'``,
            ``'fishnext99'``, ``'fishnext150'``, ``'fishnext201'``, or a dict
            with the block counts ``tail_blocks`` (3 ints),
            ``bridge_blocks`` (int), ``body_blocks``, ``body_transfer_blocks``,
            ``head_blocks``, ``head_transfer_blocks`` (3 ints each) and
            optionally the widths ``stem_channels``, ``tail_channels`` (3),
            ``bridge_channels``, ``body_channels`` (3) and bottleneck
            ``width_ratio`` (float, ``mid / out``: 0.25) and ``cardinality``
            (most groups of the 3x3 conv: 1).
        in_channels (int): Input image channels. Defaults to 3.
        stem_stride (int): 4 (the released stem), 2 (without its max-pool)
            or 1 (the first conv with stride 1 as well). Defaults to 4.
        widen_factor (float): Multiplies every channel width. Defaults to 1.
        downsample (str): The 2x down-sampling of the tail and head stages:
            ``'maxpool2x2'`` (released), ``'maxpool3x3'``, ``'avgpool2x2'``
            or ``'conv'`` (see
            :func:`mmfishnet.models.layers.build_downsample`).
        out_indices (Sequence[int]): Stages whose outputs are returned, in
            this order; negative indices count from the end. Stages after the
            last requested one are not built. Defaults to (6, 7, 8, 9).
        frozen_stages (int): Freeze the stem (0) and additionally the first
            ``frozen_stages`` stages (>= 1); -1 freezes nothing.
        norm_cfg (dict): Norm layers, e.g. ``dict(type='BN')``,
            ``dict(type='SyncBN')`` or ``dict(type='GN', num_groups=32)``.
        norm_eval (bool): Keep BatchNorm layers in eval mode (frozen running
            statistics) while training.
        with_cp (bool): Gradient checkpointing (non-reentrant) of the stem
            and of every residual block; saves memory, costs a second
            forward.
        zero_init_residual (bool): With the authors' initialisation
            (``init_cfg=None``), zero the last conv of every residual branch
            so each block starts as its shortcut, which keeps activations
            small at initialisation (std of the last map of a small-image
            FishNet-99 on CIFAR-10 images: 1.2 instead of 2.1); the
            small-image configs use it. Defaults to False (the authors'
            initialisation).
        pretrained (str, optional): Deprecated, as in mmdet's and mmseg's
            backbones: the same as ``init_cfg=dict(type='Pretrained',
            checkpoint=pretrained)``, with ``backbone.`` as prefix when the
            file has such keys. mmseg's segmentors hand their model-level
            ``pretrained`` to the backbone. Model-zoo addresses of other
            networks (``open-mmlab://resnet50_v1c``, ``torchvision://...``)
            are an error. Defaults to None.
        init_cfg (dict, optional): ``None`` gives the authors' initialisation.
            ``dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')``
            loads an mmfishnet checkpoint, or an official FishNet checkpoint,
            which is converted on the fly; without ``prefix``, ``backbone.``
            when the file has such keys, else all keys (as for
            ``pretrained``). Missing or unexpected keys are an error.
    """

    arch_settings = {
        'fishnet99':
        dict(
            tail_blocks=(2, 2, 6),
            bridge_blocks=2,
            body_blocks=(1, 1, 1),
            body_transfer_blocks=(1, 1, 1),
            head_blocks=(1, 2, 2),
            head_transfer_blocks=(1, 1, 4)),
        'fishnet150':
        dict(
            tail_blocks=(2, 4, 8),
            bridge_blocks=4,
            body_blocks=(2, 2, 2),
            body_transfer_blocks=(2, 2, 2),
            head_blocks=(2, 2, 4),
            head_transfer_blocks=(2, 2, 4)),
        'fishnet201':
        dict(
            tail_blocks=(3, 4, 12),
            bridge_blocks=4,
            body_blocks=(2, 2, 2),
            body_transfer_blocks=(2, 2, 2),
            head_blocks=(2, 3, 10),
            head_transfer_blocks=(2, 2, 9)),
    }
    # FishNeXt-N: the blocks of FishNet-N with grouped bottlenecks
    arch_settings.update({
        name.replace('fishnet', 'fishnext'): {
            **blocks,
            **FISHNEXT_BOTTLENECK
        }
        for name, blocks in arch_settings.items()
    })
    stage_names = ('tail1', 'tail2', 'tail3', 'bridge', 'body1', 'body2',
                   'body3', 'head1', 'head2', 'head3')
    # Fusion stage index -> index into the feature list [stem, stage0, ...]
    # of its skip input (the official ``trans_map``).
    skip_sources = {4: 2, 5: 1, 6: 0, 7: 6, 8: 5, 9: 4}

    def __init__(self,
                 arch: Union[str, dict] = 'fishnet150',
                 in_channels: int = 3,
                 stem_stride: int = 4,
                 widen_factor: float = 1.0,
                 downsample: str = 'maxpool2x2',
                 out_indices: Sequence[int] = (6, 7, 8, 9),
                 frozen_stages: int = -1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        init_cfg = self._init_cfg_of(pretrained, init_cfg)
        super().__init__(init_cfg=init_cfg)
        self.zero_init_residual = zero_init_residual
        if stem_stride not in STEM_STRIDES:
            raise ValueError(f'stem_stride must be one of {STEM_STRIDES}, '
                             f'got {stem_stride!r}')
        if not (isinstance(widen_factor, (int, float)) and widen_factor > 0):
            raise ValueError(
                f'widen_factor must be a positive number, got {widen_factor!r}'
            )
        if downsample not in DOWNSAMPLE_TYPES:
            raise ValueError(f'downsample must be one of {DOWNSAMPLE_TYPES}, '
                             f'got {downsample!r}')
        self.arch = self._widen(self._parse_arch(arch), widen_factor)
        self.arch_name = arch if isinstance(arch, str) else 'custom'
        self.stem_stride = stem_stride
        self.widen_factor = widen_factor
        self.downsample = downsample
        # three 2x down-samplings in the tail after the stem
        self.size_divisor = 8 * stem_stride
        self.in_channels = in_channels
        self.out_indices = self._parse_out_indices(out_indices)
        self.num_stages = max(self.out_indices) + 1
        if not (isinstance(frozen_stages, int)
                and -1 <= frozen_stages <= self.num_stages):
            raise ValueError(
                f'frozen_stages must be an int in [-1, {self.num_stages}] '
                f'(-1: none, 0: stem, k: stem and stages 0..k-1 of '
                f'{self.stage_names[:self.num_stages]}), got {frozen_stages!r}'
            )
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        stem_channels = self.arch['stem_channels']
        self.stem = nn.Sequential(
            ConvModule(
                in_channels,
                stem_channels // 2,
                3,
                2 if stem_stride > 1 else 1,
                1,
                bias=False,
                norm_cfg=norm_cfg),
            ConvModule(
                stem_channels // 2,
                stem_channels // 2,
                3,
                1,
                1,
                bias=False,
                norm_cfg=norm_cfg),
            ConvModule(
                stem_channels // 2,
                stem_channels,
                3,
                1,
                1,
                bias=False,
                norm_cfg=norm_cfg),
            nn.MaxPool2d(3, 2, 1) if stem_stride == 4 else nn.Identity())

        block_kwargs = dict(
            norm_cfg=norm_cfg,
            with_cp=with_cp,
            width_ratio=self.arch['width_ratio'],
            cardinality=self.arch['cardinality'])
        stages, feat_channels = self._build_stages(block_kwargs)
        for name, stage in zip(self.stage_names, stages[:self.num_stages]):
            self.add_module(name, stage)
        # Channels of [stem, stage 0, ..., stage 9]
        self.feat_channels = feat_channels
        self.out_channels = [feat_channels[i + 1] for i in self.out_indices]
        self._freeze_stages()

    # ----------------------------------------------------------- construction
    @staticmethod
    def _init_cfg_of(pretrained: Optional[str],
                     init_cfg: Optional[dict]) -> Optional[dict]:
        """``init_cfg``, or the one that the deprecated ``pretrained``
        stands for; a model-zoo address of another network is an error."""
        if pretrained is not None:
            # first: mmseg's segmentors hand the model-level `pretrained` of
            # an upstream config (a ResNet's) to the backbone
            check_not_other_zoo(pretrained, 'pretrained')
            if init_cfg is not None:
                raise ValueError('FishNet: init_cfg and pretrained cannot be '
                                 'set at the same time; keep init_cfg')
            if not isinstance(pretrained, str):
                raise TypeError(
                    'FishNet: pretrained must be a str (a '
                    f'checkpoint path) or None, got {pretrained!r}')
            warnings.warn('DeprecationWarning: pretrained is deprecated, '
                          'please use "init_cfg" instead')
            return dict(type='Pretrained', checkpoint=pretrained, prefix=None)
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            check_not_other_zoo(
                init_cfg.get('checkpoint'),
                'model.backbone.init_cfg.checkpoint')
        return init_cfg

    @classmethod
    def _parse_arch(cls, arch: Union[str, dict]) -> dict:
        defaults = {**DEFAULT_WIDTHS, **DEFAULT_BOTTLENECK}
        if isinstance(arch, str):
            if arch not in cls.arch_settings:
                raise KeyError(f'unknown FishNet arch {arch!r}; valid archs: '
                               f'{sorted(cls.arch_settings)} or a dict')
            return {**defaults, **cls.arch_settings[arch]}
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {type(arch)}')
        missing = set(BLOCK_FIELDS) - set(arch)
        unknown = set(arch) - set(BLOCK_FIELDS) - set(defaults)
        if missing or unknown:
            raise KeyError(
                f'custom FishNet arch: missing fields {sorted(missing)}, '
                f'unknown fields {sorted(unknown)}; required: '
                f'{list(BLOCK_FIELDS)}, optional: {list(defaults)}')
        arch = {**defaults, **arch}
        for field, value in arch.items():
            if field == 'width_ratio':
                if not (isinstance(value, (int, float)) and value > 0):
                    raise ValueError(f'arch field {field!r} must be a '
                                     f'positive number, got {value!r}')
                continue
            scalar = field in SCALAR_INT_FIELDS
            values = [value] if scalar else list(value)
            if (not scalar and len(values) != 3) or not all(
                    isinstance(v, int) and v > 0 for v in values):
                kind = 'a positive int' if scalar else '3 positive ints'
                raise ValueError(
                    f'arch field {field!r} must be {kind}, got {value!r}')
        return arch

    @staticmethod
    def _widen(arch: dict, factor: float) -> dict:
        """Scale every channel width of ``arch`` by ``factor``."""
        if factor == 1:
            return arch

        def scale(c: int) -> int:
            return max(1, int(round(c * factor)))

        widened = dict(arch)
        for field in DEFAULT_WIDTHS:
            value = arch[field]
            widened[field] = (
                scale(value) if isinstance(value, int) else tuple(
                    scale(c) for c in value))
        return widened

    def _parse_out_indices(self, out_indices: Sequence[int]) -> Tuple[int]:
        num = len(self.stage_names)
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        parsed = []
        for index in out_indices:
            if not isinstance(index, int) or not -num <= index < num:
                raise ValueError(
                    f'out_indices must be ints in [-{num}, {num - 1}] '
                    'choosing among the stages '
                    f'{dict(enumerate(self.stage_names))}, '
                    f'got {tuple(out_indices)!r}')
            parsed.append(index % num)
        if not parsed or len(set(parsed)) != len(parsed):
            raise ValueError('out_indices must be non-empty without '
                             f'duplicates, got {tuple(out_indices)!r}')
        return tuple(parsed)

    def _build_stages(self,
                      block_kwargs: dict) -> Tuple[List[nn.Module], List[int]]:
        """Build all ten stages and the channels of every feature map."""
        a = self.arch
        channels = [a['stem_channels']]
        stages = []
        for out, n in zip(a['tail_channels'], a['tail_blocks']):
            stages.append(
                TailStage(channels[-1], out, n, self.downsample,
                          **block_kwargs))
            channels.append(out)
        stages.append(
            Bridge(channels[-1], a['bridge_channels'], a['bridge_blocks'],
                   **block_kwargs))
        channels.append(a['bridge_channels'])
        for j in range(3):  # body: up-sample, dilation 1/2/4, r_k shortcut
            idx = len(stages)
            trunk_in, trunk_out = channels[-1], a['body_channels'][j]
            if trunk_in % trunk_out:
                raise ValueError(
                    f'stage {idx} ({self.stage_names[idx]}) receives '
                    f'{trunk_in} channels, not a multiple of its width '
                    f'{trunk_out}: the r_k shortcut needs a multiple')
            skip = channels[self.skip_sources[idx]]
            stages.append(
                FusionStage(
                    trunk_in,
                    trunk_out,
                    skip,
                    a['body_blocks'][j],
                    a['body_transfer_blocks'][j],
                    upsample=True,
                    dilation=2**j,
                    channel_reduction=True,
                    **block_kwargs))
            channels.append(trunk_out + skip)
        for j in range(3):  # head: max-pool, trunk keeps its width
            idx = len(stages)
            skip = channels[self.skip_sources[idx]]
            stages.append(
                FusionStage(
                    channels[-1],
                    channels[-1],
                    skip,
                    a['head_blocks'][j],
                    a['head_transfer_blocks'][j],
                    upsample=False,
                    downsample=self.downsample,
                    **block_kwargs))
            channels.append(channels[-1] + skip)
        return stages, channels

    # ---------------------------------------------------------------- forward
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, in_channels, H, W) -> one map per ``out_indices`` entry.

        For the default ``out_indices`` and H, W divisible by 32:
        (N, 320, H/4, W/4), (N, 832, H/8, W/8), (N, 1600, H/16, W/16),
        (N, 2112, H/32, W/32).
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'FishNet expects an (N, {self.in_channels}, H, W) tensor, '
                f'got shape {tuple(x.shape)}')
        # Padded sizes written as ceil(H / d) * d: an exported graph then
        # knows every stage's size as a multiple of one symbol, so the
        # size checks of the concatenations hold for any input size.
        d = self.size_divisor
        pad_h = (x.shape[2] + d - 1) // d * d - x.shape[2]
        pad_w = (x.shape[3] + d - 1) // d * d - x.shape[3]
        # Exported graphs always pad (by zero rows where H is a multiple),
        # so that the padding follows the input size instead of the
        # example's.
        if is_exporting() or pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        feats = [self._stem_forward(x)]
        for idx in range(self.num_stages):
            stage = getattr(self, self.stage_names[idx])
            if idx in self.skip_sources:
                feats.append(stage(feats[-1], feats[self.skip_sources[idx]]))
            else:
                feats.append(stage(feats[-1]))
        return tuple(feats[i + 1] for i in self.out_indices)

    def _stem_forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> (N, stem_channels, H / s, W / s) with
        ``s = stem_stride``. With ``with_cp`` a trainable stem is recomputed
        in the backward pass: at full resolution its maps are among the
        largest a training step stores."""
        if (self.with_cp and torch.is_grad_enabled()
                and any(p.requires_grad for p in self.stem.parameters())):
            return cp.checkpoint(self.stem, x, use_reentrant=False)
        return self.stem(x)

    # --------------------------------------------------------------- training
    def _freeze_stages(self) -> None:
        frozen = [self.stem] if self.frozen_stages >= 0 else []
        frozen += [
            getattr(self, name)
            for name in self.stage_names[:max(self.frozen_stages, 0)]
        ]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'FishNet':
        """Set train mode, keeping frozen stages and (with ``norm_eval``)
        BatchNorm layers in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    # ---------------------------------------------------------- initialising
    def init_weights(self) -> None:
        cfg = self.init_cfg
        if cfg is None:
            init_fishnet_weights(self)
            if self.zero_init_residual:
                for m in self.modules():
                    if isinstance(m, PreActBottleneck):
                        nn.init.zeros_(m.conv3.weight)
        elif isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            # no prefix given: backbone. when the file has such keys, as for
            # the deprecated `pretrained`
            self.load_pretrained(cfg['checkpoint'], cfg.get('prefix'))
        else:
            super().init_weights()
            return
        self._is_init = True

    def load_pretrained(self,
                        checkpoint: str,
                        prefix: Optional[str] = 'backbone.') -> None:
        """Load backbone weights from an mmfishnet/mmpretrain/mmdet checkpoint
        (keys under ``prefix``; ``None``: ``backbone.`` if the file has such
        keys, else all) or from an official FishNet checkpoint (converted;
        ``prefix`` does not apply).

        Raises:
            ValueError: weights of another arch, or a model-zoo address of
                another architecture.
            KeyError: the checkpoint lacks weights this backbone needs, or has
                backbone weights it does not know; the message names them.
        """
        named_arch = self.arch_name if self.arch_name != 'custom' else None
        state = read_weights(checkpoint, prefix, 'backbone.', named_arch,
                             self.arch_settings)
        unbuilt = tuple(f'{name}.'
                        for name in self.stage_names[self.num_stages:])
        load_state(
            self,
            state, f'FishNet(arch={self.arch_name!r}, out_indices='
            f'{self.out_indices})',
            checkpoint,
            unused=unbuilt)
