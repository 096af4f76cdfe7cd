"""tools/analysis/compare_small_images.py --time-budget: a model trains for
the given seconds of training, validated along the way and at the end."""
import json
import shutil
import subprocess
import sys

from conftest import REPO, write_pattern_dataset

BUDGET_S = 4
MODEL = 'FishNet-99 w0.5 s1 (mmfishnet)'


def test_equal_time_training_stops_at_the_budget(tmp_path):
    # 16 images in batches of 8: an epoch is 2 iterations, short enough that
    # a slow or busy machine still runs several within the budget
    write_pattern_dataset(tmp_path / 'data', per_class=4, size=32)
    shutil.copytree(tmp_path / 'data' / 'train', tmp_path / 'data' / 'val')
    result = subprocess.run([
        sys.executable, REPO / 'tools/analysis/compare_small_images.py',
        'cifar10', '--data', tmp_path / 'data', '--time-budget',
        str(BUDGET_S), '--batch-size', '8', '--models', MODEL, '--out',
        tmp_path / 'out'
    ],
                            cwd=tmp_path,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    assert f'{BUDGET_S} s of training' in result.stdout
    with open(tmp_path / 'out' / 'results.json') as f:
        run = json.load(f)['results'][MODEL]
    # validated after every epoch of 2 iterations and at the end
    seconds, top1 = run['seconds'], run['top1']
    assert len(seconds) == len(top1) == -(-run['iters'] // 2) >= 2
    assert all(a < b for a, b in zip(seconds, seconds[1:]))
    # the last iteration crossed the budget: stopped then, not later
    assert BUDGET_S <= seconds[-1] < BUDGET_S + 2 * seconds[0]
    assert all(0 <= t <= 100 for t in top1)
    assert (tmp_path / 'out' / 'curves.png').stat().st_size > 0
