"""ONNX export of a config + checkpoint with ``torch.onnx`` (torch >= 2.5,
the ``torch.export``-based exporter), its metadata, and the parity check of
ONNX Runtime against eager PyTorch.

Metadata (``metadata_props`` of the ONNX model, JSON strings):

``mmfishnet.task``        classification, segmentation or detection
``mmfishnet.preprocess``  :func:`~.preprocess.preprocessing_from_config`
``mmfishnet.classes``     the class names (an empty list if unknown)
``mmfishnet.palette``     segmentation only, if known: RGB per class
``mmfishnet.strides``     detection only: the stride of each level
``mmfishnet.config``      the config file the model was built from
"""
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from .graphs import DetectorGraph


class ParityError(RuntimeError):
    """ONNX Runtime's outputs differ from PyTorch's beyond the tolerance."""


@dataclass
class Parity:
    """How far one output of ONNX Runtime is from PyTorch's: the largest
    absolute difference, and that divided by the largest magnitude of
    PyTorch's output (the error relative to the output's scale)."""
    name: str
    shape: tuple
    max_abs: float
    max_rel: float


def check_exporter() -> None:
    """Raise a clear error where the installed torch cannot export."""
    if 'dynamo' not in inspect.signature(torch.onnx.export).parameters:
        raise RuntimeError(
            f'ONNX export needs torch >= 2.5 (torch.onnx.export with '
            f'dynamo=True); torch {torch.__version__} is installed')


def export_onnx(graph: nn.Module,
                path: Path,
                example: torch.Tensor,
                dynamic: bool,
                metadata: Dict[str, object],
                opset: int = 18) -> None:
    """Write ``graph`` (a wrapper of :mod:`.graphs`) to ``path`` with the
    input ``image`` and the wrapper's ``output_names``.

    The batch size is always dynamic; with ``dynamic`` the height and width
    are too, and FishNet's padding to its size divisor is exported as graph
    operations. ``example`` must have a batch of at least 2 (torch.export
    fixes dimensions of size 1). ``metadata`` values are stored as JSON.
    """
    check_exporter()
    import onnx
    if example.shape[0] < 2:
        raise ValueError('the example batch must have at least 2 images')
    dims = {0: torch.export.Dim('batch')}
    if dynamic:
        dims.update({
            2: torch.export.Dim('height'),
            3: torch.export.Dim('width')
        })
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        program = torch.onnx.export(
            graph, (example, ),
            dynamo=True,
            input_names=['image'],
            output_names=graph.output_names,
            dynamic_shapes=(dims, ),
            opset_version=opset,
            verbose=False)
    model = program.model_proto
    onnx.helper.set_model_props(model, {
        f'mmfishnet.{k}': json.dumps(v)
        for k, v in metadata.items()
    })
    onnx.save(model, str(path))
    onnx.checker.check_model(str(path))


def read_metadata(path: Path) -> Dict[str, object]:
    """The ``mmfishnet.*`` metadata of an exported file, decoded."""
    import onnx
    model = onnx.load(str(path), load_external_data=False)
    prefix = 'mmfishnet.'
    return {
        p.key[len(prefix):]: json.loads(p.value)
        for p in model.metadata_props if p.key.startswith(prefix)
    }


def check_parity(graph: nn.Module,
                 path: Path,
                 inputs: Sequence[torch.Tensor],
                 max_rel: float = 1e-4,
                 threads: Optional[int] = None) -> List[Parity]:
    """Run ``path`` with ONNX Runtime and ``graph`` with PyTorch on every
    tensor of ``inputs``; return the worst error of each output name and
    raise :class:`ParityError` (naming the outputs) if any relative error
    exceeds ``max_rel``."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(path), options, providers=['CPUExecutionProvider'])
    worst: Dict[str, Parity] = {}
    for image in inputs:
        with torch.no_grad():
            expected = graph(image)
        if isinstance(expected, torch.Tensor):
            expected = (expected, )
        got = session.run(None, {'image': image.numpy()})
        for name, ref, out in zip(graph.output_names, expected, got):
            ref = ref.float().numpy()
            if ref.shape != out.shape:
                raise ParityError(f'{path}: output {name} has shape '
                                  f'{out.shape} in ONNX Runtime, '
                                  f'{ref.shape} in PyTorch')
            diff = float(np.abs(out - ref).max())
            rel = diff / max(float(np.abs(ref).max()), 1e-12)
            if name not in worst or rel > worst[name].max_rel:
                worst[name] = Parity(name, ref.shape, diff, rel)
    failed = [p for p in worst.values() if p.max_rel > max_rel]
    if failed:
        raise ParityError(
            f'{path}: ONNX Runtime differs from PyTorch beyond the '
            f'relative tolerance {max_rel:g} on ' + ', '.join(
                f'{p.name} (max abs {p.max_abs:.3g}, rel {p.max_rel:.3g})'
                for p in failed))
    return list(worst.values())


def metadata_for(graph: nn.Module, task: str, cfg, preprocess: dict,
                 dataset_meta: Optional[dict]) -> Dict[str, object]:
    """The metadata stored with an exported ``graph``."""
    meta = dataset_meta or {}
    metadata = dict(
        task=task,
        preprocess=preprocess,
        classes=list(meta.get('classes') or []),
        config=str(cfg.filename or ''))
    if task == 'segmentation' and meta.get('palette'):
        metadata['palette'] = [list(map(int, c)) for c in meta['palette']]
    if isinstance(graph, DetectorGraph):
        metadata['strides'] = graph.strides
    return metadata
