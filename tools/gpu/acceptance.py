"""The GPU acceptance run: what only a CUDA machine can show, in the order
of its value, so that a stop at any point has kept the most important rows.

    PYTHONPATH=.:SITE python tools/gpu/acceptance.py --out OUT \
        [--steps environment equivalence training throughput] \
        [--deadline UNIX_TIME] [--allow-cpu] [--quick]

(``tools/gpu/acceptance.sh`` checks and installs the prepared wheels and
mmcv, then runs this.) The rows, in the order they run:

1. ``environment``: GPU, driver, torch, CUDA, cuDNN and the OpenMMLab
   versions; whether mmcv's compiled ops run on the GPU (NMS, RoIAlign).
2. ``equivalence``: FishNet-99 with weights in the official format,
   converted, against the official model's logits and FPN maps (fp32, TF32
   off), at 224x224 and 256x320.
3. ``training``: one process of ``tools/dist_train.sh`` each, which must run
   under NCCL with SyncBN layers (a row that did not is a failure): Mask
   R-CNN FishNet-150 in fp32, bf16 and fp16 (``MixedPrecisionOptimWrapper``),
   fp16 with mmengine's ``AmpOptimWrapper``, the FishNet-150 classifier and
   the CamVid segmentor, on data generated on the spot; with the training
   loop's own s/iter from its log.
4. ``throughput``: FishNet-150 against ResNet-50 as classifiers (train and
   inference img/s) and as Mask R-CNN backbones at the COCO config's
   800x1216 (s/iter), with peak memory: the recommended mode (bf16 autocast,
   channels_last) first, then strict fp32 (the 2.5x reference), TF32, fp16,
   gradient checkpointing (``with_cp``) and ``torch.compile`` last.

Every result is written as soon as it exists: ``OUT/acceptance.json`` (all
numbers) and ``OUT/acceptance.md`` (the tables), rewritten after each row.
A failing row is recorded with its error and the run goes on. At
``--deadline`` the run stops before the next row and lists the rows it did
not reach. Without CUDA it stops at once, unless ``--allow-cpu`` (the CPU
rehearsal and the tests), where fp16 and TF32 rows are skipped and training
runs under gloo with BN, as the launch tools do on a CPU.

This file plans the rows and keeps the deadline; each step is a module of
``acceptance_steps`` (its ``__init__`` lists them).
"""
import argparse
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import torch
from acceptance_steps.device import device
from acceptance_steps.environment import mmcv_ops_on_device, versions
from acceptance_steps.equivalence import official_equivalence
from acceptance_steps.report import Report, timed
from acceptance_steps.synthetic_data import make_data
from acceptance_steps.throughput import TIMEOUT_S as THROUGHPUT_TIMEOUT_S
from acceptance_steps.throughput import measure_throughput, throughput_rows
from acceptance_steps.training import train_with_launcher, training_runs

STEPS = ('environment', 'equivalence', 'training', 'throughput')


class Row(NamedTuple):
    """One planned row: ``function(*args)`` gives its values; it starts
    only with ``needs_s`` seconds left before the deadline, and is skipped
    without CUDA where ``cuda_only``. ``timeout_last``: the last argument is
    a timeout, cut to the seconds left before the deadline."""
    step: str
    name: str
    function: Callable
    args: tuple
    cuda_only: bool = False
    needs_s: float = 0
    timeout_last: bool = False


#: Seconds a row needs before the deadline to start: a training process's
#: start-up and iterations, a throughput row's build and timed steps, and a
#: compilation (minutes for FishNet-150's training step).
NEEDS_S = dict(training=45, throughput=20, compile=240)


