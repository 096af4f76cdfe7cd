"""CamVid road scenes (11 classes) read as they are distributed."""
import os.path as osp
from typing import Dict, Optional, Sequence

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

#: The label value CamVid uses for unlabelled pixels.
UNLABELLED = 11


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid (Brostow et al., 2008) at 480x360 in the SegNet layout::

        data_root/               e.g. data/camvid
        ├── train/*.png          RGB images (367)
        ├── trainannot/*.png     8-bit label maps of the same names
        ├── val/, valannot/      (101)
        └── test/, testannot/    (233)

    Label values 0-10 are the classes of :attr:`METAINFO`, 11 is unlabelled:
    it becomes 255, mmseg's ignore index, so that losses and ``IoUMetric``
    leave it out. The palette is the one the SegNet release draws CamVid
    with.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``: the image folder
            and ``<split>annot`` the label folder under ``data_root``.
        **kwargs: ``data_root``, ``pipeline``, ``test_mode``, ... of
            ``BaseSegDataset``.
    """

    METAINFO = dict(
        classes=('sky', 'building', 'pole', 'road', 'pavement', 'tree', 'sign',
                 'fence', 'car', 'pedestrian', 'bicyclist'),
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
                 [60, 40, 222], [128, 128, 0], [192, 128, 128], [64, 64, 128],
                 [64, 0, 128], [64, 64, 0], [0, 128, 192]])
    SPLITS = ('train', 'val', 'test')

    def __init__(self, split: str = 'train', **kwargs):
        if split not in self.SPLITS:
            raise ValueError(f'CamVid split must be one of {self.SPLITS}, '
                             f'got {split!r}')
        kwargs.setdefault('data_prefix',
                          dict(img_path=split, seg_map_path=f'{split}annot'))
        self.split = split
        super().__init__(img_suffix='.png', seg_map_suffix='.png', **kwargs)

    @classmethod
    def get_label_map(cls,
                      new_classes: Optional[Sequence] = None
                      ) -> Dict[int, int]:
        """mmseg's map for a subset of classes, plus unlabelled -> 255."""
        label_map = dict(super().get_label_map(new_classes) or {})
        label_map[UNLABELLED] = 255
        return label_map

    def load_data_list(self) -> list:
        for key in ('img_path', 'seg_map_path'):
            folder = self.data_prefix.get(key)
            if folder and not osp.isdir(folder):
                raise FileNotFoundError(
                    f'CamVid {self.split} split: folder {folder} does not '
                    'exist. data_root must hold train/, trainannot/, val/, '
                    'valannot/ (and test/, testannot/) as distributed.')
        data_list = super().load_data_list()
        missing = [
            d['seg_map_path'] for d in data_list
            if not osp.isfile(d['seg_map_path'])
        ]
        if missing:
            raise FileNotFoundError(
                f'CamVid {self.split} split: {len(missing)} images have no '
                f'label map, e.g. {missing[0]}')
        if not data_list:
            raise FileNotFoundError(
                f'CamVid {self.split} split: no .png images in '
                f'{self.data_prefix.get("img_path")}')
        return data_list
