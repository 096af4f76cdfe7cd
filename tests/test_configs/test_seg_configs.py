"""Every segmentation config builds in mmseg's scope, its neck or head takes
the FishNet channels, and it runs a training step and a prediction."""
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope

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
        'pspnet_fishnet150_4xb4-80k_ade20k-512x512.py',
        'deeplabv3plus_fishnet150_4xb4-80k_ade20k-512x512.py',
        'mask2former_fishnet150_8xb2-160k_ade20k-512x512.py',
    }


def build_segmentor(name, image_size):
    """The config's segmentor, with BN for SyncBN (no process group here),
    no pretrained weights, and training images padded to ``image_size``
    (H, W) instead of the config's crop."""
    from mmseg.registry import MODELS

    from mmfishnet.runtime.cpu_fallback import _replace_sync_bn
    cfg = Config.fromfile(REPO / 'configs' / name)
    assert cfg.default_scope == 'mmseg'
    assert cfg.model.backbone.type == 'FishNet'
    cfg.model.backbone.init_cfg = None
    # padding 96x128 images to a 512x1024 crop would cost most of the test
    cfg.model.data_preprocessor.size = image_size
    _replace_sync_bn(cfg.model, 'model', [])
    init_default_scope('mmseg')
    return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('name', SEG_CONFIGS)
def test_segmentor_loss_and_predict(name):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from mmfishnet.runtime import check_neck_channels
    cfg, model = build_segmentor(name, (96, 128))
    model.init_weights()
    backbone_channels = model.backbone.out_channels
    if model.with_neck:
        assert list(model.neck.in_channels) == backbone_channels
    else:  # the heads read the backbone maps by in_index: the check agrees
        check_neck_channels(cfg)
    num_classes = model.decode_head.num_classes
    torch.manual_seed(0)
    images = torch.rand(2, 3, 96, 128) * 255
    samples = []
    for _ in range(2):
        sample = SegDataSample(
            gt_sem_seg=PixelData(
                data=torch.randint(0, num_classes, (1, 96, 128))))
        sample.set_metainfo(
            dict(
                img_shape=(96, 128), pad_shape=(96, 128), ori_shape=(96, 128)))
        samples.append(sample)
    data = model.data_preprocessor(
        dict(inputs=list(images), data_samples=samples), True)
    model.train()
    losses = model(**data, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.stem[0].conv.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        results = model(
            **model.data_preprocessor(
                dict(inputs=list(images), data_samples=samples), False),
            mode='predict')
    assert results[0].pred_sem_seg.data.shape == (1, 96, 128)
    assert int(results[0].pred_sem_seg.data.max()) < num_classes


def test_mmpretrain_scope_name_works_in_mmseg():
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    backbone = MODELS.build(
        dict(type='mmpretrain.FishNet', arch='fishnet99', widen_factor=0.25))
    assert backbone.out_channels == [80, 208, 400, 528]
