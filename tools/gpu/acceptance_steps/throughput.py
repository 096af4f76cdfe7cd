"""The throughput step: FishNet-150 against ResNet-50 as classifiers (train
and inference img/s) and as Mask R-CNN backbones (s/iter), in the order of
their value, each row one measurement of
``tools/analysis/benchmark_modes.py`` in a fresh process (its own peak
memory; a CUDA fault in one row cannot poison the rows after it)."""
import json
import subprocess
import sys

from . import REPO

CLASSIFIERS = {
    'FishNet-150': 'configs/fishnet150_8xb32_in1k.py',
    'ResNet-50': 'mmpretrain::resnet/resnet50_8xb32_in1k.py',
}
DETECTORS = {
    'Mask R-CNN FishNet-150': 'configs/mask_rcnn_fishnet150_fpn_coco.py',
    'Mask R-CNN R-50': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
}
#: The recommended mode (what ``tools/train.py --amp`` does on a GPU).
RECOMMENDED = 'bf16+cl'
BENCHMARK = REPO / 'tools' / 'analysis' / 'benchmark_modes.py'
#: Seconds one measurement may take (a compilation of FishNet-150's training
#: step takes minutes).
TIMEOUT_S = 600


def throughput_rows(quick: bool) -> list:
    """(name, config, mode, phase, size, batch) of every measurement, in the
    order of their value: the recommended mode's training first, then the
    strict fp32 it is compared with, the detectors, inference, and the other
    modes; ``fp32`` is TF32 off, ``tf32`` on; ``+cl`` channels_last, ``+cp``
    with_cp, ``+compile`` torch.compile (not in ``quick``)."""
    batch = 4 if quick else 128
    size = (64, 64) if quick else (224, 224)
    det_size = (128, 160) if quick else (800, 1216)
    first = ((RECOMMENDED, 'train'), ('fp32+cl', 'train'), (RECOMMENDED,
                                                            'infer'))
    later = (('fp16+cl', 'train'), ('tf32+cl', 'train'), ('fp32+cl', 'infer'),
             ('fp16+cl', 'infer'), ('tf32+cl', 'infer'), ('bf16+cl+cp',
                                                          'train'))
    last = () if quick else (('bf16+cl+compile', 'train'), ('bf16+cl+compile',
                                                            'infer'))

    def classifiers(plan):
        return [(name, config, mode, phase, size, batch)
                for mode, phase in plan
                for name, config in CLASSIFIERS.items()]

    def detectors(modes):
        return [(name, config, mode, 'train', det_size, 2) for mode in modes
                for name, config in DETECTORS.items()]

    return (classifiers(first) + detectors(
        (RECOMMENDED, 'fp32+cl')) + classifiers(later) + detectors(
            ('bf16+cl+cp', )) + classifiers(last))


def measure_throughput(config,
                       mode,
                       phase,
                       size,
                       batch,
                       iters,
                       warmup,
                       timeout_s=TIMEOUT_S):
    """One row: ``benchmark_modes.py --one`` in a fresh process (TF32 only
    in ``tf32`` modes, the peak memory that process's own), stopped after
    ``timeout_s`` seconds."""
    task = 'detector' if config in DETECTORS.values() else 'classifier'
    command = [
        sys.executable,
        str(BENCHMARK), task, '--one', config, f'{mode}:{phase}', '--size',
        str(size[0]),
        str(size[1]), '--batch',
        str(batch), '--iters',
        str(iters), '--warmup',
        str(warmup)
    ]
    out = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout_s)
    if out.returncode:
        raise RuntimeError(f'{" ".join(command[1:])} exited with '
                           f'{out.returncode}:\n{out.stderr[-3000:]}')
    r = json.loads(out.stdout.strip().splitlines()[-1])
    values = dict(
        mode=mode,
        phase=phase,
        batch=batch,
        size=f'{size[0]}x{size[1]}',
        s_per_iter=r['median_s'],
        img_per_s=batch / r['median_s'],
        peak_mib=round(r['peak_mb']))
    if r.get('compile_s') is not None:
        values['compile_s'] = round(r['compile_s'], 1)
    return values
