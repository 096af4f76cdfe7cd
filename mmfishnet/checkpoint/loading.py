"""Safe loading of local checkpoints, with errors that name the file.

torch 2.6 made ``torch.load`` default to ``weights_only=True``; mmengine
0.10.7 calls it without the argument, so the checkpoints a ``Runner`` writes
(its message hub holds numpy values and ``HistoryBuffer`` objects) no longer
load for resume, ``load_from`` or testing. ``import mmfishnet`` registers
:func:`load_local_checkpoint` for local paths (mmengine's scheme ``''``): it
keeps ``weights_only=True`` and allows exactly the extra types mmengine
writes (:data:`RUNNER_CHECKPOINT_GLOBALS`), so a file that would run code
while unpickling is refused. Full unpickling is only done for files you
declare trusted: ``MMFISHNET_TRUST_CHECKPOINTS=1`` in the environment,
:func:`trust_checkpoints`, ``--trust-checkpoint`` of ``tools/train.py`` /
``tools/test.py`` or ``--trusted`` of the converter.

A file that is not a readable checkpoint (empty, cut short, a JSON, HTML or
tar file under a ``.pth`` name) raises :class:`CheckpointError` saying so.
Remote checkpoints (http://, s3://, ...) keep mmengine's loaders.
"""
import os
import os.path as osp
import pickle
import zipfile
from typing import List

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

TRUST_ENV = 'MMFISHNET_TRUST_CHECKPOINTS'


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot (or may not) be loaded."""


HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_statistic(owner, name: str):
    """``getattr`` as mmengine's pickled ``HistoryBuffer`` needs it: the class
    keeps its statistics (``min``, ``max``, ...) as ``getattr(HistoryBuffer,
    name)``. Anything else is refused."""
    if owner is not HistoryBuffer or name not in (
            *HISTORY_BUFFER_STATISTICS, *HistoryBuffer._statistics_methods):
        raise pickle.UnpicklingError(
            f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint')
    return getattr(owner, name)


#: Types beyond tensors and builtins that an mmengine Runner checkpoint holds:
#: the message hub's ``HistoryBuffer`` (with its statistics methods) and the
#: numpy arrays, scalars and dtypes inside it.
RUNNER_CHECKPOINT_GLOBALS = [
    HistoryBuffer,
    (_history_buffer_statistic, 'builtins.getattr'),
    np.ndarray,
    np.dtype,
    (np._core.multiarray._reconstruct, 'numpy._core.multiarray._reconstruct'),
    (np._core.multiarray.scalar, 'numpy._core.multiarray.scalar'),
    *(type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32,
                                  np.bool_)),
]


def checkpoints_trusted() -> bool:
    """Whether full unpickling was switched on (``MMFISHNET_TRUST_CHECKPOINTS``)."""
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


def _unsafe_globals(filename: str) -> List[str]:
    try:
        return torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # legacy format: torch cannot list them without loading
        return []


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
            file and what to do.
    """
    filename = osp.expanduser(str(filename))
    check_readable(filename)
    if trusted is None:
        trusted = checkpoints_trusted()
    try:
        if trusted:
            return torch.load(filename, map_location=map_location,
                              weights_only=False)
        with torch.serialization.safe_globals(RUNNER_CHECKPOINT_GLOBALS):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as e:
        if 'Weights only load failed' not in str(e):
            raise CheckpointError(
                f'{filename} is corrupt ({e}). Download or copy it again.'
            ) from e
        allowed = {
            g[1] if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
            for g in RUNNER_CHECKPOINT_GLOBALS
        }
        extra = [g for g in _unsafe_globals(filename) if g not in allowed]
        named = f' ({", ".join(extra)})' if extra else ''
        raise CheckpointError(
            f'{filename} holds objects beyond weights and the types mmengine '
            f'writes{named}, so loading it means full unpickling, which can '
            f'run code. If you trust the file, set {TRUST_ENV}=1 (or pass '
            '--trust-checkpoint to tools/train.py / tools/test.py, --trusted '
            'to the converter).') from e
    except (RuntimeError, EOFError) as e:
        raise CheckpointError(
            f'{filename} is cut short or corrupt ({e}). Download or copy it '
            'again.') from e


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's loader for local paths: :func:`read_checkpoint`."""
    return read_checkpoint(filename, map_location)


def install_checkpoint_loader() -> None:
    """Make mmengine load local checkpoints with :func:`load_local_checkpoint`."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
