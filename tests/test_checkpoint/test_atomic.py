"""Checkpoint files are complete or absent, whenever the writer is killed."""
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path

import kill_target
import pytest
import torch
from mmengine.fileio import get_file_backend

from mmfishnet.checkpoint import (AtomicLocalBackend, atomic_saving,
                                  newest_complete_checkpoint, read_checkpoint,
                                  remove_partial_files, why_unreadable,
                                  write_atomically)

# The closing run of this test used more: MMFISHNET_TEST_KILL_POINTS=40
KILL_POINTS = int(os.environ.get('MMFISHNET_TEST_KILL_POINTS', 8))


def test_local_paths_get_the_atomic_backend_while_enabled(tmp_path):
    path = str(tmp_path / 'x.pth')
    own = type(get_file_backend(path))
    assert own is not AtomicLocalBackend
    with atomic_saving.scope():
        assert isinstance(get_file_backend(path), AtomicLocalBackend)
    assert type(get_file_backend(path)) is own


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    write_atomically(b'old', target)
    with pytest.raises(TypeError):  # fails after the temporary was opened
        write_atomically(object(), target)
    assert target.read_bytes() == b'old'
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_1.pth']


def test_resume_skips_incomplete_files_and_a_broken_pointer(tmp_path):
    torch.save({'meta': {'iter': 1}}, tmp_path / 'iter_1.pth')
    time.sleep(0.01)
    torch.save({'meta': {'iter': 2}}, tmp_path / 'iter_2.pth')
    data = (tmp_path / 'iter_2.pth').read_bytes()
    time.sleep(0.01)
    # a file cut short by a save without the safety net, pointed at
    (tmp_path / 'iter_3.pth').write_bytes(data[:len(data) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_3.pth'))
    assert newest_complete_checkpoint(str(tmp_path)) == str(tmp_path /
                                                            'iter_2.pth')
    (tmp_path / 'last_checkpoint').write_text('')  # killed while writing it
    assert newest_complete_checkpoint(str(tmp_path)) == str(tmp_path /
                                                            'iter_2.pth')
    assert newest_complete_checkpoint(str(tmp_path / 'none')) is None


# Children come from a forkserver that imported what kill_target needs once,
# before any thread pool existed: about as fast to start as a fork of this
# process, without forking a process that already runs threads. (The server
# runs with the interpreter's default sys.path, where kill_target itself is
# not found; what it imports is.)
FORKSERVER = multiprocessing.get_context('forkserver')
FORKSERVER.set_forkserver_preload(
    ['torch', 'mmengine.runner', 'mmfishnet.checkpoint'])


def _run_target(work_dir, max_iters, log):
    """The child: ``kill_target.main`` with its stdout line-buffered into
    ``log`` and its stderr discarded."""
    os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    sys.stdout = os.fdopen(1, 'w', buffering=1)
    sys.stderr = open(os.devnull, 'w')
    torch.set_num_threads(1)
    kill_target.main(work_dir, max_iters)


class Target:
    """``kill_target.main(work_dir, max_iters)`` in a child process; its
    stdout is read line by line from a file in ``work_dir``."""

    count = 0

    def __init__(self, work_dir, max_iters):
        Target.count += 1
        log = Path(work_dir) / f'target_{Target.count}.log'
        log.touch()
        self.process = FORKSERVER.Process(
            target=_run_target, args=(str(work_dir), max_iters, str(log)))
        self.process.start()
        self.stdout = open(log)
        self.pending = ''  # read, not yet returned

    def next_line(self, timeout=120):
        """The child's next stdout line; ``None`` once it has exited and
        every line is read."""
        end = time.time() + timeout
        while '\n' not in self.pending:
            alive = self.process.is_alive()
            self.pending += self.stdout.read()
            if '\n' in self.pending or not alive:
                break
            assert time.time() < end, 'the child printed nothing new'
            time.sleep(0.001)
        if '\n' not in self.pending:
            return None
        line, self.pending = self.pending.split('\n', 1)
        return line

    def kill(self):
        self.process.kill()
        self.wait()

    def wait(self) -> int:
        """The child's exit status."""
        self.process.join()
        self.stdout.close()
        return self.process.exitcode


def wait_for(proc, word):
    """The first line of ``proc``'s stdout that starts with ``word``
    (mmengine logs to stdout too)."""
    while (line := proc.next_line()) is not None:
        if line.startswith(word):
            return line.split()
    raise AssertionError(f'the run ended before printing {word!r}')


def wait_for_a_save(folder, timeout=30):
    """Return as soon as a checkpoint is being written into ``folder``."""
    end = time.time() + timeout
    while not list(folder.glob('.*.part')):
        assert time.time() < end, 'no save started'
        time.sleep(0.0005)


def iteration(path):
    return int(Path(path).stem.split('_')[1]) if path else 0


def test_sigkill_at_random_points_never_leaves_a_partial_checkpoint(tmp_path):
    """Kill a training run that saves every iteration, resume it each time:
    every file under a checkpoint name stays complete, every resume starts
    from the newest complete checkpoint, and the run finally completes. Odd
    kill points are random moments of training; even ones random moments
    within a save's file write (the window where writing in place leaves a
    truncated file), 0-5 ms after it starts."""
    rng = random.Random(0)
    interrupted_saves = 0
    resumed_from = []
    for point in range(KILL_POINTS):
        expected = iteration(newest_complete_checkpoint(str(tmp_path)))
        remove_partial_files(str(tmp_path))
        proc = Target(tmp_path, 100000)
        assert wait_for(proc, 'resumed') == ['resumed', str(expected)]
        wait_for(proc, 'training')
        if point % 2:
            time.sleep(rng.uniform(0.2, 2.0))
        else:
            wait_for_a_save(tmp_path)
            time.sleep(rng.uniform(0, 0.005))
        proc.kill()
        resumed_from.append(expected)
        interrupted_saves += bool(list(tmp_path.glob('.*.part')))
        for path in sorted(tmp_path.glob('*.pth')):
            assert why_unreadable(str(path)) == '', path
            saved = read_checkpoint(str(path))
            assert saved['meta']['iter'] == iteration(path)
    assert resumed_from == sorted(resumed_from) and resumed_from[-1] > 0
    # the kills have to hit writes for this test to mean anything
    assert interrupted_saves >= KILL_POINTS // 4, interrupted_saves

    last = iteration(newest_complete_checkpoint(str(tmp_path)))
    done = Target(tmp_path, last + 2)
    assert wait_for(done, 'resumed') == ['resumed', str(last)]
    assert done.wait() == 0
    assert read_checkpoint(str(
        tmp_path / f'iter_{last + 2}.pth'))['meta']['iter'] == last + 2
    print(f'{KILL_POINTS} kills, {interrupted_saves} during a save; resumed '
          f'from iterations {resumed_from}')
