"""The GPU acceptance tools on the CPU: the report survives a stop and
records failures, the rows run in the order of their value and stop at a
deadline, training rows fail unless they ran under NCCL with SyncBN on a
GPU, the checks give real results here (with --allow-cpu), the wheel
companion's set is complete and its manifest checked, and the shell entry
point stops with a clear message where it cannot run. The whole run through
acceptance.sh in an environment like the GPU machine's is CI's rehearsal
(tools/gpu/rehearse_on_cpu.sh)."""
import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import REPO

sys.path.insert(0, str(REPO / 'tools' / 'gpu'))
import acceptance  # noqa: E402
import prepare_wheels  # noqa: E402
from acceptance_steps import report, throughput, training  # noqa: E402

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


def test_every_save_replaces_the_report_whole(tmp_path, monkeypatch):
    """A stop while a report is written leaves the previous one: each file
    is written beside it and moved into place."""
    rows = report.Report(tmp_path)
    rows.add('environment', 'versions', 'ok', 1.0, torch='2.x')
    replaced = []
    real_replace = os.replace

    def replace(src, dst):
        replaced.append((os.path.basename(src), os.path.basename(dst)))
        assert json.loads((tmp_path / 'acceptance.json').read_text())
        real_replace(src, dst)

    monkeypatch.setattr(report.os, 'replace', replace)
    rows.add('equivalence', 'FishNet-99 224x224, fp32', 'ok', 2.0)
    assert replaced == [('.acceptance.json.partial', 'acceptance.json'),
                        ('.acceptance.md.partial', 'acceptance.md')]
    assert [r['step']
            for r in rows_of(tmp_path)] == ['environment', 'equivalence']


LOG = (
    '12/04 18:00:01 - mmengine - INFO - launch: device={device} '
    'backend={backend} world_size=1 sync_bn_layers={synced}/151\n' +
    ''.join(f'12/04 18:00:0{i} - mmengine - INFO - Iter(train) [ {i}/4]  lr: '
            f'1.0e-04  eta: 0:00:01  time: {time}  data_time: 0.0100  memory: '
            f'9000  loss: {loss}\n'
            for i, time, loss in ((1, '3.1000', '5.1200'),
                                  (2, '0.5000', '4.9000'),
                                  (3, '0.3000', '{loss}'),
                                  (4, '0.2000', '4.2000'))))


def judged(on_cuda, returncode=0, **fields):
    values = dict(device='cuda', backend='nccl', synced=150, loss='4.5000')
    values.update(fields)
    text = LOG.format(**values)
    return training.judge_training(
        dict(returncode=returncode, **training.read_training_log(text)),
        on_cuda)


def test_the_training_log_gives_losses_loop_speed_and_the_launch():
    row = judged(on_cuda=True)
    assert 'status' not in row  # ok
    assert row['iterations_logged'] == 4 and row['last_loss'] == 4.2
    # the median after the first two iterations (cuDNN autotuning)
    assert row['loop_s_per_iter'] == pytest.approx(0.25)
    assert (row['device'], row['backend'], row['world_size'],
            row['sync_bn_layers']) == ('cuda', 'nccl', 1, '150/151')


@pytest.mark.parametrize('fields,problem', [
    (dict(backend='gloo'), 'not cuda with nccl'),
    (dict(device='cpu', backend='gloo'), 'not cuda with nccl'),
    (dict(synced=0), 'no SyncBatchNorm layer'),
    (dict(loss='nan'), 'no finite loss'),
    (dict(returncode=1), 'exit 1'),
])
def test_a_training_row_on_cuda_fails_without_nccl_syncbn_or_finite_loss(
        fields, problem):
    row = judged(on_cuda=True, **fields)
    assert row['status'] == 'failed' and problem in row['error']


def test_on_a_cpu_gloo_and_bn_are_what_the_launch_tools_do():
    row = judged(on_cuda=False, device='cpu', backend='gloo', synced=0)
    assert 'status' not in row
    assert judged(on_cuda=False, loss='nan')['status'] == 'failed'
    no_launch = training.judge_training(
        dict(returncode=0, **training.read_training_log('loss: 1.0')),
        on_cuda=False)
    assert 'no launch line' in no_launch['error']


