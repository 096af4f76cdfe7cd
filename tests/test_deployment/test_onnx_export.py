"""ONNX export of each task: ONNX Runtime against PyTorch on two input sizes,
the metadata, and the parity check failing where it must."""
import numpy as np
import pytest
import torch
from conftest import made_once

from mmfishnet.deployment import (ParityError, check_parity, export_onnx,
                                  exportable_copy, graph_for, metadata_for,
                                  preprocessing_from_config, read_metadata)
from .conftest import (RETINANET_CONFIG, TINY_COCO, UPERNET_CONFIG,
                       build_with_weights, require_onnx_export, small_config)

require_onnx_export()
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402


def inputs(*sizes):
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(*size, generator=generator) for size in sizes]


def export(task, path, example_size, cfg=None, dynamic=True):
    """Export the model of ``cfg`` (:func:`small_config` of ``task``) to
    ``path``; returns it as PyTorch's reference graph."""
    cfg = cfg or small_config(task)
    model = build_with_weights(cfg)
    export_model(model, task, cfg, path, example_size, dynamic)
    return graph_for(model, task)


def export_model(model, task, cfg, path, example_size, dynamic=True):
    graph = graph_for(exportable_copy(model), task)
    metadata = metadata_for(graph, task, cfg, preprocessing_from_config(cfg),
                            dict(classes=['a', 'b'], palette=[[1, 2, 3]]))
    export_onnx(graph, path, torch.randn(2, 3, *example_size), dynamic,
                metadata)


@pytest.fixture(scope='module')
def classifier(tmp_path_factory):
    """(ONNX file, PyTorch reference graph) of the small classifier,
    exported once per test run (the model is built the same way in every
    worker)."""
    cfg = small_config('classification')
    model = build_with_weights(cfg)
    folder = made_once(
        tmp_path_factory, 'onnx_classifier', lambda folder: export_model(
            model, 'classification', cfg, folder / 'classifier.onnx',
            (32, 32)))
    return folder / 'classifier.onnx', graph_for(model, 'classification')


def test_classifier_matches_pytorch_on_two_sizes(classifier):
    path, reference = classifier
    rows = check_parity(reference, path, inputs((1, 3, 32, 32),
                                                (3, 3, 45, 37)))
    assert [r.name for r in rows] == ['logits']
    assert rows[0].max_rel <= 1e-4
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ['image']
    dims = [
        d.dim_param or d.dim_value
        for d in graph.input[0].type.tensor_type.shape.dim
    ]
    assert dims[1] == 3 and all(isinstance(d, str) for d in dims[::2])


@pytest.mark.heavy
@pytest.mark.parametrize('stem_stride, example, other', [
    (2, (64, 64), (77, 51)),
    (4, (64, 64), (97, 70)),
])
def test_every_stem_stride_exports_dynamic_sizes(tmp_path, stem_stride,
                                                 example, other):
    """The pad-to-divisor arithmetic of stem strides 2 (Tiny ImageNet) and 4
    (ImageNet) exports for any size, as stride 1 (above) does."""
    cfg = small_config('classification')
    cfg.model.backbone.stem_stride = stem_stride
    path = tmp_path / f'stem{stem_stride}.onnx'
    reference = export('classification', path, example, cfg)
    rows = check_parity(reference, path,
                        inputs((1, 3, *example), (2, 3, *other)))
    assert rows[0].max_rel <= 1e-4


def test_metadata_round_trip(classifier):
    meta = read_metadata(classifier[0])
    assert meta['task'] == 'classification'
    assert meta['classes'] == ['a', 'b']
    assert meta['config'].endswith('cifar10.py')
    # the CIFAR-10 pipeline reads RGB arrays and keeps the size
    assert meta['preprocess'] == dict(
        channel_order='RGB',
        mean=[125.307, 122.961, 113.8575],
        std=[51.5865, 50.847, 51.255],
        transforms=[])


def test_parity_check_fails_loudly(classifier):
    path, reference = classifier
    changed = graph_for(
        exportable_copy(reference.classifier), 'classification')
    with torch.no_grad():
        changed.classifier.head.fc.bias += 0.5
    with pytest.raises(ParityError, match=r'logits \(max abs 0.5'):
        check_parity(changed, path, inputs((2, 3, 32, 32)))


@pytest.mark.heavy
@pytest.mark.parametrize('name, path', [('fpn', None),
                                        ('upernet', UPERNET_CONFIG)])
