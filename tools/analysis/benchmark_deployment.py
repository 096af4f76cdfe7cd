"""Inference speed of the deployed classifier (ONNX Runtime) against eager
and compiled PyTorch, on the CPU.

    python tools/analysis/benchmark_deployment.py \
        [--models fishnet150 small] [--batches 1 8] [--threads 1 2] \
        [--modes eager-fp32 eager-bf16+cl compiled ort-fp32 ort-int8] \
        [--iters 20] [--out results.json]

Models: ``fishnet150`` is ``configs/fishnet150_8xb32_in1k.py`` at 224x224,
``small`` the CIFAR-10 FishNet-99 (half width, stem stride 1) at 32x32; both
with random weights (speed does not depend on them). The timed call is one
forward pass image batch -> logits (no data loading or preprocessing):

- ``eager-fp32``: the PyTorch model, float32, NCHW;
- ``eager-bf16+cl``: bf16 autocast and channels_last (what ``--amp`` gives;
  skipped where the CPU has no native bf16);
- ``compiled``: ``torch.compile`` of the fp32 model (one-time compile
  seconds printed separately);
- ``ort-fp32``: the ``pytorch2onnx.py`` graph in ONNX Runtime;
- ``ort-int8``: that graph after ONNX Runtime's dynamic int8 quantization
  (weights int8, activations quantized on the fly; its outputs differ from
  fp32, so check the accuracy before using it).

Prints seconds per batch (median of ``--iters`` after warm-up), images per
second and the speed-up over ``eager-fp32`` for every model, batch and
thread count, with the CPU's name.
"""
import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import mmfishnet  # noqa: F401
from mmfishnet.deployment import export_onnx, graph_for
from mmfishnet.utils.compat import cpu_has_native_bf16

REPO = Path(__file__).resolve().parents[2]
MODELS_TO_TIME = {
    'fishnet150': ('configs/fishnet150_8xb32_in1k.py', 224),
    'small': ('configs/fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py', 32),
}
MODES = ['eager-fp32', 'eager-bf16+cl', 'compiled', 'ort-fp32', 'ort-int8']


def cpu_name() -> str:
    for line in Path('/proc/cpuinfo').read_text().splitlines():
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return platform.processor() or 'unknown CPU'


def build_classifier(config: str) -> torch.nn.Module:
    cfg = Config.fromfile(REPO / config)
    init_default_scope(cfg.default_scope)
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return graph_for(model.eval(), 'classification')


def median_seconds(call, iters: int, warmup: int = 3) -> float:
    times = []
    for i in range(warmup + iters):
        start = time.perf_counter()
        call()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def ort_session(path: Path, threads: int):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(path), options, providers=['CPUExecutionProvider'])


def time_model(name: str, args, workdir: Path) -> list:
    config, size = MODELS_TO_TIME[name]
    graph = build_classifier(config)
    fp32_path = workdir / f'{name}.onnx'
    int8_path = workdir / f'{name}.int8.onnx'
    if {'ort-fp32', 'ort-int8'} & set(args.modes):
        export_onnx(graph, fp32_path, torch.randn(2, 3, size, size), False, {})
    if 'ort-int8' in args.modes:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(
            str(fp32_path), str(int8_path), weight_type=QuantType.QInt8)
    compiled = compile_s = None
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        sessions = {
            mode: ort_session(path, threads)
            for mode, path in (('ort-fp32', fp32_path),
                               ('ort-int8', int8_path)) if mode in args.modes
        }
        for batch in args.batches:
            x = torch.randn(batch, 3, size, size)
            for mode in args.modes:
                if mode == 'eager-bf16+cl' and not cpu_has_native_bf16():
                    continue
                if mode == 'eager-fp32':
                    call = torch.no_grad()(lambda: graph(x))
                elif mode == 'eager-bf16+cl':
                    model_cl = graph.to(memory_format=torch.channels_last)
                    x_cl = x.contiguous(memory_format=torch.channels_last)

                    @torch.no_grad()
                    def call():
                        with torch.autocast('cpu', dtype=torch.bfloat16):
                            model_cl(x_cl)
                elif mode == 'compiled':
                    if compiled is None:
                        compiled = torch.compile(graph)
                        start = time.perf_counter()
                        with torch.no_grad():
                            compiled(x)
                        compile_s = time.perf_counter() - start
                    call = torch.no_grad()(lambda: compiled(x))
                else:
                    session, array = sessions[mode], x.numpy()
                    call = (lambda s=session: s.run(None, {'image': array}))
                seconds = median_seconds(call, args.iters)
                graph.to(memory_format=torch.contiguous_format)
                rows.append(
                    dict(
                        model=name,
                        size=size,
                        threads=threads,
                        batch=batch,
                        mode=mode,
                        seconds=seconds,
                        images_per_s=batch / seconds))
                print(
                    f'{name} {size}x{size} threads {threads} batch {batch} '
                    f'{mode}: {seconds * 1000:.1f} ms',
                    flush=True)
    if compile_s is not None:
        print(f'{name}: torch.compile took {compile_s:.1f} s (first call)')
    return rows


def print_table(rows: list) -> None:
    base = {
        (r['model'], r['threads'], r['batch']): r['seconds']
        for r in rows if r['mode'] == 'eager-fp32'
    }
    print(f'\nCPU: {cpu_name()}')
    print('| model | threads | batch | mode | ms / batch | images / s | '
          'vs eager fp32 |')
    print('|---|---|---|---|---|---|---|')
    for r in rows:
        key = (r['model'], r['threads'], r['batch'])
        speedup = (f'{base[key] / r["seconds"]:.2f}x' if key in base else '')
        print(f'| {r["model"]} {r["size"]}x{r["size"]} | {r["threads"]} | '
              f'{r["batch"]} | {r["mode"]} | {r["seconds"] * 1000:.1f} | '
              f'{r["images_per_s"]:.0f} | {speedup} |')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--models',
        nargs='+',
        choices=sorted(MODELS_TO_TIME),
        default=sorted(MODELS_TO_TIME))
    parser.add_argument('--batches', nargs='+', type=int, default=[1, 8])
    parser.add_argument('--threads', nargs='+', type=int, default=[1, 2])
    parser.add_argument('--modes', nargs='+', choices=MODES, default=MODES)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--out', type=Path, help='write the rows as JSON')
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.models:
            rows += time_model(name, args, Path(workdir))
    print_table(rows)
    if args.out:
        args.out.write_text(json.dumps(dict(cpu=cpu_name(), rows=rows)))


if __name__ == '__main__':
    main()
