"""Timing and memory helpers shared by the benchmark scripts."""
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, List

import torch


def device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def device_name() -> str:
    if device() == 'cuda':
        return torch.cuda.get_device_name()
    return f'cpu x{torch.get_num_threads()} threads'


def time_steps(step: Callable[[], None], warmup: int, iters: int) -> dict:
    """Median and min seconds of ``step`` after ``warmup`` calls."""
    times = []
    for i in range(warmup + iters):
        if device() == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device() == 'cuda':
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return dict(median_s=statistics.median(times), min_s=min(times))


def peak_memory_mb() -> float:
    """GPU allocator peak on CUDA, else the process's peak RSS."""
    if device() == 'cuda':
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(script: str, name: str, args: List[str]) -> dict:
    """Run ``script name --one args`` in a fresh process (so that peak memory
    is its own) and return the JSON dict it prints last."""
    out = subprocess.run([sys.executable, script, name, '--one', *args],
                         capture_output=True,
                         text=True)
    if out.returncode:
        sys.exit(f'{name} failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])
