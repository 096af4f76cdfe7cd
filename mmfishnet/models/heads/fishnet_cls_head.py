"""FishNet's classifier as an mmpretrain head."""
from typing import Tuple

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.logging import MMLogger
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from torch import Tensor

from ..layers import init_fishnet_weights
from ..pretrained import load_state, read_weights


@MODELS.register_module()
class FishNetClsHead(ClsHead):
    """The released classifier: BR - conv1x1 (C -> C/2) - BR - GAP - FC.

    ``BR`` is norm then ReLU. Global pooling comes after the 1x1 conv, and
    there is no dropout. The official code's final 1x1 conv is a ``Linear``
    here (the same function after pooling; the converter reshapes its weight).

    Shapes: the last map of ``feats`` (N, in_channels, H, W) -> logits
    (N, num_classes).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the backbone's last map (2112 for
            FishNet with ``out_indices=(9, )``).
        norm_cfg (dict): Config of the two norm layers.
        init_cfg (dict, optional): ``None`` gives the authors' initialisation.
            ``dict(type='Pretrained', checkpoint=PATH, prefix='head.')`` is
            for fine-tuning: it loads the score layers (BN-conv-BN) from a
            converted or official checkpoint and initialises ``fc`` anew for
            ``num_classes`` (use ``load_from`` to restore a whole classifier).
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of :class:`ClsHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 2112,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg=None,
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if not isinstance(num_classes, int) or num_classes <= 0:
            raise ValueError(
                f'num_classes must be a positive int, got {num_classes!r}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        mid_channels = in_channels // 2
        self.score = nn.Sequential(
            build_norm_layer(norm_cfg, in_channels)[1], nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, mid_channels, 1, bias=False),
            build_norm_layer(norm_cfg, mid_channels)[1], nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(mid_channels, num_classes)

    def init_weights(self) -> None:
        cfg = self.init_cfg
        if cfg is None:
            init_fishnet_weights(self)
        elif isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            init_fishnet_weights(self)
            self._load_score_layers(cfg['checkpoint'], cfg.get('prefix', ''))
        else:
            super().init_weights()
            return
        self._is_init = True

    def _load_score_layers(self, checkpoint: str, prefix: str) -> None:
        state = read_weights(checkpoint, prefix, 'head.')
        # fc is re-initialised for num_classes: its weights may be present
        load_state(
            self,
            state,
            'FishNetClsHead',
            f'{checkpoint} (prefix {prefix!r})',
            required=(f'score.{k}' for k in self.score.state_dict()),
            unused=('fc.', ))
        MMLogger.get_current_instance().info(
            f'FishNetClsHead: the classifier fc ({self.num_classes} classes) '
            'is newly initialised')

    def pre_logits(self, feats: Tuple[Tensor]) -> Tensor:
        """(N, in_channels, H, W) -> pooled features (N, in_channels // 2)."""
        x = feats[-1]
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'FishNetClsHead(in_channels={self.in_channels}) got a '
                f'{x.shape[1]}-channel map; use the backbone\'s last '
                'out_indices stage channels (2112 for stage 9)')
        return self.pool(self.score(x)).flatten(1)

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        return self.fc(self.pre_logits(feats))
