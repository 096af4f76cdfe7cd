"""Build a model from a config and run one training step and one prediction
on random inputs, on the CPU.

The one harness of the test suite's config, export and precision tests and
of ``tools/analysis/zoo_compat.py`` (it sits in the package, as
``mmdet.testing`` does, so that the tool can use it too)::

    cfg = Config.fromfile('configs/faster_rcnn_fishnet99_fpn_coco.py')
    model = build_model(cfg, pretrained=False)
    batch = random_batch(model, cfg)
    losses = train_step(model, batch)      # loss + backward
    results = predict(model, batch)        # one data sample per image

``random_batch`` gives two images (3, H, W) with what the model's task
needs: boxes, masks and semantic maps for mmdet (precomputed proposals
where the detector has no RPN), label maps for mmseg, labels for mmpretrain.
"""
import copy
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData

from mmfishnet.registry import SCOPES
from mmfishnet.runtime.cpu_fallback import replace_sync_bn

Shape = Tuple[int, int, int]


def scope_of(cfg: Config) -> str:
    """The toolbox a config builds in: its ``default_scope``."""
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'default_scope {scope!r}: the harness builds mmdet, '
                         'mmseg and mmpretrain models')
    return scope


def build_model(cfg: Config,
                pretrained: bool = True,
                seed: Optional[int] = 0) -> torch.nn.Module:
    """``cfg.model`` built in the config's scope and initialised as a Runner
    does it, in training mode, SyncBN as BN (no process group here); ``cfg``
    stays as it is.

    Args:
        cfg: a whole config (its ``model`` and ``default_scope`` are read).
        pretrained: ``False`` drops the model's ``pretrained`` and the
            backbone's ``init_cfg`` (random weights, no file read).
        seed: the random seed of the initialisation; ``None`` keeps the
            current state.
    """
    scope = scope_of(cfg)
    model_cfg = copy.deepcopy(cfg.model)
    if not pretrained:
        model_cfg.pop('pretrained', None)
        if isinstance(model_cfg.get('backbone'), dict):
            model_cfg.backbone.pop('init_cfg', None)
    if 'data_preprocessor' not in model_cfg and cfg.get('data_preprocessor'):
        model_cfg.data_preprocessor = cfg.data_preprocessor
    replace_sync_bn(model_cfg)
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    if seed is not None:
        torch.manual_seed(seed)
    model = registry.build(model_cfg)
    # mmengine logs every parameter's initialisation: hundreds of lines
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model.train()


#: Where the head that classifies sits, in the order looked at: a two-stage
#: detector's RoI box head (the first stage of a cascade), a one-stage or
#: DETR head, an instance mask head (SOLO, CondInst), Mask2Former's head,
#: mmseg's decode head, mmpretrain's head. An RPN's single class is never
#: the detector's.
CLASSIFYING_HEADS = ('roi_head.bbox_head', 'bbox_head', 'mask_head',
                     'panoptic_head', 'decode_head', 'head')


def num_classes(model: torch.nn.Module) -> int:
    """The classes of the head that classifies (:data:`CLASSIFYING_HEADS`);
    for a model with none of them, the fewest any of its heads predicts."""
    for path in CLASSIFYING_HEADS:
        head = model
        for name in path.split('.'):
            head = getattr(head, name, None)
        if isinstance(head, torch.nn.ModuleList):
            head = head[0]
        for attribute in ('num_classes', 'num_things_classes'):
            value = getattr(head, attribute, None)
            if isinstance(value, int) and value > 0:
                return value
    return min(m.num_classes for m in model.modules()
               if isinstance(getattr(m, 'num_classes', None), int)
               and m.num_classes > 0)


def learns_masks(model: torch.nn.Module) -> bool:
    """Whether the detector's loss reads instance masks: it has a mask head
    of its own (mmdet's single-stage instance segmentors: SOLO, YOLACT,
    CondInst, BoxInst) or one of its heads has a mask loss (an RoI mask head,
    RTMDet-Ins, MaskFormer / Mask2Former)."""
    return getattr(model, 'mask_head', None) is not None or any(
        hasattr(m, 'loss_mask') for m in model.modules())


