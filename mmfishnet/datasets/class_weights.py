"""Class weights for segmentation losses from the label maps of a split."""
from typing import Iterable, List, Sequence

import numpy as np
from PIL import Image


def class_frequencies(label_paths: Iterable[str],
                      num_classes: int) -> Sequence[np.ndarray]:
    """Per class: its pixel count over all label maps, and the labelled
    pixel count of the label maps in which it occurs. Values at or above
    ``num_classes`` (the ignored ones) count for neither.

    Raises:
        ValueError: no label map, or one that is not a single-channel image.
    """
    pixels = np.zeros(num_classes, dtype=np.int64)
    present_in = np.zeros(num_classes, dtype=np.int64)
    count = 0
    for path in label_paths:
        with Image.open(path) as image:
            labels = np.asarray(image)
        if labels.ndim != 2:
            raise ValueError(f'label map {path} has shape {labels.shape}: '
                             'expected a single-channel (H, W) image')
        counts = np.bincount(labels.ravel(), minlength=num_classes)
        counts = counts[:num_classes]
        pixels += counts
        present_in += (counts > 0) * int(counts.sum())
        count += 1
    if count == 0:
        raise ValueError('no label maps to count')
    return pixels, present_in


def median_frequency_weights(label_paths: Iterable[str],
                             num_classes: int) -> List[float]:
    """Median frequency balancing (Eigen and Fergus, 2015; SegNet's CamVid
    weights): class ``c`` gets ``median(f) / f_c``, where ``f_c`` is its
    pixel count divided by the labelled pixel count of the label maps it
    occurs in.

    Raises:
        ValueError: a class that no label map contains (its weight would be
            infinite), or the errors of :func:`class_frequencies`.
    """
    pixels, present_in = class_frequencies(label_paths, num_classes)
    absent = [c for c in range(num_classes) if pixels[c] == 0]
    if absent:
        raise ValueError(f'classes {absent} occur in no label map, so they '
                         'have no frequency to balance')
    frequency = pixels / present_in
    return [float(w) for w in np.median(frequency) / frequency]