def test_the_launch_line_is_what_the_training_tool_logs():
    """tools/launch_utils.describe_launch writes what the acceptance
    parses: a model with SyncBN layers, no process group."""
    sys.path.insert(0, str(REPO / 'tools'))
    from launch_utils import describe_launch
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 1), torch.nn.SyncBatchNorm(4),
        torch.nn.BatchNorm2d(4))
    line = describe_launch(model)
    match = training.LAUNCH.search(line)
    assert match and match.groups() == ('cpu', 'none', '1', '1', '2')


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


def test_rows_run_in_the_order_of_their_value(tmp_path, monkeypatch):
    monkeypatch.setattr(
        acceptance, 'make_data',
        lambda root: dict(shapes=root, classes=root, camvid=root))
    args = acceptance.argparse.Namespace(
        steps=list(acceptance.STEPS),
        only=None,
        modes=None,
        quick=False,
        out=tmp_path,
        train_timeout=300)
    rows = acceptance.plan(args, tmp_path)
    steps = [r.step for r in rows]
    assert steps == sorted(steps, key=list(acceptance.STEPS).index)
    runs = [r.name for r in rows if r.step == 'training']
    assert [n.split(', ')[1] for n in runs[:3]] == ['fp32', 'bf16', 'fp16']
    speed_rows = [r.args[1:3] for r in rows if r.step == 'throughput']
    # the recommended mode's training first, then strict fp32 for the ratio
    assert speed_rows[:4] == [('bf16+cl', 'train')] * 2 + [('fp32+cl', 'train')
                                                           ] * 2
    compiled = [
        i for i, (mode, _) in enumerate(speed_rows) if 'compile' in mode
    ]
    assert compiled and min(compiled) > max(
        i for i, (mode, _) in enumerate(speed_rows) if mode == 'bf16+cl')
    for name in throughput.CLASSIFIERS:
        for phase in ('train', 'infer'):
            for mode in ('fp32+cl', 'tf32+cl', 'bf16+cl', 'fp16+cl',
                         'bf16+cl+compile'):
                assert any(r.name == name and r.args[1:3] == (mode, phase)
                           for r in rows), (name, mode, phase)
    # what a row needs is a field of it: CUDA for fp16 and TF32, a timeout
    # that the deadline can cut for every process it starts
    for row in rows:
        mode = row.args[1] if row.step == 'throughput' else row.name
        assert row.cuda_only == ('fp16' in mode and row.step == 'training'
                                 or mode.startswith(('fp16', 'tf32'))), row
        assert row.timeout_last == (row.step in ('training', 'throughput'))
    detectors = [r for r in rows if r.name in throughput.DETECTORS]
    assert {r.args[3] for r in detectors} == {(800, 1216)}
    assert {r.name for r in detectors} == set(throughput.DETECTORS)


def test_the_run_stops_at_its_deadline_and_lists_what_it_did_not_reach(
        tmp_path, monkeypatch):
    calls = []

    def slow(reference):
        calls.append(reference)
        now[0] += 100
        return dict(max_relative_error=0.0)

    now = [1000.0]
    monkeypatch.setattr(acceptance.time, 'time', lambda: now[0])
    monkeypatch.setattr(acceptance, 'official_equivalence', slow)
    status = acceptance.main([
        '--out',
        str(tmp_path), '--allow-cpu', '--steps', 'equivalence', '--deadline',
        '1050'
    ])
    assert status == 0 and calls == ['224x224']
    rows = rows_of(tmp_path)
    assert [r['status'] for r in rows] == ['ok', 'not reached: deadline']
    assert 'not reached: deadline' in (tmp_path / 'acceptance.md').read_text()


# ---- the wheel companion ----------------------------------------------------


