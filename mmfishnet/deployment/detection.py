"""Detections from an exported detector's outputs: the steps the graph
leaves out (box decoding, NMS and, for two-stage detectors, RoIAlign and
the RoI heads) done by the detector's own mmdet heads."""
from typing import List, Sequence

import numpy as np
import torch
from torch import nn


def finish_detection(detector: nn.Module,
                     outputs: Sequence[np.ndarray],
                     data_samples: List,
                     rescale: bool = True) -> List:
    """``detector.predict`` from the outputs of its exported graph.

    Args:
        detector: the mmdet detector that was exported (eval mode).
        outputs: the graph's outputs in order, ``feat_*``, ``cls_*``,
            ``bbox_*`` (numpy arrays as ONNX Runtime returns them, or
            tensors).
        data_samples: the ``DetDataSample`` of each image, with the
            ``img_shape`` / ``scale_factor`` metainfo of its preprocessing.
        rescale: boxes (and masks) in the original image's coordinates.

    Returns:
        ``data_samples`` with ``pred_instances`` (bboxes, scores, labels and,
        for Mask R-CNN, masks), as ``detector.predict`` gives them.
    """
    tensors = [torch.as_tensor(o) for o in outputs]
    levels = len(tensors) // 3
    feats = tuple(tensors[:levels])
    cls_scores = tensors[levels:2 * levels]
    bbox_preds = tensors[2 * levels:]
    metas = [sample.metainfo for sample in data_samples]
    with torch.no_grad():
        if getattr(detector, 'rpn_head', None) is not None:
            proposals = detector.rpn_head.predict_by_feat(
                cls_scores, bbox_preds, batch_img_metas=metas, rescale=False)
            results = detector.roi_head.predict(
                feats, proposals, data_samples, rescale=rescale)
        else:
            results = detector.bbox_head.predict_by_feat(
                cls_scores, bbox_preds, batch_img_metas=metas, rescale=rescale)
    return detector.add_pred_to_datasample(data_samples, results)
