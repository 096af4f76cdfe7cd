"""The supported range: one clear error outside it."""
import warnings

import pytest

from mmfishnet.utils import stack
from mmfishnet.utils.stack import (Supported, UnsupportedStackError,
                                   check_supported_stack)

pytestmark = pytest.mark.compat


def test_this_stack_is_supported():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        check_supported_stack()


@pytest.mark.parametrize('found, ok', [('2.0.1', False), ('2.1.2+cu121', True),
                                       ('2.14.1', True), ('2.2.0', True)])
def test_torch_floor(monkeypatch, found, ok):
    monkeypatch.setattr(stack, 'installed_version', lambda name: found)
    ranges = {'torch': Supported('2.1', '2.15', newer_ok=True)}
    if ok:
        check_supported_stack(ranges)
        return
    with pytest.raises(UnsupportedStackError) as error:
        check_supported_stack(ranges)
    message = str(error.value)
    assert 'torch 2.0.1 is installed' in message
    assert 'torch >=2.1,<2.15' in message


def test_newer_torch_warns_newer_mmcv_fails(monkeypatch):
    monkeypatch.setattr(stack, 'installed_version', lambda name: '3.0.0')
    with pytest.warns(UserWarning, match='torch 3.0.0 is newer'):
        check_supported_stack(
            {'torch': Supported('2.1', '2.15', newer_ok=True)})
    with pytest.raises(UnsupportedStackError, match='mmcv 3.0.0 is installed'):
        check_supported_stack({'mmcv': Supported('2.1.0', '2.2.0')})


def test_missing_required_and_optional_packages(monkeypatch):
    monkeypatch.setattr(stack, 'installed_version', lambda name: None)
    check_supported_stack({'mmdet': Supported('3.3.0', '3.4', required=False)})
    with pytest.raises(UnsupportedStackError, match='mmcv .* not installed'):
        check_supported_stack({'mmcv': Supported('2.1.0', '2.2.0')})
