"""Small models of every task with non-trivial weights, for export tests."""
import inspect

import pytest
import torch
from conftest import CAMVID_CONFIG, REPO  # noqa: F401 (used by the tests)
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope

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
#: FishNet-99 at quarter width: body3, head1-3 channels
QUARTER = dict(arch='fishnet99', widen_factor=0.25, init_cfg=None)
QUARTER_FPN = [80, 208, 400, 528]


def small_config(task: str, path=None) -> Config:
    """A config of ``task`` with a quarter- or half-width FishNet-99: the
    CIFAR-10 classifier, the CamVid segmentor (or the FPN-style segmentor
    ``path`` names: decode head on the four maps, auxiliary head on the
    third, both 64 channels wide) or the detector (Mask R-CNN unless
    ``path`` names another)."""
    if task == 'classification':
        cfg = Config.fromfile(CIFAR_CONFIG)
        cfg.model.backbone.widen_factor = 0.25
        cfg.model.head.in_channels = 528  # 2112 / 4
    elif task == 'segmentation' and path is None:
        cfg = Config.fromfile(CAMVID_CONFIG)
    elif task == 'segmentation':
        cfg = Config.fromfile(path)
        cfg.model.backbone.update(QUARTER)
        cfg.model.decode_head.update(in_channels=QUARTER_FPN, channels=64)
        cfg.model.auxiliary_head.update(
            in_channels=QUARTER_FPN[2], channels=64)
    else:
        cfg = Config.fromfile(path or DETECTOR_CONFIG)
        cfg.model.backbone.update(QUARTER)
        cfg.model.neck.in_channels = QUARTER_FPN
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    return cfg


def build_with_weights(cfg: Config, seed: int = 0) -> torch.nn.Module:
    """``cfg``'s model in eval mode: initialised, BN statistics random so that
    eval-mode normalisation is not the identity."""
    init_default_scope(cfg.default_scope)
    torch.manual_seed(seed)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
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
