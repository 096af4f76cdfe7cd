"""Runner checkpoints load safely on every supported torch and numpy, files
written at either end of the range load at the other, and bad files are
refused with the file named."""
import collections
import json
import os
import pickle
import zipfile
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
from toy_runner import make_runner, toy_dataloader

from mmfishnet.checkpoint import (TRUST_ENV, CheckpointError,
                                  load_local_checkpoint, loading,
                                  read_checkpoint, safe_loading,
                                  trust_checkpoints)
from mmfishnet.utils.compat import (TORCH_SAFE_GLOBALS,
                                    torch_load_defaults_to_weights_only)

STACK_CHECKPOINTS = Path(__file__).parents[1] / 'data' / 'checkpoints'
pytestmark = pytest.mark.compat


@pytest.fixture(params=['torch', 'restricted'])
def unpickler(request, monkeypatch):
    """Each test once with torch's weights-only unpickler (torch >= 2.6)
    and once with mmfishnet's restricted one (what older torch gets)."""
    if request.param == 'torch' and not TORCH_SAFE_GLOBALS:
        pytest.skip(f'torch {torch.__version__} has no safe_globals')
    monkeypatch.setattr(loading, 'TORCH_SAFE_GLOBALS',
                        request.param == 'torch')
    return request.param


@pytest.fixture
def mmengine_loads_safely():
    with safe_loading.scope():
        yield


def test_safe_loading_is_scoped_and_restores_mmengine_loader():
    own = CheckpointLoader._schemes['']
    assert own is not load_local_checkpoint
    with safe_loading.scope():
        with safe_loading.scope():  # nested: still on
            assert CheckpointLoader._schemes[''] is load_local_checkpoint
        assert CheckpointLoader._schemes[''] is load_local_checkpoint
    assert CheckpointLoader._schemes[''] is own


def test_safe_loading_opt_out(monkeypatch):
    monkeypatch.setenv('MMFISHNET_SAFE_LOADING', '0')
    with safe_loading.scope() as enabled:
        assert not enabled
        assert CheckpointLoader._schemes[''] is not load_local_checkpoint


def test_missing_file_is_a_clear_error(tmp_path, mmengine_loads_safely):
    with pytest.raises(FileNotFoundError, match='absent.pth does not exist'):
        _load_checkpoint(str(tmp_path / 'absent.pth'))


class RunsCode:
    """What a malicious checkpoint holds: unpickling it calls os.system."""

    def __reduce__(self):
        return (os.system, ('echo unpickling ran code', ))


@pytest.fixture
def untrusted():
    before = os.environ.pop(TRUST_ENV, None)
    yield
    trust_checkpoints(False)
    if before is not None:
        os.environ[TRUST_ENV] = before


class Marker(Exception):
    """Raised if unpickling ever calls the refused function."""


def raise_marker(*args):
    raise Marker(args)


class CallsRaiseMarker:

    def __reduce__(self):
        return (raise_marker, ('called', ))


def test_a_pickle_that_runs_code_is_refused(tmp_path, untrusted, unpickler,
                                            mmengine_loads_safely):
    path = tmp_path / 'evil.pth'
    torch.save(
        {
            'state_dict': {},
            'payload': RunsCode(),
            'more': CallsRaiseMarker()
        }, path)
    with pytest.raises(CheckpointError) as error:
        _load_checkpoint(str(path))
    message = str(error.value)
    assert str(path) in message and 'posix.system' in message
    # every refused type is named, none of them was called
    assert f'{__name__}.raise_marker' in message
    assert not isinstance(error.value.__cause__, Marker)
    assert TRUST_ENV in message and '--trust-checkpoint' in message


def test_the_trust_switch_allows_full_unpickling(tmp_path, untrusted,
                                                 unpickler):
    path = tmp_path / 'own.pth'
    torch.save({'state_dict': {}, 'extra': Fraction(1, 3)}, path)
    with pytest.raises(CheckpointError, match='fractions.Fraction'):
        read_checkpoint(str(path))
    trust_checkpoints()
    assert read_checkpoint(str(path))['extra'] == Fraction(1, 3)


