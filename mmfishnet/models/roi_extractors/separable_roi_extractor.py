"""mmdet's ``SingleRoIExtractor`` with RoIAlign computed by
:class:`mmfishnet.ops.SeparableRoIAlign` (fast on the CPU, mmcv's kernel
elsewhere)."""
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS
from torch import nn

from mmfishnet.ops import SeparableRoIAlign


@MODELS.register_module()
class SeparableRoIExtractor(SingleRoIExtractor):
    """``SingleRoIExtractor`` whose ``roi_layer=dict(type='RoIAlign', ...)``
    is built as :class:`~mmfishnet.ops.SeparableRoIAlign` with the same
    arguments and results; any other ``roi_layer`` is built as in mmdet.

    One line of config switches a detector's RoI heads to it, e.g. for
    mmdet's Faster / Mask R-CNN::

        model = dict(roi_head=dict(
            bbox_roi_extractor=dict(type='SeparableRoIExtractor'),
            mask_roi_extractor=dict(type='SeparableRoIExtractor')))

    Args: those of ``SingleRoIExtractor`` (``roi_layer``, ``out_channels``,
    ``featmap_strides``, ``finest_scale``, ``init_cfg``).
    """

    def build_roi_layers(self, layer_cfg: dict,
                         featmap_strides) -> nn.ModuleList:
        if layer_cfg.get('type') != 'RoIAlign':
            return super().build_roi_layers(layer_cfg, featmap_strides)
        cfg = dict(layer_cfg)
        cfg.pop('type')
        return nn.ModuleList([
            SeparableRoIAlign(spatial_scale=1 / s, **cfg)
            for s in featmap_strides
        ])