def _detection_batch(model, cfg, shapes: Sequence[Shape], rng) -> dict:
    from mmdet.testing import demo_mm_inputs
    batch = demo_mm_inputs(
        len(shapes),
        list(shapes),
        num_items=[3 - i % 2 for i in range(len(shapes))],
        num_classes=80,
        with_mask=learns_masks(model),
        with_semantic=True)
    classes = num_classes(model)
    for sample in batch['data_samples']:
        sample.gt_instances.labels %= classes
    if getattr(model, 'with_rpn', True) is False:
        # Fast R-CNN: its proposals come with the data
        for sample, (_, h, w) in zip(batch['data_samples'], shapes):
            xy = rng.uniform(0, [w / 2, h / 2], (50, 2))
            wh = rng.uniform(8, [w / 2, h / 2], (50, 2))
            boxes = torch.from_numpy(np.hstack([xy, xy + wh])).float()
            sample.proposals = InstanceData(
                bboxes=boxes, scores=torch.ones(len(boxes)))
    return batch


def _segmentation_batch(model, cfg, shapes: Sequence[Shape], rng) -> dict:
    from mmseg.structures import SegDataSample
    classes = num_classes(model)
    inputs, samples = [], []
    for shape in shapes:
        _, h, w = shape
        inputs.append(
            torch.from_numpy(rng.randint(0, 256, shape).astype(np.uint8)))
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        labels = rng.randint(0, classes, (1, h, w))
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(labels))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _classification_batch(model, cfg, shapes: Sequence[Shape], rng) -> dict:
    from mmpretrain.structures import DataSample
    classes = num_classes(model)
    inputs = [
        torch.from_numpy(rng.randint(0, 256, shape).astype(np.uint8))
        for shape in shapes
    ]
    samples = [
        DataSample().set_gt_label(int(rng.randint(classes))) for _ in shapes
    ]
    return dict(inputs=inputs, data_samples=samples)


_BATCHES = dict(
    mmdet=_detection_batch,
    mmseg=_segmentation_batch,
    mmpretrain=_classification_batch)


def random_batch(model: torch.nn.Module,
                 cfg: Config,
                 shapes: Union[Shape, Sequence[Shape]] = (3, 96, 128),
                 seed: int = 0) -> dict:
    """Two random uint8 images of ``shapes`` (one (C, H, W) for both, or one
    per image) and their random annotations, as a dataloader gives them to
    ``model.data_preprocessor``. Labels stay below the model's classes."""
    if isinstance(shapes[0], int):
        shapes = [shapes] * 2
    rng = np.random.RandomState(seed)
    return _BATCHES[scope_of(cfg)](model, cfg, shapes, rng)


def train_step(model: torch.nn.Module, batch: dict) -> Dict[str, float]:
    """One loss and backward in training mode (what the training loop tells
    epoch- and iteration-dependent heads: epoch 0, iteration 0). Returns the
    logged losses; raises if the total is not finite."""
    hub = MessageHub.get_current_instance()
    hub.update_info('epoch', 0)
    hub.update_info('iter', 0)
    model.train()
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    total, logged = model.parse_losses(losses)
    if not torch.isfinite(total):
        raise RuntimeError(f'the loss is {total.item()}: {logged}')
    total.backward()
    return {k: float(torch.as_tensor(v).detach()) for k, v in logged.items()}


def predict(model: torch.nn.Module, batch: dict) -> List:
    """The model's predictions for ``batch`` in eval mode, one data sample
    per image (raises if there are not as many)."""
    model.eval()
    with torch.no_grad():
        results = model(
            **model.data_preprocessor(batch, False), mode='predict')
    if len(results) != len(batch['inputs']):
        raise RuntimeError(f'predict gave {len(results)} results for '
                           f'{len(batch["inputs"])} images')
    return results
