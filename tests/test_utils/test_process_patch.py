"""Reversible, nestable process-wide changes with an opt-out."""
import pytest

from mmfishnet.utils import ProcessPatch

pytestmark = pytest.mark.compat


def make(log):
    state = {'value': 'original'}

    def apply():
        log.append('apply')
        previous, state['value'] = state['value'], 'patched'
        return previous

    def revert(previous):
        log.append('revert')
        state['value'] = previous

    return state, ProcessPatch(
        'test patch', apply, revert, opt_out_env='MMFISHNET_TEST_PATCH')


def test_nested_scopes_apply_once_and_restore_once():
    log = []
    state, patch = make(log)
    with patch.scope():
        with patch.scope():
            assert state['value'] == 'patched' and patch.active
        assert state['value'] == 'patched'
    assert state['value'] == 'original' and not patch.active
    assert log == ['apply', 'revert']
    patch.disable()  # unbalanced: no effect
    assert log == ['apply', 'revert']


def test_restored_after_an_exception():
    state, patch = make([])
    with pytest.raises(KeyError):
        with patch.scope():
            raise KeyError('boom')
    assert state['value'] == 'original'


def test_opt_out_keeps_it_off(monkeypatch):
    log = []
    state, patch = make(log)
    monkeypatch.setenv('MMFISHNET_TEST_PATCH', '0')
    with patch.scope() as enabled:
        assert not enabled and state['value'] == 'original'
    assert log == []


def test_reset_undoes_every_open_enable():
    log = []
    state, patch = make(log)
    patch.enable()
    patch.enable()  # e.g. two runs that raised before their after_run
    patch.reset()
    assert state['value'] == 'original' and not patch.active
    assert log == ['apply', 'revert']
