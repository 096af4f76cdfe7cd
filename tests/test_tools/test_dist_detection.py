"""End to end on real COCO images: Mask R-CNN with a quarter-width
FishNet-150 trained by two processes through tools/dist_train.sh, killed,
resumed, evaluated through tools/dist_test.sh."""
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import REPO, run_tool_main

CONFIG = (
    REPO / 'tests' / 'data' / 'configs' / 'mask_rcnn_fishnet150_tiny_coco.py')
# dist_test.sh evaluates 4 of the 50 val images (predict and mask pasting
# on all 50 took longer than the training)
VAL_IMAGES = 4


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def launcher_env():
    env = dict(os.environ)
    env['PATH'] = f'{Path(sys.executable).parent}:{env["PATH"]}'
    env['PORT'] = free_port()
    return env


def run(cmd, log):
    with open(log, 'w') as f:
        result = subprocess.run(
            cmd,
            cwd=REPO,
            env=launcher_env(),
            stdout=f,
            stderr=subprocess.STDOUT)
    assert result.returncode == 0, Path(log).read_text()[-5000:]
    return Path(log).read_text()


def train_iters(log_text):
    """Iteration numbers logged by the training loop, e.g. [3, 4]."""
    return [
        int(line.split('Iter(train) [')[1].split('/')[0])
        for line in log_text.splitlines() if 'Iter(train) [' in line
    ]


def descendants(pid):
    """All processes below ``pid``; torchrun starts its workers in their own
    sessions, so a process-group kill would miss them."""
    children = {}
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_after_checkpoint(cmd, work_dir, log, checkpoint):
    """Start ``cmd`` and SIGKILL it and every process below it, as a node
    failure would, once ``checkpoint`` is the last complete checkpoint."""
    last = work_dir / 'last_checkpoint'
    with open(log, 'w') as f:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=launcher_env(),
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=True)
    deadline = time.time() + 900
    while not (last.exists()
               and last.read_text().strip().endswith(checkpoint)):
        assert proc.poll() is None, Path(log).read_text()[-5000:]
        assert time.time() < deadline, 'no checkpoint within 15 minutes'
        time.sleep(0.2)
    for pid in [proc.pid, *descendants(proc.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    time.sleep(1)  # let the killed workers disappear


def first_images(ann_file: Path, num: int, out: Path) -> Path:
    """The COCO annotation file ``ann_file`` cut to its first ``num``
    images and their objects, written to ``out``."""
    coco = json.loads(ann_file.read_text())
    coco['images'] = coco['images'][:num]
    kept = {image['id'] for image in coco['images']}
    coco['annotations'] = [
        a for a in coco['annotations'] if a['image_id'] in kept
    ]
    out.write_text(json.dumps(coco))
    return out


@pytest.mark.heavy
def test_train_kill_resume_and_evaluate(tiny_coco, tmp_path, monkeypatch):
    work_dir = tmp_path / 'work'
    train = [
        'bash', 'tools/dist_train.sh',
        str(CONFIG), '2', '--work-dir',
        str(work_dir)
    ]

    kill_after_checkpoint(train, work_dir, tmp_path / 'killed.log',
                          'iter_2.pth')
    killed_log = (tmp_path / 'killed.log').read_text()
    assert 'rank 1 of 2 joined a gloo process group' in killed_log
    assert not (work_dir / 'iter_4.pth').exists()
    assert not any('tiny_coco.py' in p.read_text(errors='ignore')
                   for p in Path('/proc').glob('[0-9]*/cmdline')
                   if p.parent.name != str(os.getpid()))
    at_kill = torch.load(work_dir / 'iter_2.pth', weights_only=False)
    assert at_kill['meta']['iter'] == 2

    resumed_log = run(train + ['--resume'], tmp_path / 'resumed.log')
    assert 'resumed' in resumed_log.lower()
    assert train_iters(resumed_log) == [3, 4]  # the counter continues
    final = torch.load(work_dir / 'iter_4.pth', weights_only=False)
    assert final['meta']['iter'] == 4
    # the scheduler continued: warm-up ended at iteration 2
    assert 'lr: 2.0000e-03' in resumed_log.split('Iter(train) [3/4]')[1][:60]
    assert final['param_schedulers'][0]['_global_step'] == 4
    # the optimizer continued: its momentum buffers came from the killed run
    assert at_kill['optimizer']['state'] and final['optimizer']['state']
    # the message hub (log history) carries the iterations before the kill
    history = final['message_hub']['log_scalars']['train/loss']
    assert len(history._log_history) >= 4

    results = tmp_path / 'results.pkl'
    val_subset = first_images(
        tiny_coco / 'annotations' / 'instances_val2017.json', VAL_IMAGES,
        tmp_path / 'val_subset.json')
    test_dir = tmp_path / 'test'
    run([
        'bash', 'tools/dist_test.sh',
        str(CONFIG),
        str(work_dir / 'iter_4.pth'), '2', '--work-dir',
        str(test_dir), '--out',
        str(results), '--cfg-options',
        f'test_dataloader.dataset.ann_file={val_subset}',
        f'test_evaluator.ann_file={val_subset}'
    ], tmp_path / 'test.log')
    with open(results, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == VAL_IMAGES
    assert len({p['img_id'] for p in predictions}) == VAL_IMAGES
    assert all('masks' in p['pred_instances'] for p in predictions)

    (metrics_file, ) = test_dir.glob('*/*.json')
    metrics = json.loads(metrics_file.read_text().splitlines()[-1])
    for task in ('bbox', 'segm'):
        for key in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l'):
            value = metrics[f'coco/{task}_{key}']
            # -1 is COCO's "no object of this size"; otherwise a fraction
            assert value == -1 or 0 <= value <= 1

    # test-dev style output: COCO result JSON instead of metrics (one
    # process: tools/test.py's main here)
    prefix = tmp_path / 'submission' / 'fishnet150'
    run_tool_main(REPO / 'tools' / 'test.py', [
        CONFIG, work_dir / 'iter_4.pth', '--work-dir', tmp_path / 'fmt',
        '--format-only', '--outfile-prefix', prefix, '--cfg-options',
        'test_dataloader.dataset.indices=4'
    ], monkeypatch)
    for task in ('bbox', 'segm'):
        dets = json.loads(Path(f'{prefix}.{task}.json').read_text())
        assert len({d['image_id'] for d in dets}) == 4
        assert {'image_id', 'category_id', 'score'} <= set(dets[0])

    print('tiny_coco metrics after 4 iterations:', {
        k: v
        for k, v in metrics.items() if k.startswith('coco/')
    })
