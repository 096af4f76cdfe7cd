"""CamVid read exactly as distributed: the shared real files, labels 0-10,
unlabelled (11) ignored as 255, clear errors for a wrong layout."""
import numpy as np
import pytest
from conftest import CAMVID

pytest.importorskip('mmseg')


@pytest.fixture
def camvid():
    if not (CAMVID / 'valannot').is_dir():
        pytest.skip(f'CamVid not found at {CAMVID}')
    return CAMVID


def build(**kwargs):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    return DATASETS.build(
        dict(type='CamVidDataset', pipeline=pipeline, **kwargs))


def test_splits_pair_every_image_with_its_labels(camvid):
    import cv2
    train, val = (
        build(data_root=str(camvid), split=s) for s in ('train', 'val'))
    assert (len(train), len(val)) == (367, 101)
    sample = val[0]
    image = sample['inputs']
    labels = sample['data_samples'].gt_sem_seg.data[0].numpy()
    assert image.shape == (3, 360, 480) and labels.shape == (360, 480)
    raw = cv2.imread(
        val.get_data_info(0)['seg_map_path'], cv2.IMREAD_UNCHANGED)
    # classes keep their values, unlabelled 11 becomes mmseg's ignore 255
    assert np.array_equal(labels[raw < 11], raw[raw < 11])
    assert (labels[raw == 11] == 255).all() and (raw == 11).any()
    assert set(np.unique(labels)) <= set(range(11)) | {255}
    assert val.metainfo['classes'][2] == 'pole'
    assert len(val.metainfo['palette']) == 11


def test_a_class_subset_keeps_ignoring_unlabelled(camvid):
    subset = build(
        data_root=str(camvid),
        split='val',
        metainfo=dict(classes=('road', 'car')))
    assert subset.label_map[3] == 0 and subset.label_map[8] == 1
    assert subset.label_map[11] == 255 and subset.label_map[0] == 255


def test_wrong_layout_and_split_are_named(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        build(data_root=str(tmp_path), split='training')
    (tmp_path / 'val').mkdir()
    with pytest.raises(FileNotFoundError, match='valannot does not exist'):
        build(data_root=str(tmp_path), split='val')
    (tmp_path / 'valannot').mkdir()
    import cv2
    cv2.imwrite(str(tmp_path / 'val' / 'a.png'), np.zeros((4, 4, 3)))
    with pytest.raises(FileNotFoundError, match='1 images have no label'):
        build(data_root=str(tmp_path), split='val')
