"""What an exported graph computes for each kind of OpenMMLab model: plain
``nn.Module`` wrappers whose ``forward`` takes the normalized image batch and
returns tensors only (no data samples, no post-processing that standard ONNX
lacks).

=============== ================================ ==========================
task            outputs                          shapes (input N x 3 x H x W)
=============== ================================ ==========================
classification  ``logits``                       (N, num_classes)
segmentation    ``seg_logits``                   (N, num_classes, H, W)
detection       ``feat_<i>`` (FPN levels),       (N, C, ceil(H / s_i),
                then per level ``cls_<i>``,      ceil(W / s_i)) with the
                ``bbox_<i>`` of the RPN (two-    level's stride s_i; scores
                stage) or of the dense head      and box deltas are mmdet's
                (one-stage)                      head outputs before decoding
=============== ================================ ==========================
"""
import copy
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

TASK_BY_SCOPE = {
    'mmpretrain': 'classification',
    'mmseg': 'segmentation',
    'mmdet': 'detection',
}


class ClassifierGraph(nn.Module):
    """An mmpretrain ``ImageClassifier``: image (N, 3, H, W) -> logits
    (N, num_classes); softmax gives the class scores."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier
        self.output_names = ['logits']

    def forward(self, image: Tensor) -> Tensor:
        return self.classifier(image, mode='tensor')


class SegmentorGraph(nn.Module):
    """An mmseg ``EncoderDecoder`` in whole-image mode: image (N, 3, H, W) ->
    per-pixel class logits (N, num_classes, H, W), resized to the input
    the way mmseg's inference does (bilinear, the decode head's
    ``align_corners``); argmax over dim 1 gives the labels."""

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor
        self.output_names = ['seg_logits']

    def forward(self, image: Tensor) -> Tensor:
        logits = self.segmentor(image, mode='tensor')
        return F.interpolate(
            logits,
            size=image.shape[2:],
            mode='bilinear',
            align_corners=self.segmentor.align_corners)


class DetectorGraph(nn.Module):
    """An mmdet detector up to its dense head: image (N, 3, H, W) -> the FPN
    maps, then the classification scores and box deltas of every level of
    the RPN (two-stage detectors) or of the dense head (one-stage).

    RoI pooling, box decoding and NMS stay outside the graph: mmdet's
    ``predict_by_feat`` of the same head (or any NMS) finishes the job from
    these tensors."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector
        self.head = getattr(detector, 'rpn_head', None) or getattr(
            detector, 'bbox_head')
        levels = len(self.head.prior_generator.strides)
        self.output_names = ([f'feat_{i}' for i in range(levels)] +
                             [f'cls_{i}' for i in range(levels)] +
                             [f'bbox_{i}' for i in range(levels)])

    @property
    def strides(self) -> List[int]:
        return [int(s[0]) for s in self.head.prior_generator.strides]

    def forward(self, image: Tensor) -> Tuple[Tensor, ...]:
        feats = self.detector.extract_feat(image)
        cls_scores, bbox_preds = self.head(feats)[:2]
        return (*feats, *cls_scores, *bbox_preds)


class AdaptiveAvgPool2dWindows(nn.Module):
    """``nn.AdaptiveAvgPool2d`` with int output sizes written as the mean of
    each of its windows (rows ``floor(i * H / k)`` to ``ceil((i + 1) * H /
    k)``, as PyTorch defines them), so that the windows follow a dynamic
    input size in an exported graph instead of the example's.

    Shapes: (N, C, H, W) -> (N, C, out_h, out_w)."""

    def __init__(self, output_size):
        super().__init__()
        self.out_h, self.out_w = ((output_size, output_size) if isinstance(
            output_size, int) else tuple(output_size))

    @staticmethod
    def _windows(size, count: int):
        # ceil as (a + count - 1) // count: only non-negative operands, as
        # the exported integer division truncates instead of flooring
        return [((i * size) // count, ((i + 1) * size + count - 1) // count)
                for i in range(count)]

    def forward(self, x: Tensor) -> Tensor:
        rows = []
        for top, bottom in self._windows(x.shape[-2], self.out_h):
            rows.append(
                torch.cat([
                    x[..., top:bottom, left:right].mean((-2, -1), keepdim=True)
                    for left, right in self._windows(x.shape[-1], self.out_w)
                ], -1))
        return torch.cat(rows, -2)


def _exportable(module: nn.Module) -> Optional[nn.Module]:
    """An equivalent of ``module`` that keeps shapes symbolic, or None if it
    needs none.

    - mmseg's ``Upsample`` computes its output size with ``int(size *
      scale_factor)``, which fixes the size at the example's when exported;
      with an integer factor, ``nn.Upsample(scale_factor=)`` computes the
      same output and stays dynamic.
    - ``nn.AdaptiveAvgPool2d`` (UPerNet's pyramid pooling) exports with the
      example's windows; :class:`AdaptiveAvgPool2dWindows` computes them
      from the input.
    """
    kind = type(module)
    if kind is nn.AdaptiveAvgPool2d:
        size = module.output_size
        sizes = (size, size) if isinstance(size, int) else tuple(size)
        if all(isinstance(s, int) for s in sizes) and sizes != (1, 1):
            return AdaptiveAvgPool2dWindows(sizes)
        return None
    if not (kind.__name__ == 'Upsample'
            and kind.__module__.startswith('mmseg.')):
        return None
    factor = module.scale_factor
    if module.size or not isinstance(factor, float) or factor % 1:
        return None
    return nn.Upsample(
        scale_factor=factor,
        mode=module.mode,
        align_corners=module.align_corners)


def exportable_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with the modules :func:`_exportable`
    replaces swapped; compare its export with the original model."""
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        replacement = _exportable(module)
        if replacement is not None:
            parent, _, child = name.rpartition('.')
            setattr(model.get_submodule(parent), child, replacement)
    return model


def graph_for(model: nn.Module, task: str) -> nn.Module:
    """The export wrapper of ``model`` for ``task`` (a key of
    :data:`TASK_BY_SCOPE`'s values)."""
    wrappers = dict(
        classification=ClassifierGraph,
        segmentation=SegmentorGraph,
        detection=DetectorGraph)
    if task not in wrappers:
        raise ValueError(f'unknown task {task!r}; one of {sorted(wrappers)}')
    return wrappers[task](model).eval()
