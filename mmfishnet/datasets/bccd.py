"""BCCD blood-cell detection (red cells, white cells, platelets) in the
Pascal VOC layout, with its annotation files checked as they are read."""
import os.path as osp
import warnings
import xml.etree.ElementTree as ET
from typing import List

from mmdet.datasets import XMLDataset
from mmdet.registry import DATASETS


@DATASETS.register_module()
class BCCDDataset(XMLDataset):
    """BCCD (Shenggan/BCCD_Dataset): 640x480 microscope photographs of
    stained blood smears, boxes of three classes, in the VOC layout::

        data_root/                 e.g. data/bccd
        ├── Annotations/*.xml      one VOC file per image
        ├── JPEGImages/*.jpg
        └── ImageSets/Main/{train,val,trainval,test}.txt

    Before anything trains, every listed image and annotation file must
    exist and every annotation file must parse: otherwise
    ``FileNotFoundError`` / ``ValueError`` names the files. A box of zero or
    negative size, or one wholly outside its image, is dropped and a box
    partly outside is clipped to the image, each with a warning that names
    the file and the box (BCCD's own files hold two zero-size red-cell
    boxes, which make Faster R-CNN's box loss NaN when kept).

    Args:
        ann_file (str): The split's list of image names, e.g.
            ``'ImageSets/Main/train.txt'`` (relative to ``data_root``).
        **kwargs: ``data_root``, ``pipeline``, ``test_mode``, ... of
            ``XMLDataset``; ``data_prefix`` defaults to the ``data_root``
            itself (``dict(sub_data_root='')``).
    """

    METAINFO = dict(
        classes=('RBC', 'WBC', 'Platelets'),
        palette=[(220, 20, 60), (0, 80, 255), (250, 170, 30)])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault('data_prefix', dict(sub_data_root=''))
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'BCCD split list {self.ann_file} does not exist: data_root '
                'must be the folder holding Annotations/, JPEGImages/ and '
                'ImageSets/Main/')
        with open(self.ann_file) as f:
            names = [line.strip() for line in f if line.strip()]
        missing = []
        for name in names:
            for sub, ext in ((self.ann_subdir, 'xml'), (self.img_subdir,
                                                        'jpg')):
                path = osp.join(self.sub_data_root, sub, f'{name}.{ext}')
                if not osp.isfile(path):
                    missing.append(path)
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} file(s) listed by {self.ann_file} are '
                f'missing: {", ".join(missing[:5])}'
                f'{" ..." if len(missing) > 5 else ""}; restore them or take '
                'their names out of the list')
        return super().load_data_list()

    def parse_data_info(self, img_info: dict) -> dict:
        try:
            data_info = super().parse_data_info(img_info)
        except ET.ParseError as e:
            raise ValueError(
                f'{img_info["xml_path"]} is not a readable VOC annotation '
                f'file ({e}): fix or replace it') from e
        width, height = data_info['width'], data_info['height']
        kept = []
        for instance in data_info['instances']:
            box = checked_box(instance['bbox'], width, height,
                              img_info['xml_path'])
            if box is not None:
                kept.append(dict(instance, bbox=box))
        data_info['instances'] = kept
        return data_info


def checked_box(box: List[float], width: int, height: int, path: str):
    """``box`` (x1, y1, x2, y2) clipped to the image, or None where nothing
    of it is left; warns naming ``path`` and the box when it changes it."""
    x1, y1, x2, y2 = box
    clipped = [
        min(max(x1, 0), width),
        min(max(y1, 0), height),
        min(max(x2, 0), width),
        min(max(y2, 0), height)
    ]
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        why = ('has zero or negative size' if x2 <= x1 or y2 <= y1 else
               f'lies outside the {width}x{height} image')
        warnings.warn(f'{path}: dropped the box {box}, which {why}')
        return None
    if clipped != list(box):
        warnings.warn(f'{path}: clipped the box {box} to the '
                      f'{width}x{height} image: {clipped}')
    return clipped
