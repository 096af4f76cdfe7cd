"""Safe loading of local checkpoints, with errors that name the file.

:func:`read_checkpoint` loads a local file without running code from it: it
unpickles weights plus exactly the extra types an mmengine ``Runner`` writes
(its message hub holds numpy values and ``HistoryBuffer`` objects,
:data:`RUNNER_CHECKPOINT_GLOBALS`, under numpy 1.x and 2.x names alike), and
refuses anything else, naming the types. On torch >= 2.6 this is torch's own
weights-only unpickler with those types added; on older torch, a restricted
unpickler with the same allowlist (torch's plus these). Full unpickling is
only done for files you declare trusted: ``MMFISHNET_TRUST_CHECKPOINTS=1`` in
the environment, :func:`trust_checkpoints`, ``--trust-checkpoint`` of
``tools/train.py`` / ``tools/test.py`` or ``--trusted`` of the converter.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, which since
torch 2.6 refuses the checkpoints its own Runner writes (resume, ``load_from``,
testing). :data:`safe_loading` makes mmengine use :func:`read_checkpoint`
for local paths while it is enabled; the ``CheckpointSafetyHook`` of
:mod:`mmfishnet.engine.hooks` enables it for one run.

A file that is not a readable checkpoint (empty, cut short, a JSON, HTML or
tar file under a ``.pth`` name) raises :class:`CheckpointError` saying so.
Remote checkpoints (http://, s3://, ...) keep mmengine's loaders.
"""
import _compat_pickle
import codecs
import collections
import os
import os.path as osp
import pickle
import re
import types
import zipfile
from typing import Dict, List

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmfishnet.utils.compat import (NUMPY_RECONSTRUCT, NUMPY_SCALAR,
                                    TORCH_SAFE_GLOBALS,
                                    torch_weights_only_globals)
from mmfishnet.utils.process_patch import ProcessPatch

