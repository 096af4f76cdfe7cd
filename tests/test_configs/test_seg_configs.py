"""Every segmentation config has a FishNet in mmseg's scope with a neck or
heads that take its maps; the recommended CamVid config runs a loss, a
backward and a prediction. Each decode head family (Semantic FPN, UPerNet,
PSPNet, DeepLabV3+, Mask2Former) runs its loss and prediction with the same
recipe lines in the zoo walk (tests/test_tools/test_zoo_compat.py)."""
import pytest
from conftest import CAMVID_CONFIG, REPO, load_config
from mmengine.registry import init_default_scope

from mmfishnet.testing import build_model, predict, random_batch, train_step

pytest.importorskip('mmseg')

SEG_CONFIGS = sorted(
    p.name for p in (REPO / 'configs').glob('*fish*_*x*.py')
    if p.name.startswith(('fpn_', 'upernet_', 'pspnet_', 'deeplabv3plus_',
                          'mask2former_')) and 'coco' not in p.name)


def test_all_segmentation_configs_are_found():
    assert set(SEG_CONFIGS) == {
        'fpn_fishnet150_4xb4-160k_ade20k-512x512.py',
        'fpn_fishnet150_4xb2-80k_cityscapes-512x1024.py',
        'fpn_fishnext150_4xb4-160k_ade20k-512x512.py',
        'upernet_fishnet150_4xb4-160k_ade20k-512x512.py',
        'upernet_fishnet150_4xb2-80k_cityscapes-512x1024.py',
        'fpn_fishnet99-w0.25_1xb8-10e_camvid-480x360.py',
        'fpn_fishnet99-w0.625_1xb8-10e_camvid-480x360.py',
        'pspnet_fishnet150_4xb4-80k_ade20k-512x512.py',
        'deeplabv3plus_fishnet150_4xb4-80k_ade20k-512x512.py',
        'mask2former_fishnet150_8xb2-160k_ade20k-512x512.py',
    }


@pytest.mark.parametrize('name', SEG_CONFIGS)
def test_every_segmentation_config_fits_its_neck_and_heads(name):
    """(tests/test_docs.py builds every config of model-index.yml.)"""
    from mmfishnet.runtime import check_neck_channels
    cfg = load_config(REPO / 'configs' / name)
    assert cfg.default_scope == 'mmseg'
    assert cfg.model.backbone.type == 'FishNet'
    check_neck_channels(cfg)


def test_the_camvid_segmentor_trains_and_predicts():
    cfg = load_config(CAMVID_CONFIG)
    cfg.model.data_preprocessor.size = (96, 128)  # not the 480x360 crop
    model = build_model(cfg)
    batch = random_batch(model, cfg, (3, 96, 128))
    losses = train_step(model, batch)
    assert losses['decode.loss_ce'] > 0
    assert model.backbone.stem[0].conv.weight.grad.abs().sum() > 0
    results = predict(model, batch)
    assert results[0].pred_sem_seg.data.shape == (1, 96, 128)
    assert int(results[0].pred_sem_seg.data.max()) < 11


def test_mmpretrain_scope_name_works_in_mmseg():
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    backbone = MODELS.build(
        dict(type='mmpretrain.FishNet', arch='fishnet99', widen_factor=0.25))
    assert backbone.out_channels == [80, 208, 400, 528]
