"""BCCDDataset: the real BCCD splits (../shared/data/bccd) read with their two
zero-size boxes dropped and named, and bad annotation files stopped before
training with the file named."""
import shutil
import warnings

import pytest
from conftest import REPO

from mmfishnet.datasets import BCCDDataset

BCCD = REPO.parent / 'shared' / 'data' / 'bccd'
needs_bccd = pytest.mark.skipif(
    not (BCCD / 'Annotations').is_dir(), reason=f'{BCCD} not found')


def dataset(root, split='train'):
    return BCCDDataset(
        data_root=str(root),
        ann_file=f'ImageSets/Main/{split}.txt',
        pipeline=[],
        lazy_init=False)


@needs_bccd
def test_the_real_splits_load_with_the_zero_size_boxes_dropped():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        train, val = dataset(BCCD), dataset(BCCD, 'val')
    assert len(train) + len(val) == 292 and len(val) == 87
    dropped = [str(w.message) for w in caught if 'dropped' in str(w.message)]
    assert len(dropped) == 2
    assert any('BloodImage_00338.xml' in m and 'zero or negative size' in m
               for m in dropped)
    boxes = [
        i['bbox'] for d in (train, val) for k in range(len(d))
        for i in d.get_data_info(k)['instances']
    ]
    assert len(boxes) == 3943 - 2
    assert all(x2 > x1 and y2 > y1 for x1, y1, x2, y2 in boxes)
    labels = {i['bbox_label'] for i in train.get_data_info(0)['instances']}
    assert labels <= {0, 1, 2}


VOC_FILE = """<annotation><filename>{name}.jpg</filename>
<size><width>64</width><height>48</height><depth>3</depth></size>
{objects}</annotation>"""
OBJECT = ('<object><name>{label}</name><difficult>0</difficult><bndbox>'
          '<xmin>{0}</xmin><ymin>{1}</ymin><xmax>{2}</xmax><ymax>{3}</ymax>'
          '</bndbox></object>')


def voc_folder(root, boxes_of_image):
    for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        (root / sub).mkdir(parents=True)
    for name, boxes in boxes_of_image.items():
        objects = ''.join(OBJECT.format(*b, label='WBC') for b in boxes)
        (root / 'Annotations' / f'{name}.xml').write_text(
            VOC_FILE.format(name=name, objects=objects))
        (root / 'JPEGImages' / f'{name}.jpg').write_bytes(b'')
    (root / 'ImageSets/Main/train.txt').write_text('\n'.join(boxes_of_image))
    return root


def test_boxes_outside_the_image_are_dropped_or_clipped_with_a_warning(
        tmp_path):
    root = voc_folder(
        tmp_path / 'bccd',
        dict(a=[(11, 11, 21, 21), (81, 11, 91, 21), (51, 41, 71, 61)]))
    with pytest.warns(UserWarning) as caught:
        data = dataset(root)
    boxes = [i['bbox'] for i in data.get_data_info(0)['instances']]
    # VOC's 1-based corners become 0-based, as in mmdet's VOCDataset
    assert boxes == [[10, 10, 20, 20], [50, 40, 64, 48]]
    messages = [str(w.message) for w in caught]
    assert any('a.xml' in m and '[80, 10, 90, 20]' in m
               and 'outside the 64x48 image' in m for m in messages)
    assert any('a.xml' in m and 'clipped the box [50, 40, 70, 60]' in m
               for m in messages)


def test_missing_images_and_annotation_files_are_named(tmp_path):
    root = voc_folder(tmp_path / 'bccd', dict(a=[], b=[], c=[]))
    (root / 'JPEGImages' / 'b.jpg').unlink()
    (root / 'Annotations' / 'c.xml').unlink()
    with pytest.raises(
            FileNotFoundError,
            match=r'2 file\(s\) listed by .*train.txt are missing'
            r'.*b\.jpg.*c\.xml'):
        dataset(root)
    shutil.rmtree(root / 'ImageSets')
    with pytest.raises(FileNotFoundError, match='train.txt does not exist'):
        dataset(root)


def test_an_unreadable_annotation_file_is_named(tmp_path):
    root = voc_folder(tmp_path / 'bccd', dict(a=[(1, 1, 5, 5)]))
    (root / 'Annotations' / 'a.xml').write_text('<annotation><size>')
    with pytest.raises(
            ValueError, match=r'a\.xml is not a readable VOC annotation'):
        dataset(root)
