"""What differs between the supported torch and numpy releases, found by
looking for the feature rather than by comparing version strings.

mmfishnet runs on torch 2.1-2.14 and numpy 1.26-2.x. The helpers here give
the newer API where it exists and its older equivalent where not:

=================================== ================== =====================
feature                             newer torch/numpy  older fallback
=================================== ================== =====================
native bf16 on this CPU             ``torch.cpu``      the CPU's flags
                                    probes (2.5)       (``/proc/cpuinfo``)
bf16 on this GPU without emulation  ``including_       ``is_bf16_supported()``
                                    emulation`` (2.4)  (native only then)
default CUDA autocast dtype         ``torch.get/set_   ``torch.get/set_
                                    autocast_dtype``   autocast_gpu_dtype``
                                    (2.4)
CPU autocast in force, and its      ``torch.is_auto-   ``torch.is_autocast_
dtype                               cast_enabled``,    cpu_enabled``,
                                    ``get_autocast_    ``get_autocast_cpu_
                                    dtype`` (2.4)      dtype``
loss scaler                         ``torch.amp.Grad   ``torch.cuda.amp.
                                    Scaler`` (2.3)     GradScaler``
safe unpickling with extra types    ``safe_globals``   mmfishnet's restricted
                                    + unsafe-globals   unpickler (see
                                    listing (2.6)      :mod:`mmfishnet.
                                                       checkpoint.loading`)
numpy's core module in pickles      ``numpy._core``    ``numpy.core``
graph capture for export            ``torch.compiler.  ``torch.jit.is_
                                    is_exporting``     tracing()`` (the
                                    (2.5)              TorchScript exporter)
=================================== ================== =====================
"""
import functools
import inspect
import io
import pickle
from typing import Optional

import numpy as np
import torch


@functools.lru_cache(maxsize=None)
def _cpu_flags() -> frozenset:
    """The feature flags of this CPU (Linux; empty elsewhere)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return frozenset(line.split(':', 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bf16() -> bool:
    """True if this CPU computes bf16 natively (AVX512-BF16 or AMX tiles),
    which is what makes CPU autocast faster than fp32."""
    probes = [
        getattr(torch.cpu, name, None)
        for name in ('_is_avx512_bf16_supported', '_is_amx_tile_supported')
    ]
    if any(probe is not None for probe in probes):
        return any(bool(probe()) for probe in probes if probe is not None)
    return bool(_cpu_flags() & {'avx512_bf16', 'amx_bf16'})


def cuda_has_native_bf16() -> bool:
    """True if the current GPU computes bf16 natively (not emulated)."""
    check = torch.cuda.is_bf16_supported
    if 'including_emulation' in inspect.signature(check).parameters:
        return check(including_emulation=False)
    return check()  # before torch 2.4: native support only


def is_exporting() -> bool:
    """True while ``torch.export`` (and so ``torch.onnx.export(...,
    dynamo=True)``) or the TorchScript tracer captures a graph: shape-
    dependent Python branches must then become graph operations."""
    exporting = getattr(torch.compiler, 'is_exporting', None)
    return bool((exporting is not None and exporting())
                or torch.jit.is_tracing())


def get_cuda_autocast_dtype() -> torch.dtype:
    """The dtype ``torch.autocast('cuda')`` uses when given none."""
    if hasattr(torch, 'get_autocast_dtype'):
        return torch.get_autocast_dtype('cuda')
    return torch.get_autocast_gpu_dtype()


def cpu_autocast_dtype() -> Optional[torch.dtype]:
    """The dtype of the CPU autocast in force here, or None outside one."""
    if hasattr(torch, 'get_autocast_dtype'):
        if not torch.is_autocast_enabled('cpu'):
            return None
        return torch.get_autocast_dtype('cpu')
    if not torch.is_autocast_cpu_enabled():
        return None
    return torch.get_autocast_cpu_dtype()


def set_cuda_autocast_dtype(dtype: torch.dtype) -> None:
    """Set the dtype ``torch.autocast('cuda')`` uses when given none."""
    if hasattr(torch, 'set_autocast_dtype'):
        torch.set_autocast_dtype('cuda', dtype)
    else:
        torch.set_autocast_gpu_dtype(dtype)


def grad_scaler(device_type: str, **kwargs):
    """A loss scaler for fp16 training on ``device_type``."""
    if hasattr(torch.amp, 'GradScaler'):
        return torch.amp.GradScaler(device_type, **kwargs)
    if device_type != 'cuda':
        raise ValueError(f'torch {torch.__version__} has loss scaling for '
                         f'CUDA only, not {device_type!r}')
    return torch.cuda.amp.GradScaler(**kwargs)


#: torch >= 2.6: ``torch.serialization.safe_globals`` takes ``(object,
#: name)`` entries and ``get_unsafe_globals_in_checkpoint`` names what a
#: file would need, so its own weights-only unpickler can be used.
TORCH_SAFE_GLOBALS = hasattr(torch.serialization,
                             'get_unsafe_globals_in_checkpoint')


def torch_weights_only_globals() -> dict:
    """``'module.name' -> object`` of everything torch's own weights-only
    unpickler accepts (tensors, storages, dtypes, ``OrderedDict``, ...)."""
    from torch import _weights_only_unpickler
    return dict(_weights_only_unpickler._get_allowed_globals())


class _Probe:
    pass


@functools.lru_cache(maxsize=None)
def torch_load_defaults_to_weights_only() -> bool:
    """Whether a plain ``torch.load(file)`` refuses arbitrary objects (the
    default since torch 2.6, unless ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``)."""
    buffer = io.BytesIO()
    torch.save({'probe': _Probe()}, buffer)
    buffer.seek(0)
    try:
        torch.load(buffer)
    except pickle.UnpicklingError:
        return True
    return False


def numpy_pickle_names(obj, attr: str) -> list:
    """``(function, name)`` pairs for a numpy function that pickles refer to
    as ``numpy.core.multiarray.<attr>`` (numpy 1.x) or
    ``numpy._core.multiarray.<attr>`` (numpy 2): the function is taken from
    what ``obj.__reduce__`` gives, so it exists on both."""
    function = obj.__reduce__()[0]
    assert function.__name__ == attr, (function, attr)
    return [(function, f'numpy.{core}.multiarray.{attr}')
            for core in ('core', '_core')]


NUMPY_RECONSTRUCT = numpy_pickle_names(np.ndarray(0), '_reconstruct')
NUMPY_SCALAR = numpy_pickle_names(np.float64(0), 'scalar')

__all__ = [
    'cpu_has_native_bf16', 'cuda_has_native_bf16', 'get_cuda_autocast_dtype',
    'set_cuda_autocast_dtype', 'grad_scaler', 'TORCH_SAFE_GLOBALS',
    'torch_weights_only_globals', 'torch_load_defaults_to_weights_only',
    'NUMPY_RECONSTRUCT', 'NUMPY_SCALAR'
]