def test_downloads_are_pinned_for_the_target_python(tmp_path):
    wheels = prepare_wheels.wheel_command(tmp_path, '3.12')
    assert wheels[wheels.index('--python-version') + 1] == '3.12'
    assert '--only-binary=:all:' in wheels and '--no-deps' in wheels
    assert '--platform=manylinux_2_17_x86_64' in wheels
    specs = prepare_wheels.WHEELS + prepare_wheels.SDISTS
    assert all('==' in spec for spec in specs)
    for package in ('mmengine', 'mmdet', 'mmpretrain', 'mmsegmentation'):
        assert any(s.startswith(package + '==') for s in wheels)
    assert prepare_wheels.SDISTS == ('mmcv==2.1.0', )


def test_the_wheel_set_meets_every_requirement_on_the_image():
    """What the carried packages require (their metadata, where the
    version installed here is the one carried: every OpenMMLab package) is
    carried or on the GPU image; mmpretrain's "modelindex" is the
    model-index distribution, not the modelindex project. (prepare_wheels
    checks the downloaded wheels themselves the same way.)"""
    from importlib import metadata
    needs = {}
    for spec in prepare_wheels.WHEELS:
        name, version = spec.split('==')
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if name.startswith('mm'):
            assert installed == version, spec
        if installed == version:
            needs[name] = prepare_wheels.requirement_names(
                metadata.requires(name) or [], '3.12')
    needs['mmcv'] = prepare_wheels.requirement_names(
        metadata.requires('mmcv'), '3.12')
    carried = {s.split('==')[0] for s in prepare_wheels.WHEELS}
    image = prepare_wheels.image_packages()
    assert prepare_wheels.unmet(needs, carried | {'mmcv'}, image) == []
    assert 'importlib-metadata' in needs['mmpretrain']
    assert 'model-index' in carried and 'modelindex' not in carried
    for absent in ('mmcv', 'mmengine', 'mmdet', 'pycocotools'):
        assert absent not in image
    assert {'numpy', 'transformers', 'opencv-python-headless'} <= image


def fake_wheel(folder, name, *requires):
    import zipfile
    with zipfile.ZipFile(folder / f'{name}-1.0-py3-none-any.whl', 'w') as z:
        z.writestr(
            f'{name}-1.0.dist-info/METADATA', '\n'.join([
                'Metadata-Version: 2.1', f'Name: {name}', 'Version: 1.0',
                *(f'Requires-Dist: {r}' for r in requires)
            ]))


def test_an_unmet_requirement_is_found_in_the_wheels(tmp_path):
    fake_wheel(tmp_path, 'mmpretrain', 'importlib-metadata', 'modelindex',
               'numpy', 'tomli>=2; python_version < "3.11"',
               'regex; sys_platform == "win32"', 'torchvision; extra == "x"')
    fake_wheel(tmp_path, 'model_index', 'pyyaml')
    image = {
        'numpy', 'pyyaml', 'addict', 'packaging', 'pillow',
        'opencv-python-headless', 'yapf', 'mmengine'
    }
    assert prepare_wheels.unmet_requirements(tmp_path, '3.12', image) == [
        ('mmpretrain-1.0-py3-none-any.whl', 'importlib-metadata')
    ]
    # on Python 3.10 tomli applies too
    assert ('mmpretrain-1.0-py3-none-any.whl',
            'tomli') in prepare_wheels.unmet_requirements(
                tmp_path, '3.10', image)


def test_a_changed_missing_or_unlisted_file_fails_the_manifest(tmp_path):
    (tmp_path / 'a-1.0-py3-none-any.whl').write_bytes(b'a' * 100)
    (tmp_path / 'b-1.0-py3-none-any.whl').write_bytes(b'b' * 100)
    prepare_wheels.write_manifest(tmp_path)
    assert prepare_wheels.verify(tmp_path) == []
    assert prepare_wheels.main(['--verify', str(tmp_path)]) == 0
    (tmp_path / 'a-1.0-py3-none-any.whl').write_bytes(b'a' * 99)
    (tmp_path / 'b-1.0-py3-none-any.whl').write_bytes(b'c' * 100)
    (tmp_path / 'c-1.0-py3-none-any.whl').write_bytes(b'c')
    problems = prepare_wheels.verify(tmp_path)
    assert len(problems) == 3
    assert 'a-1.0-py3-none-any.whl has 99 bytes' in problems[0]
    assert 'b-1.0-py3-none-any.whl does not match its sha256' in problems[1]
    assert 'c-1.0-py3-none-any.whl is not in the manifest' in problems[2]
    (tmp_path / 'a-1.0-py3-none-any.whl').unlink()
    with pytest.raises(SystemExit, match='listed in the manifest but missing'):
        prepare_wheels.main(['--verify', str(tmp_path)])
    assert 'does not exist' in prepare_wheels.verify(tmp_path / 'none')[0]


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


