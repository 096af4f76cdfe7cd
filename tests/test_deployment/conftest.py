"""Small models of every task with non-trivial weights, for export tests."""
import inspect

import pytest
import torch
from conftest import CAMVID_CONFIG, REPO, TINY_COCO, load_config  # noqa: F401
from mmengine.config import Config

from mmfishnet.runtime import fit_channels
from mmfishnet.testing import build_model

HAS_EXPORTER = 'dynamo' in inspect.signature(torch.onnx.export).parameters


def require_onnx_export() -> None:
    """Skip the calling test module where torch has no ``torch.export``-
    based ONNX exporter (< 2.5) or onnxruntime is not installed (the oldest
    stack)."""
    if not HAS_EXPORTER:
        pytest.skip(
            f'torch {torch.__version__} has no dynamo ONNX exporter',
            allow_module_level=True)
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')


CIFAR_CONFIG = REPO / 'configs' / 'fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py'
DETECTOR_CONFIG = REPO / 'configs' / 'mask_rcnn_fishnet99_fpn_coco.py'
RETINANET_CONFIG = REPO / 'configs' / 'retinanet_fishnet150_fpn_coco.py'
UPERNET_CONFIG = (
    REPO / 'configs' / 'upernet_fishnet150_4xb4-160k_ade20k-512x512.py')


def small_config(task: str, path=None) -> Config:
    """A config of ``task`` with a quarter-width FishNet-99: the CIFAR-10
    classifier, the CamVid segmentor (or the FPN-style segmentor ``path``
    names: decode head on the four maps, auxiliary head on the third, both
    64 channels wide) or the detector (Mask R-CNN unless ``path`` names
    another); the necks and heads take the narrower maps."""
    default = dict(
        classification=CIFAR_CONFIG,
        segmentation=CAMVID_CONFIG,
        detection=DETECTOR_CONFIG)[task]
    cfg = load_config(path or default)
    cfg.model.backbone.update(widen_factor=0.25, init_cfg=None)
    if task == 'segmentation' and path is not None:
        cfg.model.backbone.arch = 'fishnet99'
        cfg.model.decode_head.channels = 64
        cfg.model.auxiliary_head.channels = 64
    fit_channels(cfg)
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    return cfg


def build_with_weights(cfg: Config, seed: int = 0) -> torch.nn.Module:
    """``cfg``'s model in eval mode: initialised, BN statistics random so that
    eval-mode normalisation is not the identity."""
    model = build_model(cfg, pretrained=False, seed=seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def save_checkpoint(model: torch.nn.Module, path) -> str:
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


@pytest.fixture(scope='session')
def export_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('onnx')
