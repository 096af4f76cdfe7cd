"""Class-weighted cross-entropy for mmseg with ignored pixels."""
from typing import Optional

from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class ClassWeightedCrossEntropyLoss(CrossEntropyLoss):
    """mmseg's ``CrossEntropyLoss`` whose ``class_weight`` works beside
    ignored pixels.

    mmseg 1.2.2 averages a class-weighted loss by indexing ``class_weight``
    with every label, the ignored ones (255) included, which raises an
    IndexError (open-mmlab/mmsegmentation#3734). Here the mean is PyTorch's
    ``F.cross_entropy(..., weight=class_weight, ignore_index=...)``: the sum
    of the weighted pixel losses over the sum of the weights of the pixels
    not ignored (times ``weight``, the per-pixel weights of a sampler, when
    given). Everything else is ``CrossEntropyLoss``: use it with
    ``class_weight`` and the softmax loss, e.g.
    ``dict(type='ClassWeightedCrossEntropyLoss', class_weight=[...])``.

    Shapes: ``cls_score`` (N, C, H, W) logits, ``label`` (N, H, W).
    """

    def __init__(self, class_weight=None, **kwargs):
        if class_weight is None:
            raise ValueError('ClassWeightedCrossEntropyLoss needs a '
                             'class_weight (a list, one weight per class); '
                             "without one use type='CrossEntropyLoss'")
        if kwargs.get('use_sigmoid') or kwargs.get('use_mask'):
            raise ValueError('ClassWeightedCrossEntropyLoss is the softmax '
                             'loss: use_sigmoid and use_mask are not '
                             'supported')
        super().__init__(class_weight=class_weight, **kwargs)

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = -100,
                **kwargs) -> Tensor:
        reduction = reduction_override or self.reduction
        if avg_factor is None and reduction == 'mean':
            class_weight = cls_score.new_tensor(self.class_weight)
            if class_weight.numel() != cls_score.shape[1]:
                raise ValueError(
                    f'class_weight has {class_weight.numel()} entries for '
                    f'{cls_score.shape[1]} classes')
            valid = label != ignore_index
            pixel_weight = class_weight[label.clamp(min=0) * valid] * valid
            if weight is not None:
                pixel_weight = pixel_weight * weight.float()
            avg_factor = pixel_weight.sum()
        return super().forward(cls_score, label, weight, avg_factor,
                               reduction_override, ignore_index, **kwargs)
