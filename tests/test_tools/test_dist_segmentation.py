"""A small CamVid segmentor trained by two processes through
tools/dist_train.sh on real images and evaluated through tools/dist_test.sh
with mmseg's IoUMetric."""
import re

import pytest
from conftest import CAMVID, CAMVID_CONFIG
from test_dist_detection import run

pytest.importorskip('mmseg')

CONFIG = CAMVID_CONFIG


@pytest.mark.heavy
def test_dist_train_and_dist_test_give_miou(tmp_path):
    if not (CAMVID / 'valannot').is_dir():
        pytest.skip(f'CamVid not found at {CAMVID}')
    options = [
        '--cfg-options', f'train_dataloader.dataset.data_root={CAMVID}',
        f'val_dataloader.dataset.data_root={CAMVID}',
        f'test_dataloader.dataset.data_root={CAMVID}',
        'train_dataloader.dataset.indices=8',
        'val_dataloader.dataset.indices=4',
        'test_dataloader.dataset.indices=4', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1'
    ]
    work_dir = tmp_path / 'work'
    train_log = run([
        'bash', 'tools/dist_train.sh',
        str(CONFIG), '2', '--work-dir',
        str(work_dir), *options
    ], tmp_path / 'train.log')
    assert 'joined a gloo process group' in train_log
    # 8 images, 2 processes x 2 images: 2 iterations an epoch
    assert 'Epoch(train) [1][2/2]' in train_log
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()

    test_log = run([
        'bash', 'tools/dist_test.sh',
        str(CONFIG),
        str(checkpoint), '2', '--work-dir',
        str(tmp_path / 'test'), *options
    ], tmp_path / 'test.log')
    miou = re.findall(r'mIoU: ([\d.]+)', test_log)
    assert miou and 0 <= float(miou[-1]) <= 100
    # the per-class table of IoUMetric names CamVid's classes
    assert 'bicyclist' in test_log and 'pedestrian' in test_log