def plan(args, data_root: Path) -> list:
    """Every row of ``args.steps``, in the order they run."""
    rows = []

    def chosen(name):
        return not args.only or any(o in name for o in args.only)

    if 'environment' in args.steps:
        rows += [
            Row('environment', 'versions', versions, ()),
            Row('environment', f'mmcv ops on {device()}', mmcv_ops_on_device,
                ())
        ]
    if 'equivalence' in args.steps:
        rows += [
            Row('equivalence', f'FishNet-99 {reference}, fp32',
                official_equivalence, (reference, ))
            for reference in ('224x224', '256x320')
        ]
    if 'training' in args.steps:
        data = make_data(data_root)
        runs = training_runs(data, 2 if args.quick else 12)
        for i, (name, run) in enumerate(runs.items()):
            if chosen(name):
                slug = re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')
                rows.append(
                    Row('training',
                        name,
                        train_with_launcher,
                        (run.config, run.options, args.out / 'train' / slug,
                         29500 + i, args.train_timeout),
                        run.cuda_only,
                        NEEDS_S['training'],
                        timeout_last=True))
    if 'throughput' in args.steps:
        iters, warmup = (1, 1) if args.quick else (10, 3)
        for name, config, mode, phase, size, batch in throughput_rows(
                args.quick):
            if chosen(name) and (not args.modes or mode in args.modes):
                rows.append(
                    Row('throughput',
                        name,
                        measure_throughput,
                        (config, mode, phase, size, batch, iters, warmup,
                         THROUGHPUT_TIMEOUT_S),
                        mode.startswith(('fp16', 'tf32')),
                        NEEDS_S['compile' if 'compile' in
                                mode else 'throughput'],
                        timeout_last=True))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, required=True)
    parser.add_argument(
        '--steps', nargs='+', choices=STEPS, default=list(STEPS))
    parser.add_argument(
        '--setup-json',
        type=Path,
        help='timings of the setup (acceptance.sh) to put in the report')
    parser.add_argument(
        '--allow-cpu',
        action='store_true',
        help='run without CUDA (the CPU rehearsal and the tests)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny throughput sizes, one timed iteration, two training '
        'iterations, no torch.compile rows (for rehearsals)')
    parser.add_argument(
        '--only',
        nargs='+',
        metavar='NAME',
        help='only the training runs / throughput models of these names')
    parser.add_argument(
        '--modes',
        nargs='+',
        metavar='MODE',
        help='only the throughput rows in these modes (e.g. bf16+cl)')
    parser.add_argument(
        '--deadline',
        type=float,
        metavar='UNIX_TIME',
        help='start no row after this time (seconds since the epoch); a '
        'training run still going then is stopped')
    parser.add_argument('--train-timeout', type=float, default=300)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available() and not args.allow_cpu:
        sys.exit('error: CUDA is not available (torch '
                 f'{torch.__version__}, CUDA build {torch.version.cuda}): '
                 'this is the GPU acceptance; --allow-cpu runs it anyway')
    # mmpretrain 1.2's multimodal models do not import with transformers 5:
    # keep them out here (mmfishnet.utils.mmpretrain_models); the processes
    # of the training and throughput rows do the same
    from mmfishnet.utils import use_mmpretrain_without_multimodal
    use_mmpretrain_without_multimodal()
    setup = {}
    if args.setup_json and args.setup_json.is_file():
        setup = json.loads(args.setup_json.read_text())
    report = Report(args.out, setup)
    report.save()
    not_reached = []
    for row in plan(args, args.out / 'data'):
        left = (args.deadline - time.time() if args.deadline else math.inf)
        if left <= row.needs_s:
            not_reached.append(row)
            continue
        if row.cuda_only and device() != 'cuda':
            report.add(row.step, row.name, 'skipped: needs CUDA', 0.0)
            continue
        function_args = row.args
        if row.timeout_last:
            function_args = (*row.args[:-1], min(row.args[-1], left))
        timed(report, row.step, row.name, row.function, *function_args)
    for row in not_reached:
        report.add(row.step, row.name, 'not reached: deadline', 0.0)
    failed = [
        r['name'] for r in report.data['rows']
        if r['status'] not in ('ok', 'skipped: needs CUDA',
                               'not reached: deadline')
    ]
    print(f'[acceptance] {len(report.data["rows"])} rows, '
          f'{len(failed)} failed{": " + ", ".join(failed) if failed else ""}'
          f', {len(not_reached)} not reached by the deadline; '
          f'{args.out / "acceptance.md"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
