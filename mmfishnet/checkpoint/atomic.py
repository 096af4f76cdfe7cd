"""Crash-safe checkpoint files: complete or absent, never half-written.

mmengine writes a checkpoint by handing its bytes to the file backend of the
path (``LocalBackend.put`` for local paths), which opens the final name and
writes into it: a process killed meanwhile leaves a truncated ``epoch_N.pth``
that resume then trips over. While :data:`atomic_saving` is enabled (the
``CheckpointSafetyHook`` of :mod:`mmfishnet.engine.hooks` enables it for one
run), :class:`AtomicLocalBackend` is mmengine's ``local`` backend: every
``put`` / ``put_text`` writes a hidden temporary file in the same folder,
flushes it to disk and renames it over the final name (``os.replace`` is
atomic on POSIX and Windows), so a reader sees the old file, the new one, or
none. mmengine's hooks and file names stay as they are.

:func:`newest_complete_checkpoint` is what ``tools/train.py --resume`` uses:
mmengine's ``last_checkpoint`` pointer when it names a complete file, else the
newest complete ``*.pth`` of the folder.
"""
import glob
import os
import os.path as osp
from typing import List, Optional, Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio.backends import registry_utils

from mmfishnet.utils.process_patch import ProcessPatch
from .loading import why_unreadable

TMP_SUFFIX = '.part'


def _temporary_name(filepath: str) -> str:
    folder, name = osp.split(filepath)
    return osp.join(folder, f'.{name}.{os.getpid()}{TMP_SUFFIX}')


def write_atomically(data: Union[bytes, str],
                     filepath: str,
                     encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``filepath`` through a temporary file and a rename."""
    filepath = str(filepath)
    os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
    tmp = _temporary_name(filepath)
    try:
        with open(tmp, 'wb') as f:
            f.write(data.encode(encoding) if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose writes are atomic."""

    def put(self, obj: bytes, filepath) -> None:
        write_atomically(obj, filepath)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        write_atomically(obj, filepath, encoding)


def _use_atomic_backend():
    previous = (registry_utils.backends.get('local'),
                registry_utils.prefix_to_backends.get(''))
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    return previous


def _restore_backend(previous) -> None:
    registries = (registry_utils.backends, registry_utils.prefix_to_backends)
    for registry, key, backend in zip(registries, ('local', ''), previous):
        if backend is None:
            registry.pop(key, None)
        else:
            registry[key] = backend


#: :class:`AtomicLocalBackend` is mmengine's backend for local paths while
#: enabled. Off by default; ``MMFISHNET_ATOMIC_SAVING=0`` keeps it off.
atomic_saving = ProcessPatch(
    'atomic checkpoint saving for mmengine',
    _use_atomic_backend,
    _restore_backend,
    opt_out_env='MMFISHNET_ATOMIC_SAVING')


def remove_partial_files(work_dir: str) -> List[str]:
    """Delete the temporary files that killed saves left in ``work_dir``
    (hidden ``.NAME.PID.part`` files; never a checkpoint) and return them.
    Call it when no other process is saving there, e.g. before resuming."""
    partial = glob.glob(osp.join(work_dir, f'.*{TMP_SUFFIX}'))
    for path in partial:
        os.remove(path)
    return partial


def newest_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume from in ``work_dir``: the one mmengine's
    ``last_checkpoint`` names when it is complete, else the most recently
    written complete ``*.pth`` (``None`` if there is none). Incomplete files
    (from runs before this safety net, or copied in) are skipped."""
    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named:
            candidates.append(
                named if osp.isabs(named) or osp.exists(named) else osp.
                join(work_dir, osp.basename(named)))
    candidates += sorted(
        glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime, reverse=True)
    for path in candidates:
        if osp.isfile(path) and not why_unreadable(path):
            return path
    return None
