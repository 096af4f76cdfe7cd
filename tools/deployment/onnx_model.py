"""An exported mmfishnet ONNX file with its preprocessing, for inference
with ONNX Runtime, numpy and Pillow only (no torch, mmcv or config).

``pytorch2onnx.py`` stores the config's test preprocessing in the file's
metadata (``mmfishnet.preprocess``: channel order, mean, std and the
resize / crop steps, described in ``mmfishnet/deployment/preprocess.py``);
:class:`OnnxModel` replays it. Resizing is bilinear with the pixel-centre
convention of OpenCV, which mmcv uses, so the model sees (up to rounding of
single intensity levels) what the PyTorch pipeline gives it.
"""
import json
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import onnxruntime as ort
from PIL import Image


def resize_bilinear(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, C) -> (height, width, C), bilinear, half-pixel centres and
    edge clamping as ``cv2.resize(..., INTER_LINEAR)``. uint8 stays uint8
    (rounded), float stays float32."""

    def taps(out_size: int, in_size: int):
        x = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
        x = np.clip(x, 0, in_size - 1)
        low = np.floor(x).astype(np.int64)
        high = np.minimum(low + 1, in_size - 1)
        return low, high, (x - low).astype(np.float32)

    rows0, rows1, wy = taps(height, array.shape[0])
    cols0, cols1, wx = taps(width, array.shape[1])
    src = array.astype(np.float32)
    top = src[rows0] * (1 - wy)[:, None, None] + src[rows1] * wy[:, None, None]
    out = top[:, cols0] * (1 - wx)[None, :, None] + top[:, cols1] * wx[None, :,
                                                                       None]
    if array.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out


def apply_transform(image: np.ndarray, step: dict) -> np.ndarray:
    """One resize / crop step of the stored preprocessing."""
    height, width = image.shape[:2]
    kind = step['type']
    if kind == 'resize_edge':
        size, edge = step['size'], step['edge']
        if (edge == 'short'
                and width < height) or (edge == 'long'
                                        and width > height) or edge == 'width':
            return resize_bilinear(image, size, int(size * height / width))
        return resize_bilinear(image, int(size * width / height), size)
    if kind == 'rescale':
        factor = min(step['max_long'] / max(height, width),
                     step['max_short'] / min(height, width))
        return resize_bilinear(image, int(width * factor + 0.5),
                               int(height * factor + 0.5))
    if kind == 'resize':
        return resize_bilinear(image, *step['size'])
    if kind == 'center_crop':
        crop_w, crop_h = min(step['size'][0],
                             width), min(step['size'][1], height)
        top = max(0, int(round((height - crop_h) / 2)))
        left = max(0, int(round((width - crop_w) / 2)))
        return image[top:top + crop_h, left:left + crop_w]
    raise ValueError(f'unknown preprocessing step {step}')


def preprocess(image: np.ndarray, spec: dict) -> np.ndarray:
    """An RGB uint8 image (H, W, 3) -> the model's input (3, H', W'),
    float32: resized / cropped by ``spec['transforms']``, in the model's
    channel order, normalized."""
    for step in spec['transforms']:
        image = apply_transform(image, step)
    if spec['channel_order'] == 'BGR':
        image = image[..., ::-1]
    mean = np.asarray(spec['mean'], np.float32)
    std = np.asarray(spec['std'], np.float32)
    return ((image.astype(np.float32) - mean) / std).transpose(2, 0, 1)


class OnnxModel:
    """An exported file: its session, metadata and preprocessing.

    Args:
        path: the ``.onnx`` file written by ``pytorch2onnx.py``.
        threads: ONNX Runtime intra-op threads (default: its own choice).
    """

    def __init__(self, path, threads: int = 0):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f'{self.path} does not exist')
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=['CPUExecutionProvider'])
        except Exception as e:  # onnxruntime raises its own error types
            raise ValueError(
                f'{self.path} is not a readable ONNX model ({e}); export it '
                'again with tools/deployment/pytorch2onnx.py') from e
        props = self.session.get_modelmeta().custom_metadata_map
        if 'mmfishnet.preprocess' not in props:
            raise ValueError(
                f'{self.path} has no mmfishnet metadata: export it with '
                'tools/deployment/pytorch2onnx.py, which stores the '
                'preprocessing')
        self.meta: Dict = {
            k.split('.', 1)[1]: json.loads(v)
            for k, v in props.items() if k.startswith('mmfishnet.')
        }
        self.task: str = self.meta['task']
        self.classes: List[str] = self.meta.get('classes') or []
        self.output_names = [o.name for o in self.session.get_outputs()]

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """:func:`preprocess` with this file's stored description."""
        return preprocess(image, self.meta['preprocess'])

    def run(self, batch: np.ndarray) -> Sequence[np.ndarray]:
        """(N, 3, H, W) float32 -> the outputs, in ``output_names`` order."""
        return self.session.run(None, {'image': np.ascontiguousarray(batch)})


def read_rgb(path) -> np.ndarray:
    """An image file as RGB uint8 (H, W, 3), with a clear error for files
    that are missing or do not decode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'image {path} does not exist')
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert('RGB'))
    except Exception as e:  # Pillow raises several types for bad files
        raise ValueError(f'image {path} cannot be decoded ({e}): it is cut '
                         'short or not an image; replace it or leave it '
                         'out') from e


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def check_task(model: OnnxModel, task: str) -> None:
    if model.task != task:
        raise SystemExit(f'error: {model.path} is a {model.task} model, not '
                         f'a {task} model')