def test_segmentor_matches_pytorch_on_two_sizes(export_dir, name, path):
    """The CamVid FPN segmentor, and UPerNet, whose pyramid pooling module
    (adaptive pooling to 1, 2, 3 and 6 cells) must follow the input size."""
    onnx_path = export_dir / f'segmentor_{name}.onnx'
    reference = export('segmentation', onnx_path, (96, 128),
                       small_config('segmentation', path))
    # 130 x 101 is padded to 160 x 128 inside FishNet, unlike the example
    rows = check_parity(reference, onnx_path,
                        inputs((1, 3, 96, 128), (2, 3, 130, 101)))
    assert rows[0].name == 'seg_logits' and rows[0].max_rel <= 1e-4
    # logits at the input size, as mmseg predicts
    assert rows[0].shape[2:] in ((96, 128), (130, 101))
    assert read_metadata(onnx_path)['palette'] == [[1, 2, 3]]


LOGIT_STD = 3.0


def _scale_to_std(layer, logits):
    """Scale ``layer``'s weights so that the spread of its ``logits`` (one
    tensor or a list) becomes ``LOGIT_STD``; its bias stays."""
    logits = logits if isinstance(logits, (list, tuple)) else [logits]
    values = torch.cat([
        (x - layer.bias.view(-1, *[1] * (x.dim() - 2))).flatten()
        for x in logits
    ])
    layer.weight *= LOGIT_STD / values.std()


def calibrate(model, images):
    """Make ``model``, a detector with random weights, behave on ``images``
    (a preprocessed batch) like a trained one: BN statistics measured on
    them (untrained, the features grow to 1e5 and every score saturates at
    1.0), then the RPN, RetinaNet and RoI classifiers scaled to logits of
    spread ``LOGIT_STD`` on them. Scores spread over (0, 1), so that the
    detections kept (top scores, then NMS) do not hinge on ties that a 1e-6
    difference decides."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.bbox import bbox2roi
    norms = [
        m for m in model.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    with torch.no_grad():
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # the cumulative average
            norm.train()
        model.extract_feat(images)
        for norm in norms:
            norm.eval()
        feats = model.extract_feat(images)
        if hasattr(model, 'rpn_head'):
            _scale_to_std(model.rpn_head.rpn_cls, model.rpn_head(feats)[0])
            samples = [
                DetDataSample(metainfo=dict(img_shape=images.shape[-2:]))
                for _ in images
            ]
            proposals = model.rpn_head.predict(feats, samples, rescale=False)
            rois = bbox2roi([p.bboxes for p in proposals])
            head = model.roi_head
            _scale_to_std(head.bbox_head.fc_cls,
                          head._bbox_forward(feats, rois)['cls_score'])
        else:
            _scale_to_std(model.bbox_head.retina_cls,
                          model.bbox_head(feats)[0])


def coco_image(cfg, model):
    """The first tiny_coco image through ``cfg``'s test pipeline at 320x200
    and ``model``'s preprocessor: (batch of one, its data sample), or None
    where tiny_coco is not beside the checkout."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    images = sorted(TINY_COCO.rglob('*.jpg'))
    if not images:
        return None
    init_default_scope('mmdet')
    pipeline = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] != 'LoadAnnotations'
    ]
    pipeline[1]['scale'] = (320, 200)  # a small image keeps this quick
    data = Compose(pipeline)(dict(img_path=str(images[0]), img_id=0))
    batch = model.data_preprocessor(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
        False)
    return batch['inputs'], batch['data_samples'][0]


def calibrated_detector(name):
    """(config, model, the tiny_coco image or None) of the quarter-width
    Mask R-CNN or RetinaNet, calibrated on that image (or on noise)."""
    cfg = small_config('detection',
                       RETINANET_CONFIG if name == 'retinanet' else None)
    test_cfg = cfg.model.test_cfg
    (test_cfg.rcnn if 'rcnn' in test_cfg else test_cfg).score_thr = 0.0
    model = build_with_weights(cfg)
    image = coco_image(cfg, model)
    torch.manual_seed(0)
    calibrate(model, torch.randn(2, 3, 96, 128) if image is None else image[0])
    return cfg, model, image


def export_detector(model, cfg, path):
    """Export a detector with dynamic sizes from a 96x128 example."""
    graph = graph_for(exportable_copy(model), 'detection')
    export_onnx(
        graph, path, torch.randn(2, 3, 96, 128), True,
        metadata_for(graph, 'detection', cfg, preprocessing_from_config(cfg),
                     {}))


@pytest.fixture(scope='session')
def exported_detector(tmp_path_factory):
    """``exported_detector(name)``: (config, model, ONNX file, image) of
    :func:`calibrated_detector`, built once per worker and exported once per
    test run."""
    built = {}

    def get(name):
        if name not in built:
            cfg, model, image = calibrated_detector(name)
            folder = made_once(
                tmp_path_factory,
                f'onnx_detector_{name}', lambda folder: export_detector(
                    model, cfg, folder / 'detector.onnx'))
            built[name] = cfg, model, folder / 'detector.onnx', image
        return built[name]

    return get


