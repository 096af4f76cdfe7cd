"""How tools/train.py and tools/test.py build their Runner on each side of
the device branch: a CUDA machine gets the config as written (NCCL, SyncBN,
mmengine's AMP), a machine without CUDA the CPU equivalents (decided here
with the device query answered both ways)."""
import sys
from types import SimpleNamespace

import pytest
import torch
from conftest import REPO
from mmengine.config import Config

#: what the stubbed Runner.from_cfg returns: a runner with a model
RUNNER = SimpleNamespace(model=torch.nn.BatchNorm2d(2))

pytestmark = pytest.mark.compat


@pytest.fixture
def launch_utils(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / 'tools'))
    sys.modules.pop('launch_utils', None)
    import launch_utils
    built, joined = [], []
    monkeypatch.setattr(launch_utils.Runner, 'from_cfg',
                        lambda cfg: built.append(cfg) or RUNNER)
    monkeypatch.setattr(launch_utils, 'init_cpu_distributed',
                        lambda: joined.append(True))
    logged = []
    monkeypatch.setattr(launch_utils, 'print_log',
                        lambda message, logger: logged.append(message))
    launch_utils.built, launch_utils.joined = built, joined
    launch_utils.logged = logged
    return launch_utils


def cluster_config():
    cfg = Config.fromfile(REPO / 'configs' /
                          'mask_rcnn_fishnet150_fpn_amp_coco.py')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.model.backbone.norm_cfg = dict(type='SyncBN', requires_grad=True)
    cfg.launcher = 'pytorch'
    return cfg


def test_on_cuda_the_config_is_used_as_written(launch_utils, monkeypatch):
    monkeypatch.setattr(launch_utils.torch.cuda, 'is_available', lambda: True)
    cfg = cluster_config()
    before = cfg.to_dict()
    assert launch_utils.build_runner(cfg) is RUNNER
    assert launch_utils.built[0].to_dict() == before
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert launch_utils.joined == []  # mmengine's init_dist does it
    # what the GPU acceptance reads (no process group in this test)
    assert launch_utils.logged == [
        'launch: device=cpu backend=none world_size=1 sync_bn_layers=0/1'
    ]


def test_without_cuda_the_cpu_equivalents(launch_utils, monkeypatch):
    monkeypatch.setattr(launch_utils.torch.cuda, 'is_available', lambda: False)
    cfg = cluster_config()
    launch_utils.build_runner(cfg)
    built = launch_utils.built[0]
    assert built.optim_wrapper.type == 'MixedPrecisionOptimWrapper'
    assert built.model.backbone.norm_cfg.type == 'BN'
    assert built.env_cfg.dist_cfg.backend == 'gloo'
    assert launch_utils.joined == [True]
