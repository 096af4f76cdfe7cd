"""Median-frequency class weights from label maps: the definition on maps
made here, and CamVid's train split where the shared files are."""
import subprocess
import sys

import numpy as np
import pytest
from conftest import CAMVID, CAMVID_CONFIG, REPO
from PIL import Image

from mmfishnet.datasets.class_weights import (class_frequencies,
                                              median_frequency_weights)

TOOL = REPO / 'tools' / 'analysis' / 'seg_class_weights.py'


def write_maps(folder, maps):
    folder.mkdir()
    paths = []
    for i, labels in enumerate(maps):
        path = folder / f'{i}.png'
        Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_median_frequency_follows_its_definition(tmp_path):
    # class 0 everywhere, class 1 in the first map only, 9 is ignored
    paths = write_maps(tmp_path / 'maps', [
        [[0, 0, 1, 1], [0, 0, 1, 9]],
        [[0, 0, 0, 0], [0, 0, 2, 9]],
    ])
    pixels, present_in = class_frequencies(paths, 3)
    assert pixels.tolist() == [10, 3, 1]
    assert present_in.tolist() == [14, 7, 7]  # labelled pixels of the maps
    frequency = np.array([10 / 14, 3 / 7, 1 / 7])
    expected = np.median(frequency) / frequency
    assert median_frequency_weights(paths, 3) == pytest.approx(expected)


def test_a_class_that_never_occurs_and_a_colour_map_are_errors(tmp_path):
    paths = write_maps(tmp_path / 'maps', [[[0, 1], [1, 0]]])
    with pytest.raises(ValueError, match=r'classes \[2\] occur in no'):
        median_frequency_weights(paths, 3)
    rgb = tmp_path / 'rgb.png'
    Image.new('RGB', (4, 4)).save(rgb)
    with pytest.raises(ValueError, match='single-channel'):
        class_frequencies([str(rgb)], 3)


def test_the_camvid_config_uses_the_weights_of_its_train_labels():
    if not (CAMVID / 'trainannot').is_dir():
        pytest.skip(f'CamVid not found at {CAMVID}')
    from mmengine.config import Config
    result = subprocess.run(
        [sys.executable, TOOL, CAMVID / 'trainannot', '--num-classes', '11'],
        capture_output=True,
        text=True,
        check=True)
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith('class_weight=[')
    printed = [float(w) for w in line[len('class_weight=['):-1].split(',')]
    assert '367 label maps' in result.stdout
    cfg = Config.fromfile(CAMVID_CONFIG)
    weights = cfg.model.decode_head.loss_decode.class_weight
    assert weights == pytest.approx(printed, abs=1e-4)
    # the thin classes weigh most: pole, sign, pedestrian, bicyclist
    order = np.argsort(weights)[::-1][:4]
    assert set(order.tolist()) == {2, 6, 9, 10}