@pytest.mark.heavy
def test_detector_tensors_match_pytorch_on_two_sizes(exported_detector):
    _, model, path, _ = exported_detector('mask_rcnn')
    rows = check_parity(
        graph_for(model, 'detection'), path,
        inputs((1, 3, 96, 128), (1, 3, 130, 90)))
    names = [r.name for r in rows]
    assert names == ([f'feat_{i}'
                      for i in range(5)] + [f'cls_{i}' for i in range(5)] +
                     [f'bbox_{i}' for i in range(5)])
    assert max(r.max_rel for r in rows) <= 1e-4
    assert read_metadata(path)['strides'] == [4, 8, 16, 32, 64]
    # 130 x 90 padded to 160 x 96: level 0 at stride 4, 3 anchors and 12
    # box deltas per position
    outputs = ort.InferenceSession(
        str(path)).run(['feat_0', 'cls_0', 'bbox_0'],
                       {'image': np.zeros((1, 3, 130, 90), np.float32)})
    assert [o.shape for o in outputs] == [(1, 256, 40, 24), (1, 3, 40, 24),
                                          (1, 12, 40, 24)]


def test_example_batch_of_one_is_refused(tmp_path):
    graph = graph_for(
        build_with_weights(small_config('classification')), 'classification')
    with pytest.raises(ValueError, match='at least 2'):
        export_onnx(graph, tmp_path / 'x.onnx', torch.zeros(1, 3, 32, 32),
                    False, {})


def test_static_export_keeps_the_example_size(export_dir):
    path = export_dir / 'classifier_static.onnx'
    export('classification', path, (32, 32), dynamic=False)
    dims = [
        d.dim_param or d.dim_value
        for d in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    ]
    assert dims[1:] == [3, 32, 32] and isinstance(dims[0], str)
    assert np.isfinite(
        check_parity(
            graph_for(
                build_with_weights(small_config('classification')),
                'classification'), path, inputs((2, 3, 32, 32)))[0].max_abs)


@pytest.mark.heavy
@pytest.mark.parametrize('name, keys', [
    ('mask_rcnn', ('bboxes', 'scores', 'labels', 'masks')),
    ('retinanet', ('bboxes', 'scores', 'labels')),
])
def test_detections_from_onnx_outputs_equal_predict(exported_detector, name,
                                                    keys):
    """finish_detection on the exported graph's outputs gives what the
    detector's own predict gives, on a real COCO image: two-stage (RPN, RoI
    heads and masks) and one-stage (the dense head decodes and NMS)."""
    from mmdet.structures import DetDataSample

    from mmfishnet.deployment import finish_detection
    cfg, model, onnx_path, image = exported_detector(name)
    if image is None:
        pytest.skip('tiny_coco not found')
    inputs, sample = image
    with torch.no_grad():
        expected = model.predict(inputs, [sample])[0].pred_instances

    def finish(outputs):
        samples = [DetDataSample(metainfo=sample.metainfo)]
        return finish_detection(model, outputs, samples)[0].pred_instances

    graph = graph_for(model, 'detection')
    # PyTorch's own graph outputs: exactly predict's result
    with torch.no_grad():
        own = finish(graph(inputs))
    assert len(expected) > 0
    assert set(expected.keys()) == set(keys)
    for key in keys:
        assert torch.equal(own[key], expected[key]), key
    # ONNX Runtime's outputs: the same detections up to rounding. They agree
    # with PyTorch's to 1e-4 relative (the parity test above), which can swap
    # the order of two detections whose scores are closer than that: each
    # detection is looked for by its label and box, not by its position
    got = finish(
        ort.InferenceSession(str(onnx_path)).run(None,
                                                 {'image': inputs.numpy()}))
    assert len(got) == len(expected)
    distance = (got.bboxes[:, None] - expected.bboxes[None]).abs().amax(-1)
    distance[got.labels[:, None] != expected.labels[None]] = float('inf')
    match = distance.argmin(0)  # for each expected detection
    assert (distance.amin(0) <= 1e-2).all(), distance.amin(0).max()
    assert len(set(match.tolist())) == len(expected)  # one to one
    torch.testing.assert_close(
        got.scores[match], expected.scores, rtol=1e-3, atol=0)
    if 'masks' in keys:  # pasted binary masks: a pixel on an edge may flip
        flipped = (got.masks[match] != expected.masks).float().mean()
        assert flipped < 1e-3, flipped