TRUST_ENV = 'MMFISHNET_TRUST_CHECKPOINTS'


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot (or may not) be loaded."""


HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


class RefusedGetattr(pickle.UnpicklingError):
    """A checkpoint asked for ``getattr`` of something other than a
    ``HistoryBuffer`` statistic; ``call`` is what it asked for."""

    def __init__(self, call: str):
        super().__init__(f'{call} {_REFUSED_GETATTR_TEXT}')
        self.call = call


_REFUSED_GETATTR_TEXT = 'is not allowed in a checkpoint'


def _refused_getattr_calls(message: str) -> List[str]:
    """The ``getattr(...)`` calls a :class:`RefusedGetattr` message names
    (torch's weights-only unpickler re-raises it as its own error)."""
    return re.findall(r'(getattr\(.*?\)) ' + re.escape(_REFUSED_GETATTR_TEXT),
                      message)


def _history_buffer_statistic(owner, name: str):
    """``getattr`` as mmengine's pickled ``HistoryBuffer`` needs it: the class
    keeps its statistics (``min``, ``max``, ...) as ``getattr(HistoryBuffer,
    name)``. Anything else is refused before any attribute is looked up."""
    if owner is not HistoryBuffer or name not in (
            *HISTORY_BUFFER_STATISTICS, *HistoryBuffer._statistics_methods):
        owner_name = getattr(owner, '__qualname__', type(owner).__qualname__)
        raise RefusedGetattr(f'getattr({owner_name}, {name!r})')
    return getattr(owner, name)


#: Types beyond tensors and builtins that an mmengine Runner checkpoint holds:
#: the message hub's ``HistoryBuffer`` (with its statistics methods) and the
#: numpy arrays, scalars and dtypes inside it, as ``(object, pickled name)``
#: where the name is not the object's own (numpy 1.x pickles
#: ``numpy.core.multiarray``, numpy 2 ``numpy._core.multiarray``).
RUNNER_CHECKPOINT_GLOBALS = [
    HistoryBuffer,
    (_history_buffer_statistic, 'builtins.getattr'),
    np.ndarray,
    np.dtype,
    *NUMPY_RECONSTRUCT,
    *NUMPY_SCALAR,
    *(type(np.dtype(t))
      for t in (np.float64, np.float32, np.int64, np.int32, np.bool_)),
]

#: Python types that torch >= 2.6's weights-only unpickler accepts and older
#: torch's allowlist lacks: protocol 2 pickles bytes (a numpy scalar's raw
#: data) as ``_codecs.encode(str, 'latin1')``, and torch's LR schedulers keep
#: ``Counter`` objects (``MultiStepLR.milestones``).
PLAIN_PYTHON_GLOBALS = {
    '_codecs.encode': codecs.encode,
    'builtins.bytearray': bytearray,
    'builtins.complex': complex,
    'builtins.set': set,
    'collections.Counter': collections.Counter,
}


def _pickled_name(entry) -> str:
    if isinstance(entry, tuple):
        return entry[1]
    return f'{entry.__module__}.{entry.__qualname__}'


def _allowed_by_name() -> Dict[str, object]:
    """``pickled name -> object`` of everything a safe load accepts."""
    allowed = {**PLAIN_PYTHON_GLOBALS, **torch_weights_only_globals()}
    for entry in RUNNER_CHECKPOINT_GLOBALS:
        allowed[_pickled_name(entry)] = (
            entry[0] if isinstance(entry, tuple) else entry)
    return allowed


class _Refused:
    """Stands in for a refused global while the rest of the file is read (so
    that every refused name is found); it never calls anything."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def _restricted_pickle_module(refused: List[str]) -> types.ModuleType:
    """A ``pickle_module`` for ``torch.load`` that only resolves the names
    of :func:`_allowed_by_name`; any other name is recorded in ``refused``
    and replaced by an inert :class:`_Refused`."""
    allowed = _allowed_by_name()

    class RestrictedUnpickler(pickle.Unpickler):

        def find_class(self, module: str, name: str):
            # protocol 2 (torch.save's) writes Python 2 names such as
            # __builtin__.getattr; pickle's own find_class maps them back
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            key = f'{module}.{name}'
            if key in allowed:
                return allowed[key]
            refused.append(key)
            return _Refused

    def load(file, **kwargs):
        return RestrictedUnpickler(file, **kwargs).load()

    module = types.ModuleType('mmfishnet_restricted_pickle')
    module.Unpickler = RestrictedUnpickler
    module.load = load
    return module


def checkpoints_trusted() -> bool:
    """Whether full unpickling was switched on
    (``MMFISHNET_TRUST_CHECKPOINTS``)."""
    return os.environ.get(TRUST_ENV, '').lower() in ('1', 'true', 'yes')


def trust_checkpoints(enabled: bool = True) -> None:
    """Switch full unpickling of local checkpoints on or off, for this process
    and the processes it starts. Unpickling can run code: only for your own
    files."""
    if enabled:
        os.environ[TRUST_ENV] = '1'
    else:
        os.environ.pop(TRUST_ENV, None)


def why_unreadable(filename: str) -> str:
    """'' when ``filename`` looks like a complete PyTorch checkpoint, else what
    it looks like instead (from its first bytes and, for the zip format
    torch >= 1.6 writes, its central directory at the end)."""
    size = osp.getsize(filename)
    with open(filename, 'rb') as f:
        head = f.read(512)
    if size == 0:
        return 'it is empty (0 bytes)'
    if head.startswith(b'PK\x03\x04'):
        try:
            zipfile.ZipFile(filename).close()
        except zipfile.BadZipFile:
            return (f'it is cut short ({size} bytes, the end of its zip '
                    'archive is missing): an interrupted download, copy or '
                    'save')
        return ''
    if head[:1] == b'\x80':  # a pickle: torch's format before 1.6
        return ''
    stripped = head.lstrip()
    if stripped[:1] in (b'{', b'['):
        return 'it is a JSON file, not a PyTorch checkpoint'
    if stripped[:1] == b'<':
        return ('it is an HTML/XML page (a download link that returned a web '
                'page?), not a PyTorch checkpoint')
    if head[257:262] == b'ustar':
        return 'it is a tar archive, not a PyTorch checkpoint: extract it'
    if head.startswith(b'\x1f\x8b'):
        return 'it is gzip-compressed: decompress it first'
    return f'it is not a PyTorch checkpoint (first bytes {head[:8]!r})'


def check_readable(filename: str, role: str = '') -> None:
    """Raise ``FileNotFoundError`` or :class:`CheckpointError` unless
    ``filename`` exists and looks complete (cheap: its first bytes and zip
    directory); ``role`` (e.g. ``'load_from'``) prefixes the message."""
    prefix = f'{role}: ' if role else ''
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'{prefix}checkpoint {filename} does not exist (absolute path: '
            f'{osp.abspath(filename)}). Check the path in the config or on '
            'the command line.')
    problem = why_unreadable(filename)
    if problem:
        raise CheckpointError(
            f'{prefix}{filename} cannot be read as a PyTorch checkpoint: '
            f'{problem}. Download or copy it again, or point to the right '
            'file.')


def _refusal(filename: str, names: List[str]) -> CheckpointError:
    named = f' ({", ".join(sorted(set(names)))})' if names else ''
    return CheckpointError(
        f'{filename} holds objects beyond weights and the types mmengine '
        f'writes{named}, so loading it means full unpickling, which can run '
        f'code. If you trust the file, set {TRUST_ENV}=1 (or pass '
        '--trust-checkpoint to tools/train.py / tools/test.py, --trusted to '
        'the converter).')


def _load_weights_only(filename: str, map_location):
    """torch >= 2.6: torch's weights-only unpickler plus the Runner types."""
    try:
        with torch.serialization.safe_globals(RUNNER_CHECKPOINT_GLOBALS):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if 'Weights only load failed' not in str(e):
            raise
        allowed = {_pickled_name(g) for g in RUNNER_CHECKPOINT_GLOBALS}
        try:
            found = torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
        except Exception:  # legacy format: not listable without loading
            found = []
        refused = [g for g in found if g not in allowed]
        raise _refusal(filename,
                       refused + _refused_getattr_calls(str(e))) from e


def _load_restricted(filename: str, map_location):
    """torch < 2.6: the same allowlist through a restricted unpickler."""
    refused: List[str] = []
    try:
        checkpoint = torch.load(
            filename,
            map_location=map_location,
            weights_only=False,
            pickle_module=_restricted_pickle_module(refused))
    except RefusedGetattr as e:
        raise _refusal(filename, refused + [e.call]) from e
    except Exception as e:
        if refused:
            raise _refusal(filename, refused) from e
        raise
    if refused:
        raise _refusal(filename, refused)
    return checkpoint


def read_checkpoint(filename: str, map_location=None, trusted: bool = None):
    """``torch.load`` of a local file with clear errors.

    Args:
        filename (str): a local checkpoint file.
        map_location: as for ``torch.load``.
        trusted (bool, optional): full unpickling. ``None`` (default): only
            when :func:`checkpoints_trusted`.

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointError: it is empty, cut short or not a checkpoint, or it
            needs full unpickling and is not trusted; the message names the
            file, the refused types and what to do.
    """
    filename = osp.expanduser(str(filename))
    check_readable(filename)
    if trusted is None:
        trusted = checkpoints_trusted()
    try:
        if trusted:
            return torch.load(
                filename, map_location=map_location, weights_only=False)
        if TORCH_SAFE_GLOBALS:
            return _load_weights_only(filename, map_location)
        return _load_restricted(filename, map_location)
    except CheckpointError:
        raise
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f'{filename} is corrupt ({e}). Download or copy it again.') from e
    except (RuntimeError, EOFError) as e:
        raise CheckpointError(
            f'{filename} is cut short or corrupt ({e}). Download or copy it '
            'again.') from e


def load_checkpoint_file(filename: str, map_location=None):
    """A checkpoint from a local path (:func:`read_checkpoint`) or a URL
    (mmengine's loaders for its scheme)."""
    if '://' in str(filename):
        return CheckpointLoader.load_checkpoint(filename, map_location)
    return read_checkpoint(filename, map_location)


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's loader for local paths while :data:`safe_loading` is on."""
    return read_checkpoint(filename, map_location)


def _use_safe_loader():
    previous = CheckpointLoader._schemes.get('')
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    return previous


def _restore_loader(previous) -> None:
    if previous is None:
        CheckpointLoader._schemes.pop('', None)
    else:
        CheckpointLoader._schemes[''] = previous


#: mmengine loads local checkpoints with :func:`load_local_checkpoint` while
#: enabled. Off by default; ``MMFISHNET_SAFE_LOADING=0`` keeps it off.
safe_loading = ProcessPatch(
    'safe checkpoint loading for mmengine',
    _use_safe_loader,
    _restore_loader,
    opt_out_env='MMFISHNET_SAFE_LOADING')