def test_the_target_image_packages_come_from_pip_freeze(tmp_path):
    """What ``pip freeze`` prints on the target is what --image-packages
    takes: pinned names, direct references, comments."""
    freeze = tmp_path / 'image_packages.txt'
    freeze.write_text('# the cluster image\nnumpy==2.1.3\n'
                      'Torch @ file:///wheels/torch-2.11-cp312.whl\n'
                      'opencv_python_headless==4.10.0.84\n\n')
    assert prepare_wheels.image_packages(freeze) == {
        'numpy', 'torch', 'opencv-python-headless'
    }
    # a missing list stops before anything is downloaded
    with pytest.raises(
            SystemExit,
            match='does not exist: write it with pip '
            'freeze on the target machine'):
        prepare_wheels.main([
            '--out',
            str(tmp_path / 'wheels'), '--image-packages',
            str(tmp_path / 'missing.txt')
        ])
    assert not (tmp_path / 'wheels').exists()


def test_dry_run_prints_the_downloads(capsys, tmp_path):
    assert prepare_wheels.main(['--dry-run', '--out', str(tmp_path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and 'mmdet==3.3.0' in printed[0]
    assert printed[1].startswith('source release mmcv==2.1.0 from')
    assert not any(tmp_path.iterdir())
    prepare_wheels.main(['--dry-run', '--no-sdist', '--out', str(tmp_path)])
    assert len(capsys.readouterr().out.splitlines()) == 1


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


def run_acceptance_sh(tmp_path, **env):
    return subprocess.run([
        'bash',
        str(REPO / 'tools' / 'gpu' / 'acceptance.sh'),
        str(tmp_path / 'out')
    ],
                          capture_output=True,
                          text=True,
                          env=dict(
                              os.environ,
                              PYTHON=sys.executable,
                              MMFISHNET_GPU_ALLOW_CPU='1',
                              MMFISHNET_GPU_SITE=str(tmp_path / 'site'),
                              **env))


def test_acceptance_sh_refuses_a_damaged_carry_before_installing(tmp_path):
    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    (wheels / 'a-1.0-py3-none-any.whl').write_bytes(b'a' * 10)
    prepare_wheels.write_manifest(wheels)
    (wheels / 'a-1.0-py3-none-any.whl').write_bytes(b'a' * 9)
    result = run_acceptance_sh(tmp_path, MMFISHNET_GPU_WHEELS=str(wheels))
    assert result.returncode == 1
    assert 'has 9 bytes, the manifest says 10' in result.stderr
    assert not (tmp_path / 'site').exists()


@pytest.mark.parametrize('wheel_names,message', [
    ((), 'holds 0 mmcv-*.whl files'),
    (('mmcv-2.1.0-cp27-cp27-linux_x86_64.whl', ), 'not built for this Python'),
])
def test_acceptance_sh_checks_the_carried_mmcv_wheel(tmp_path, wheel_names,
                                                     message):
    wheels, mmcv = tmp_path / 'wheels', tmp_path / 'mmcv'
    wheels.mkdir()
    mmcv.mkdir()
    prepare_wheels.write_manifest(wheels)
    for name in wheel_names:
        (mmcv / name).write_bytes(b'x')
    result = run_acceptance_sh(
        tmp_path,
        MMFISHNET_GPU_WHEELS=str(wheels),
        MMFISHNET_MMCV_WHEELS=str(mmcv))
    assert result.returncode == 1
    assert message in result.stdout
    assert not (tmp_path / 'site').exists()
