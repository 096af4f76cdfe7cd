from conftest import REPO
from mmengine.config import Config

from mmfishnet.runtime import adapt_config_to_cpu


def test_amp_sync_bn_and_nccl_become_cpu_settings():
    cfg = Config.fromfile(REPO / 'configs' /
                          'mask_rcnn_fishnet150_fpn_amp_coco.py')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'  # mmengine's, CUDA only
    cfg.model.backbone.norm_cfg = dict(type='SyncBN', requires_grad=True)
    cfg.launcher = 'pytorch'
    changes = adapt_config_to_cpu(cfg)
    assert cfg.optim_wrapper.type == 'MixedPrecisionOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.model.backbone.norm_cfg == dict(type='BN', requires_grad=True)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert len(changes) == 3
    assert any('model.backbone.norm_cfg' in line for line in changes)


def test_nothing_to_change_is_left_alone():
    cfg = Config.fromfile(REPO / 'configs' / 'fishnet99_8xb32_in1k.py')
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    cfg.launcher = 'none'
    before = cfg.to_dict()
    assert adapt_config_to_cpu(cfg) == []
    assert cfg.to_dict() == before
