"""Tiny ImageNet (200 classes, 64x64) read in the layout it is downloaded
in."""
import os
import os.path as osp
from typing import List

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class TinyImageNet(BaseDataset):
    """Tiny ImageNet as unpacked from ``tiny-imagenet-200.zip``::

        data_root/                 e.g. data/tiny-imagenet-200
        ├── wnids.txt              the 200 WordNet ids, one a line
        ├── words.txt              ``wnid<TAB>names`` for all of WordNet
        ├── train/<wnid>/images/*.JPEG          500 per class
        └── val/images/*.JPEG + val/val_annotations.txt
                                   ``file<TAB>wnid<TAB>x0<TAB>y0<TAB>x1<TAB>y1``

    Class ``i`` is line ``i`` of ``wnids.txt``; class names come from
    ``words.txt``. The test split has no labels and is not supported.

    Args:
        data_root (str): The ``tiny-imagenet-200`` folder.
        split (str): ``'train'`` or ``'val'``.
        **kwargs: ``pipeline``, ``test_mode``, ... of ``BaseDataset``.
    """

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        if split not in ('train', 'val'):
            raise ValueError(f"TinyImageNet split must be 'train' or 'val' "
                             f'(the test split has no labels), got {split!r}')
        self.split = split
        wnids = self._read_lines(osp.join(data_root, 'wnids.txt'))
        names = dict(
            line.split('\t', 1)
            for line in self._read_lines(osp.join(data_root, 'words.txt')))
        missing = [w for w in wnids if w not in names]
        if missing:
            raise ValueError(f'{osp.join(data_root, "words.txt")} has no '
                             f'names for {missing[:5]}: is the file complete?')
        self.wnids = wnids
        super().__init__(
            ann_file='',
            data_root=data_root,
            metainfo=dict(classes=tuple(names[w] for w in wnids)),
            **kwargs)

    @staticmethod
    def _read_lines(path: str) -> List[str]:
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path} not found: data_root must be the unpacked '
                'tiny-imagenet-200 folder (with wnids.txt, words.txt, train/ '
                'and val/)')
        with open(path) as f:
            return [line.rstrip('\n') for line in f if line.strip()]

    def load_data_list(self) -> List[dict]:
        label = {wnid: i for i, wnid in enumerate(self.wnids)}
        if self.split == 'train':
            samples = []
            for wnid in self.wnids:
                folder = osp.join(self.data_root, 'train', wnid, 'images')
                if not osp.isdir(folder):
                    raise FileNotFoundError(
                        f'{folder} not found: every class of wnids.txt needs '
                        'train/<wnid>/images/')
                samples += [(osp.join(folder, name), label[wnid])
                            for name in sorted(self._images(folder))]
        else:
            ann_file = osp.join(self.data_root, 'val', 'val_annotations.txt')
            samples = []
            for line in self._read_lines(ann_file):
                fields = line.split('\t')
                if len(fields) < 2 or fields[1] not in label:
                    raise ValueError(f'{ann_file}: unexpected line {line!r} '
                                     '(want file<TAB>wnid<TAB>box)')
                samples.append((osp.join(self.data_root, 'val', 'images',
                                         fields[0]), label[fields[1]]))
        return [dict(img_path=path, gt_label=gt) for path, gt in samples]

    @staticmethod
    def _images(folder: str) -> List[str]:
        return [
            name for name in os.listdir(folder)
            if name.lower().endswith(('.jpeg', '.jpg', '.png'))
        ]
