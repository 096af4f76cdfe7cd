"""Feature detection across torch 2.1-2.14 and numpy 1.26-2.x."""
import pickle

import numpy as np
import pytest
import torch

from mmfishnet.utils import compat

pytestmark = pytest.mark.compat


def test_cpu_bf16_detection_agrees_with_the_cpu_flags():
    flags = compat._cpu_flags()
    if not flags:
        pytest.skip('no /proc/cpuinfo flags on this system')
    native = bool(flags & {'avx512_bf16', 'amx_bf16'})
    assert compat.cpu_has_native_bf16() == native


def test_cuda_autocast_dtype_round_trip():
    previous = compat.get_cuda_autocast_dtype()
    compat.set_cuda_autocast_dtype(torch.bfloat16)
    try:
        assert compat.get_cuda_autocast_dtype() == torch.bfloat16
        with torch.autocast('cuda', enabled=False):
            assert compat.get_cuda_autocast_dtype() == torch.bfloat16
    finally:
        compat.set_cuda_autocast_dtype(previous)
    assert compat.get_cuda_autocast_dtype() == previous


def test_cpu_autocast_dtype_only_inside_a_cpu_autocast():
    assert compat.cpu_autocast_dtype() is None
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert compat.cpu_autocast_dtype() == torch.bfloat16
        with torch.autocast('cpu', enabled=False):
            assert compat.cpu_autocast_dtype() is None
    assert compat.cpu_autocast_dtype() is None


def test_grad_scaler_where_torch_has_one():
    if hasattr(torch.amp, 'GradScaler'):  # torch >= 2.3: any device
        assert compat.grad_scaler('cpu', init_scale=128.0).get_scale() == 128
    else:
        with pytest.raises(ValueError, match='CUDA only'):
            compat.grad_scaler('cpu')
    assert type(compat.grad_scaler('cuda',
                                   enabled=False)).__name__ == ('GradScaler')


@pytest.mark.parametrize('value, attr', [(np.arange(3.0), '_reconstruct'),
                                         (np.float64(2.5), 'scalar')])
def test_numpy_pickle_names_cover_both_numpy_majors(value, attr):
    pairs = dict((name, function)
                 for function, name in compat.numpy_pickle_names(value, attr))
    assert set(pairs) == {
        f'numpy.core.multiarray.{attr}', f'numpy._core.multiarray.{attr}'
    }
    # this numpy pickles one of the two names, and it is the function given
    data = pickle.dumps(value, protocol=2)
    written = [n for n in pairs if n.rsplit('.', 1)[0].encode() in data]
    assert len(written) == 1
    assert pairs[written[0]] is value.__reduce__()[0]


def test_torch_weights_only_globals_has_tensor_rebuilding():
    allowed = compat.torch_weights_only_globals()
    assert 'torch._utils._rebuild_tensor_v2' in allowed
    assert 'collections.OrderedDict' in allowed


def test_is_exporting_only_while_a_graph_is_captured():
    seen = []

    def record(x):
        seen.append(compat.is_exporting())
        return x + 1

    record(torch.zeros(1))
    torch.jit.trace(record, torch.zeros(1), check_trace=False)
    assert seen == [False, True]
    if hasattr(torch.compiler, 'is_exporting'):

        class Record(torch.nn.Module):

            def forward(self, x):
                return record(x)

        torch.export.export(Record(), (torch.zeros(2), ))
        assert seen[-1] is True
