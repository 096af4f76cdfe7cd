"""The test-time preprocessing of a config as plain data, stored in the
exported ONNX file so that inference needs no torch, mmcv or config.

The description is a JSON object::

    {"channel_order": "RGB" | "BGR",   # order the model expects
     "mean": [m0, m1, m2], "std": [s0, s1, s2],   # in that order, 0-255
     "transforms": [...]}              # applied in order, before normalizing

with these transforms (sizes in pixels, images as H x W x 3 uint8):

=============================================== ============================
transform                                       config origin
=============================================== ============================
``{"type": "resize_edge", "size": s,            mmpretrain ``ResizeEdge``
"edge": "short"|"long"|"width"|"height"}``
``{"type": "center_crop", "size": [w, h]}``     mmcv ``CenterCrop``
``{"type": "rescale", "max_long": l,            mmcv ``Resize`` with
"max_short": s}`` (keep the aspect ratio)       ``keep_ratio=True``
``{"type": "resize", "size": [w, h]}``          mmcv ``Resize``
=============================================== ============================

Resizing is bilinear, as in those transforms' defaults.
"""
from typing import Dict, List

from mmengine.config import Config

#: transforms that only load, annotate or pack data
_NO_PIXEL_CHANGE = {
    'LoadImageFromFile', 'LoadAnnotations', 'PackInputs', 'PackSegInputs',
    'PackDetInputs'
}


def _pair(size) -> List[int]:
    return [size, size] if isinstance(size, int) else [int(s) for s in size]


def _describe(transform: dict, where: str) -> List[dict]:
    kind = transform['type'].split('.')[-1]
    interpolation = transform.get('interpolation', 'bilinear')
    if interpolation != 'bilinear':
        raise ValueError(f'{where}: {kind} with interpolation='
                         f'{interpolation!r}; only bilinear is exported')
    if kind in _NO_PIXEL_CHANGE:
        return []
    if kind == 'ResizeEdge':
        return [
            dict(
                type='resize_edge',
                size=int(transform['scale']),
                edge=transform.get('edge', 'short'))
        ]
    if kind == 'CenterCrop' and not transform.get('auto_pad', False):
        return [dict(type='center_crop', size=_pair(transform['crop_size']))]
    if kind == 'Resize' and transform.get('scale') is not None:
        scale = _pair(transform['scale'])
        if transform.get('keep_ratio', False):
            return [
                dict(
                    type='rescale', max_long=max(scale), max_short=min(scale))
            ]
        return [dict(type='resize', size=scale)]
    raise ValueError(
        f'{where}: the test transform {transform} has no torch-free '
        'equivalent in mmfishnet.deployment.preprocess (supported: '
        'ResizeEdge, CenterCrop without auto_pad, Resize with a scale); '
        'change the test pipeline or preprocess the images yourself')


def preprocessing_from_config(cfg: Config) -> Dict:
    """The description above for ``cfg``'s test pipeline and data
    preprocessor.

    The channel order: a pipeline that starts with ``LoadImageFromFile``
    reads BGR images (mmcv); one without reads the arrays of an in-memory
    dataset such as mmpretrain's ``CIFAR10``, which are RGB. The data
    preprocessor's ``to_rgb`` / ``bgr_to_rgb`` swaps that order.
    """
    where = cfg.filename or 'the config'
    preprocessor = (
        cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor')
        or {})
    dataset = cfg.test_dataloader.dataset
    pipeline = dataset.get('pipeline') or dataset.get('dataset',
                                                      {}).get('pipeline')
    if pipeline is None:
        raise ValueError(f'{where}: test_dataloader.dataset has no pipeline')
    reads_files = any(t['type'].split('.')[-1] == 'LoadImageFromFile'
                      for t in pipeline)
    swap = preprocessor.get('to_rgb', preprocessor.get('bgr_to_rgb', False))
    source = 'BGR' if reads_files else 'RGB'
    order = source[::-1] if swap else source
    return dict(
        channel_order=order,
        mean=[float(m) for m in preprocessor.get('mean', (0., 0., 0.))],
        std=[float(s) for s in preprocessor.get('std', (1., 1., 1.))],
        transforms=[t for step in pipeline for t in _describe(step, where)])
