"""tools/build_mmcv.sh with a stand-in Python whose ``pip wheel`` writes a
wheel at once: where the wheel ends up for each way the setup scripts call
it, and the folders it refuses."""
import os
import subprocess
import sys
import tarfile

import pytest
from conftest import REPO

SCRIPT = str(REPO / 'tools' / 'build_mmcv.sh')
WHEEL = 'mmcv-2.1.0-cp312-cp312-linux_x86_64.whl'


@pytest.fixture
def shim(tmp_path):
    """A fake mmcv sdist and a Python stand-in: ``python -m pip wheel ...
    -w DIR SRC`` writes DIR/<WHEEL> (after checking SRC's setup.py got the
    C++ standard), anything else fails."""
    src = tmp_path / 'src' / 'mmcv-2.1.0'
    src.mkdir(parents=True)
    (src / 'setup.py').write_text("extra_compile_args = ['-std=c++17']\n")
    sdist = tmp_path / 'mmcv-2.1.0.tar.gz'
    with tarfile.open(sdist, 'w:gz') as tar:
        tar.add(src, arcname='mmcv-2.1.0')
    python = tmp_path / 'python'
    python.write_text(f"""#!/usr/bin/env bash
set -e
if [[ $1 == -m && $2 == pip && $3 == wheel ]]; then
  while [[ $1 != -w ]]; do shift; done
  grep -q -- -std=c++20 "$3/setup.py"
  mkdir -p "$2" && echo wheel > "$2/{WHEEL}"
  exit 0
fi
exit 3
""")
    python.chmod(0o755)
    return python, sdist


def build(python, wheel_dir, sdist, **env):
    return subprocess.run(
        ['bash', SCRIPT,
         str(python), str(wheel_dir),
         str(sdist)],
        capture_output=True,
        text=True,
        env=dict(os.environ, CXX_STD='c++20', **env))


@pytest.mark.parametrize('layout', ['default', 'setup_env', 'acceptance'])
def test_the_wheel_is_kept_and_the_build_folder_removed(
        shim, tmp_path, layout):
    python, sdist = shim
    wheel_dir = tmp_path / 'wheels' / 'torch2.11.0-py312'
    env = {}
    if layout == 'setup_env':
        env['MMCV_BUILD_DIR'] = str(tmp_path / 'cache' / 'build')
    elif layout == 'acceptance':  # tools/gpu/acceptance.sh's folders
        wheel_dir = tmp_path / 'site-mmcv-wheel'
        env['MMCV_BUILD_DIR'] = str(tmp_path / 'site-mmcv-build')
    result = build(python, wheel_dir, sdist, **env)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()[-1]
    assert printed == str(wheel_dir / WHEEL)
    assert (wheel_dir / WHEEL).read_text() == 'wheel\n'
    assert os.listdir(wheel_dir) == [WHEEL]
    build_root = env.get('MMCV_BUILD_DIR',
                         str(wheel_dir.parent / '.mmcv-build'))
    assert not (tmp_path / build_root / wheel_dir.name).exists()


@pytest.mark.parametrize('wheels', ['wheels', 'wheels/wheels'])
def test_a_build_folder_that_is_or_holds_the_wheel_folder_is_refused(
        shim, tmp_path, wheels):
    """MMCV_BUILD_DIR/<name of WHEEL_DIR> equal to WHEEL_DIR (what
    acceptance.sh once asked for) or above it would be removed with the
    wheel in it."""
    python, sdist = shim
    wheel_dir = tmp_path / wheels
    wheel_dir.mkdir(parents=True)
    (wheel_dir / 'kept.whl').write_text('older wheel')
    result = build(python, wheel_dir, sdist, MMCV_BUILD_DIR=str(tmp_path))
    assert result.returncode == 2
    assert 'is or holds the wheel folder' in result.stderr
    assert (wheel_dir / 'kept.whl').read_text() == 'older wheel'


def test_a_missing_sdist_is_named(tmp_path):
    usage = subprocess.run(['bash', SCRIPT], capture_output=True, text=True)
    assert usage.returncode == 2 and 'usage' in usage.stderr
    missing = tmp_path / 'mmcv-2.1.0.tar.gz'
    result = build(sys.executable, tmp_path / 'wheels', missing)
    assert result.returncode == 1
    assert f'{missing} does not exist' in result.stderr
