"""The GPU acceptance tools on the CPU: the report survives a stop and
records failures, the checks and the launcher runs give real results here
(with --allow-cpu), the wheel companion plans the right downloads and
refuses what would not fit the carry, and the shell entry points stop with
a clear message where they cannot run."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO

sys.path.insert(0, str(REPO / 'tools' / 'gpu'))
import acceptance  # noqa: E402
import prepare_wheels  # noqa: E402

no_cuda = pytest.mark.skipif(
    torch.cuda.is_available(), reason='tests the CPU side of the tool')


def rows_of(out):
    return json.loads((out / 'acceptance.json').read_text())['rows']


@no_cuda
def test_without_cuda_it_stops_unless_allowed(tmp_path):
    with pytest.raises(SystemExit, match='CUDA is not available'):
        acceptance.main(['--out', str(tmp_path)])
    assert not (tmp_path / 'acceptance.json').exists()


def test_environment_and_official_equivalence_on_this_device(tmp_path):
    status = acceptance.main([
        '--out',
        str(tmp_path), '--allow-cpu', '--steps', 'environment', 'equivalence'
    ])
    rows = {r['name']: r for r in rows_of(tmp_path)}
    assert status == 0, rows
    versions = rows['versions']
    assert versions['torch'] == torch.__version__
    assert versions['mmcv'] == '2.1.0'
    ops = rows[f'mmcv ops on {acceptance.device()}']
    assert ops['nms_keep'] == [0, 2] and ops['status'] == 'ok'
    for size in ('224x224', '256x320'):
        row = rows[f'FishNet-99 {size}, fp32']
        assert row['status'] == 'ok' and row['max_relative_error'] < 1e-5
    markdown = (tmp_path / 'acceptance.md').read_text()
    assert '## equivalence' in markdown and 'FishNet-99 256x320' in markdown


def test_a_failing_row_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch):

    def broken(reference):
        if reference == '224x224':
            raise RuntimeError('CUDA error: an illegal memory access')
        return dict(max_relative_error=0.0)

    monkeypatch.setattr(acceptance, 'official_equivalence', broken)
    status = acceptance.main(
        ['--out',
         str(tmp_path), '--allow-cpu', '--steps', 'equivalence'])
    first, second = rows_of(tmp_path)
    assert status == 1
    assert first['status'] == 'failed'
    assert 'illegal memory access' in first['error']
    assert second['status'] == 'ok'
    markdown = (tmp_path / 'acceptance.md').read_text()
    assert 'RuntimeError: CUDA error: an illegal memory access' in markdown


def test_a_killed_run_leaves_the_rows_it_finished(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([
        sys.executable,
        str(REPO / 'tools' / 'gpu' / 'acceptance.py'), '--out',
        str(tmp_path), '--allow-cpu', '--steps', 'environment', 'equivalence',
        'training'
    ],
                               env=env,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            path = tmp_path / 'acceptance.json'
            if path.exists() and len(rows_of(tmp_path)) >= 3:
                break
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    rows = rows_of(tmp_path)  # complete JSON: every write is atomic
    assert [r['step']
            for r in rows[:3]] == ['environment'] * 2 + ['equivalence']
    assert 'FishNet-99 224x224' in (tmp_path / 'acceptance.md').read_text()


def test_training_runs_go_through_the_launcher(tmp_path):
    """Two of the runs, and one that cannot run without CUDA (fp16)."""
    acceptance.main([
        '--out',
        str(tmp_path), '--allow-cpu', '--steps', 'training', '--only',
        'Mask R-CNN FishNet-150, fp32', 'fp16, MixedPrecisionOptimWrapper',
        'segmentor'
    ])
    rows = {r['name']: r for r in rows_of(tmp_path)}
    assert len(rows) == 3
    mask_rcnn = rows['Mask R-CNN FishNet-150, fp32']
    assert mask_rcnn['status'] == 'ok', mask_rcnn.get('error')
    assert mask_rcnn['iterations_logged'] == 2
    # here the launch tools fall back to gloo and BN, and say so
    assert mask_rcnn['backend'] == 'gloo' and not mask_rcnn['sync_bn']
    segmentor = rows['segmentor FPN FishNet-99 w0.25 (CamVid config), fp32']
    assert segmentor['status'] == 'ok', segmentor.get('error')
    assert segmentor['iterations_logged'] >= 1
    fp16 = rows['Mask R-CNN FishNet-150, fp16, MixedPrecisionOptimWrapper']
    assert fp16['status'] == 'failed'
    assert 'float16 mixed precision is for CUDA' in fp16['error']


def test_throughput_rows_are_measured_and_reported(tmp_path, monkeypatch):
    """Two rows of the quick plan (the whole plan, detectors and bf16
    emulated without native bf16, takes minutes on a CPU): a classifier's
    training step and its inference."""
    quick = acceptance.throughput_rows(quick=True)
    chosen = [
        r for r in quick
        if (r[0], r[2], r[3]) in {('ResNet-50', 'fp32+cl',
                                   'infer'), ('ResNet-50', 'fp32+cl', 'train')}
    ]
    assert len(chosen) == 2
    monkeypatch.setattr(acceptance, 'throughput_rows', lambda quick: chosen)
    acceptance.main([
        '--out',
        str(tmp_path), '--allow-cpu', '--quick', '--steps', 'throughput'
    ])
    rows = rows_of(tmp_path)
    assert {(r['name'], r['mode'], r['phase'])
            for r in rows} == {(r[0], r[2], r[3])
                               for r in chosen}
    for row in rows:
        assert row['status'] == 'ok', row.get('error')
        assert row['img_per_s'] > 0 and row['peak_mib'] > 0
    assert '| ResNet-50 | ok |' in (tmp_path / 'acceptance.md').read_text()


def test_every_precision_is_planned_for_both_classifiers():
    rows = acceptance.throughput_rows(quick=True)
    planned = {(r[0], r[2], r[3]) for r in rows}
    for name in acceptance.CLASSIFIERS:
        for phase in ('train', 'infer'):
            for mode in ('fp32+cl', 'bf16+cl', 'fp16+cl'):
                assert (name, mode, phase) in planned
        assert (name, 'bf16+cl+cp', 'train') in planned
    for name in acceptance.DETECTORS:
        for mode in ('fp32+cl', 'bf16+cl', 'bf16+cl+cp'):
            assert (name, mode, 'train') in planned


def test_the_full_throughput_plan_compares_with_resnet_at_coco_size():
    rows = acceptance.throughput_rows(quick=False)
    detectors = [r for r in rows if r[0].startswith('Mask R-CNN')]
    assert {r[0] for r in detectors} == set(acceptance.DETECTORS)
    assert all(r[4] == (800, 1216) and r[5] == 2 for r in detectors)
    classifiers = [r for r in rows if not r[0].startswith('Mask R-CNN')]
    assert {r[0] for r in classifiers} == set(acceptance.CLASSIFIERS)
    assert all(r[4] == (224, 224) for r in classifiers)


# ---- the wheel companion ----------------------------------------------------


def test_downloads_are_pinned_for_the_target_python(tmp_path):
    wheels, sdists = prepare_wheels.download_commands(tmp_path, '3.12')
    assert wheels[wheels.index('--python-version') + 1] == '3.12'
    assert '--only-binary=:all:' in wheels and '--no-deps' in wheels
    assert '--platform=manylinux_2_17_x86_64' in wheels
    specs = prepare_wheels.WHEELS + prepare_wheels.SDISTS
    assert all('==' in spec for spec in specs)
    for package in ('mmengine', 'mmdet', 'mmpretrain', 'mmsegmentation'):
        assert any(s.startswith(package + '==') for s in wheels)
    assert sdists[-1] == 'mmcv==2.1.0' and '--no-binary=:all:' in sdists


def test_the_openmmlab_versions_are_those_of_the_cpu_stack():
    """The carried OpenMMLab packages are the versions tools/setup_env.sh
    pins, so the GPU runs what CI tests."""
    setup = (REPO / 'tools' / 'setup_env.sh').read_text()
    for spec in prepare_wheels.WHEELS + prepare_wheels.SDISTS:
        name, pinned = spec.split('==')
        if name.startswith('mm'):
            variable = ('MMSEG' if name == 'mmsegmentation' else
                        name.upper()) + '_VERSION'
            assert f'{variable}={pinned}\n' in setup, spec


def test_manifest_and_the_carry_limit(tmp_path):
    (tmp_path / 'a-1.0-py3-none-any.whl').write_bytes(b'x' * 3 * 2**20)
    (tmp_path / 'mmcv-2.1.0.tar.gz').write_bytes(b'y' * 2**20)
    manifest = prepare_wheels.write_manifest(tmp_path)
    assert manifest['files']['mmcv-2.1.0.tar.gz']['bytes'] == 2**20
    assert len(manifest['files']['a-1.0-py3-none-any.whl']['sha256']) == 64
    lines = prepare_wheels.check_fits(manifest, 2 * 2**20, limit_mib=8)
    assert lines[-1].strip().startswith('6.00 MiB  together')
    with pytest.raises(SystemExit, match='more than the 5 MiB'):
        prepare_wheels.check_fits(manifest, 2 * 2**20, limit_mib=5)


def test_the_repository_leaves_room_for_the_wheels():
    assert prepare_wheels.tracked_bytes() < 16 * 2**20


def test_dry_run_prints_the_commands(capsys, tmp_path):
    assert prepare_wheels.main(['--dry-run', '--out', str(tmp_path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and 'mmdet==3.3.0' in printed[0]
    assert not any(tmp_path.iterdir())


# ---- the shell entry points -------------------------------------------------


@no_cuda
def test_acceptance_sh_stops_without_a_gpu(tmp_path):
    result = subprocess.run(
        ['bash',
         str(REPO / 'tools' / 'gpu' / 'acceptance.sh'),
         str(tmp_path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHON=sys.executable))
    assert result.returncode == 1
    assert 'sees no GPU' in result.stdout + result.stderr


def test_build_mmcv_names_a_missing_sdist(tmp_path):
    script = str(REPO / 'tools' / 'build_mmcv.sh')
    usage = subprocess.run(['bash', script], capture_output=True, text=True)
    assert usage.returncode == 2 and 'usage' in usage.stderr
    missing = tmp_path / 'mmcv-2.1.0.tar.gz'
    result = subprocess.run([
        'bash', script, sys.executable,
        str(tmp_path / 'wheels'),
        str(missing)
    ],
                            capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert f'{missing} does not exist' in result.stderr