class GetattrOf:
    """Unpickles as ``getattr(owner, name)``: how a crafted checkpoint
    reaches attributes of an allowed type (a Runner's checkpoint does this
    for ``HistoryBuffer`` statistics only)."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


@pytest.mark.parametrize('owner, name, shown', [
    (collections.OrderedDict, 'fromkeys', "getattr(OrderedDict, 'fromkeys')"),
    (HistoryBuffer, '__init__', "getattr(HistoryBuffer, '__init__')"),
    (HistoryBuffer, '__dict__', "getattr(HistoryBuffer, '__dict__')"),
])
def test_getattr_on_anything_but_history_buffer_statistics_is_refused(
        tmp_path, untrusted, unpickler, monkeypatch, owner, name, shown):
    path = tmp_path / 'getattr.pth'
    torch.save({'state_dict': {}, 'payload': GetattrOf(owner, name)}, path)
    looked_up = []

    def spy_getattr(obj, attr, *default):
        looked_up.append(attr)
        return getattr(obj, attr, *default)

    # the allowlist's getattr resolves through this module-level name
    monkeypatch.setattr(loading, 'getattr', spy_getattr, raising=False)
    with pytest.raises(CheckpointError) as error:
        read_checkpoint(str(path))
    message = str(error.value)
    # the refusal, on both unpicklers and every torch: not "corrupt"
    assert str(path) in message and shown in message
    assert 'holds objects beyond weights' in message
    assert TRUST_ENV in message and 'corrupt' not in message
    assert name not in looked_up  # refused before any lookup
    # the statistics a Runner pickles still resolve, through the same name
    path = tmp_path / 'statistic.pth'
    torch.save({'mean': GetattrOf(HistoryBuffer, 'mean')}, path)
    assert read_checkpoint(str(path))['mean'] is HistoryBuffer.mean
    assert 'mean' in looked_up


@pytest.mark.parametrize('kind, content, expected', [
    ('empty', b'', 'empty'),
    ('json', json.dumps({
        'state_dict': {}
    }).encode(), 'JSON file'),
    ('html', b'<!DOCTYPE html><html>quota exceeded</html>', 'HTML'),
    ('text', b'not a checkpoint', 'not a PyTorch checkpoint'),
])
def test_files_that_are_no_checkpoint_are_named(tmp_path, kind, content,
                                                expected,
                                                mmengine_loads_safely):
    path = tmp_path / f'{kind}.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=expected) as error:
        _load_checkpoint(str(path))
    assert str(path) in str(error.value)


@pytest.mark.parametrize('zip_format', [True, False])
def test_a_truncated_checkpoint_is_named(tmp_path, zip_format, unpickler,
                                         mmengine_loads_safely):
    path = tmp_path / 'cut.pth'
    torch.save({'w': torch.ones(10000)},
               path,
               _use_new_zipfile_serialization=zip_format)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='cut short') as error:
        _load_checkpoint(str(path))
    assert str(path) in str(error.value)


SAFETY_HOOK = [dict(type='CheckpointSafetyHook')]


def resume_for_one_iteration(work_dir, checkpoint):
    """Resume the toy run from ``checkpoint`` (saved at iteration 2) and
    train to iteration 3; returns the Runner."""
    runner = make_runner(
        work_dir,
        'resumed',
        max_iters=3,
        resume=True,
        load_from=str(checkpoint),
        custom_hooks=SAFETY_HOOK)
    runner.train()
    return runner


def test_runner_checkpoint_resumes_and_loads(tmp_path, unpickler):
    runner = make_runner(
        tmp_path, 'first', max_iters=2, custom_hooks=SAFETY_HOOK)
    runner.train()
    ckpt = tmp_path / 'iter_2.pth'
    if torch_load_defaults_to_weights_only():
        # torch's own default refuses the message hub that mmengine
        # pickles; the allowlist takes it without full unpickling
        with pytest.raises(pickle.UnpicklingError):
            torch.load(ckpt)
    assert read_checkpoint(str(ckpt), trusted=False)['meta']['iter'] == 2

    assert resume_for_one_iteration(tmp_path, ckpt).iter == 3
    saved = read_checkpoint(str(ckpt))
    assert saved['meta']['iter'] == 2
    assert 'message_hub' in saved and 'optimizer' in saved

    tested = make_runner(
        tmp_path,
        'tested',
        max_iters=2,
        load_from=str(ckpt),
        custom_hooks=SAFETY_HOOK,
        test_dataloader=toy_dataloader(),
        test_cfg=dict(),
        test_evaluator=dict(type='ToyMeanOutput'))
    assert 'mean_output' in tested.test()
    torch.testing.assert_close(tested.model.linear.weight,
                               saved['state_dict']['linear.weight'])
    # the hook's changes end with the run
    assert CheckpointLoader._schemes[''] is not load_local_checkpoint


def _pickle_bytes(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith('data.pkl'))
        return archive.read(name)


@pytest.mark.parametrize('numpy_major, core', [('1', b'numpy.core'),
                                               ('2', b'numpy._core')])
def test_checkpoints_from_both_ends_of_the_range_load(tmp_path, unpickler,
                                                      numpy_major, core):
    """Real Runner checkpoints written by torch 2.1 + numpy 1.26 and by
    torch 2.14 + numpy 2 (tests/data/checkpoints, made by toy_runner.py)
    load without trust and resume training, here."""
    found = sorted(
        STACK_CHECKPOINTS.glob(f'runner_torch*_numpy{numpy_major}.*'))
    assert found, f'no numpy {numpy_major} checkpoint in {STACK_CHECKPOINTS}'
    path = found[0]
    # the file names numpy's module as that numpy pickles it
    assert core + b'.multiarray' in _pickle_bytes(path)
    checkpoint = read_checkpoint(str(path), trusted=False)
    assert checkpoint['meta']['iter'] == 2
    assert 'message_hub' in checkpoint

    assert resume_for_one_iteration(tmp_path, path).iter == 3
