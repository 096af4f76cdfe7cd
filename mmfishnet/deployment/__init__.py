"""Deployment: ONNX export of classifiers, segmentors and detectors with
their test preprocessing in the file's metadata, and the parity check of
ONNX Runtime against PyTorch. Needs ``onnx`` and ``onnxruntime`` (the
``deploy`` extra) and torch >= 2.5; ``import mmfishnet`` does not import
it."""
from .detection import finish_detection
from .graphs import (TASK_BY_SCOPE, ClassifierGraph, DetectorGraph,
                     SegmentorGraph, exportable_copy, graph_for)
from .onnx_export import (Parity, ParityError, check_exporter, check_parity,
                          export_onnx, metadata_for, read_metadata)
from .preprocess import preprocessing_from_config

__all__ = [
    'finish_detection', 'TASK_BY_SCOPE', 'ClassifierGraph', 'DetectorGraph',
    'SegmentorGraph', 'exportable_copy', 'graph_for', 'Parity', 'ParityError',
    'check_exporter', 'check_parity', 'export_onnx', 'metadata_for',
    'read_metadata', 'preprocessing_from_config'
]
