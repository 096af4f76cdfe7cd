"""check_neck_channels: a neck or head that does not take the FishNet maps
it reads stops before the model is built, with every entry and the value
to write."""
import pytest
from conftest import zoo_config
from mmengine.config import Config

from mmfishnet.runtime import check_neck_channels, fit_channels
from mmfishnet.runtime.preflight import UserInputError

pytestmark = pytest.mark.compat


def swapped(upstream: str, **backbone) -> Config:
    """An upstream config with FishNet-150 as backbone and nothing else
    changed (the mistake the check is for)."""
    cfg = Config.fromfile(upstream)
    cfg.model.backbone = dict(type='FishNet', arch='fishnet150', **backbone)
    return cfg


def message_of(cfg: Config) -> str:
    with pytest.raises(UserInputError) as error:
        check_neck_channels(cfg)
    return str(error.value)


@pytest.mark.parametrize('upstream,out_indices,fix', [
    ('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', (6, 7, 8, 9),
     'model.neck.in_channels=[320, 832, 1600, 2112] (not [256, 512, 1024, '
     '2048])'),
    ('dino/dino-4scale_r50_8xb2-12e_coco.py', (7, 8, 9),
     'model.neck.in_channels=[832, 1600, 2112] (not [512, 1024, 2048])'),
    ('detr/detr_r50_8xb2-150e_coco.py',
     (9, ), 'model.neck.in_channels=[2112] (not [2048])'),
    ('centernet/centernet_r18_8xb16-crop512-140e_coco.py',
     (9, ), 'model.neck.in_channels=2112 (not 512)'),
    ('yolo/yolov3_d53_8xb8-320-273e_coco.py', (7, 8, 9),
     'model.neck.in_channels=[2112, 1600, 832] (not [1024, 512, 256])'),
    ('libra_rcnn/libra-faster-rcnn_r50_fpn_1x_coco.py',
     (6, 7, 8, 9), 'model.neck[0].in_channels=[320, 832, 1600, 2112]'),
    ('mask2former/mask2former_r50_8xb2-lsj-50e_coco.py',
     (6, 7, 8, 9), 'model.panoptic_head.in_channels=[320, 832, 1600, 2112]'),
])
def test_mmdet_necks_and_heads(upstream, out_indices, fix):
    message = message_of(
        swapped(zoo_config('mmdet', upstream), out_indices=out_indices))
    assert fix in message
    assert f'out_indices={out_indices}' in message


def test_mmseg_heads_read_the_maps_of_their_in_index():
    cfg = swapped(
        zoo_config(
            'mmseg', 'deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_ade20k-'
            '512x512.py'))
    message = message_of(cfg)
    # in_index 3 and 2 of body3, head1-3
    assert 'model.decode_head.in_channels=2112 (not 2048)' in message
    assert 'model.decode_head.c1_in_channels=320 (not 256)' in message
    assert 'model.auxiliary_head.in_channels=1600 (not 1024)' in message
    cfg.model.decode_head.update(
        in_index=1, in_channels=832, c1_in_channels=320)
    cfg.model.auxiliary_head.in_channels = 1600
    check_neck_channels(cfg)


def test_mmseg_heads_with_several_maps_and_nested_heads():
    ann = swapped(
        zoo_config('mmseg', 'ann/ann_r50-d8_4xb4-80k_ade20k-512x512.py'))
    assert ('model.decode_head.in_channels=[1600, 2112] (not [1024, 2048])'
            in message_of(ann))
    knet = swapped(
        zoo_config('mmseg',
                   'knet/knet-s3_r50-d8_fcn_8xb2-adamw-80k_ade20k-512x512.py'))
    assert ('model.decode_head.kernel_generate_head.in_channels=2112'
            in message_of(knet))
    mask2former = swapped(
        zoo_config('mmseg',
                   'mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py'))
    assert ('model.decode_head.in_channels=[320, 832, 1600, 2112]'
            in message_of(mask2former))


@pytest.mark.parametrize(
    'upstream,out_indices,head,expected',
    [
        ('pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py',
         (7, ), {}, '0..0 (1 FishNet maps; out of range: [3])'),
        # a list entry out of range is named, not dropped (which would turn it
        # into a channels message)
        ('ann/ann_r50-d8_4xb4-80k_ade20k-512x512.py',
         (6, 7, 8, 9), dict(in_index=[2, 4], in_channels=[1600, 2112]),
         '0..3 (4 FishNet maps; out of range: [4])'),
    ])
def test_an_in_index_beyond_the_maps_is_named(upstream, out_indices, head,
                                              expected):
    cfg = swapped(zoo_config('mmseg', upstream), out_indices=out_indices)
    cfg.model.decode_head.update(head)
    assert (f'model.decode_head.in_index must be indices in {expected}'
            in message_of(cfg))


def test_a_head_without_in_index_reads_the_last_map():
    """mmseg's default in_index is -1."""
    cfg = swapped(
        zoo_config('mmseg', 'pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'))
    cfg.model.auxiliary_head.in_channels = 1600
    cfg.model.decode_head.pop('in_index')
    cfg.model.decode_head.in_channels = 1600
    assert ('model.decode_head.in_channels=2112 (not 1600)' in message_of(cfg))
    cfg.model.decode_head.in_channels = 2112
    check_neck_channels(cfg)


def test_an_mmseg_neck_is_checked_instead_of_its_heads():
    cfg = swapped(
        zoo_config('mmseg', 'sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py'))
    message = message_of(cfg)
    assert 'model.neck.in_channels=[320, 832, 1600, 2112]' in message
    assert 'decode_head' not in message  # it reads the FPN's maps


def test_a_classification_head_reads_the_last_map():
    cfg = Config.fromfile(
        zoo_config('mmpretrain', 'resnet/resnet50_8xb32_in1k.py'))
    cfg.model.backbone = dict(type='FishNet', out_indices=(9, ))
    assert 'model.head.in_channels=2112 (not 2048)' in message_of(cfg)


def test_a_widened_fishnet_and_models_without_fishnet():
    cfg = swapped(
        zoo_config('mmdet', 'retinanet/retinanet_r50_fpn_1x_coco.py'),
        widen_factor=0.5)
    assert 'model.neck.in_channels=[160, 416, 800, 1056]' in message_of(cfg)
    check_neck_channels(
        Config.fromfile(
            zoo_config('mmdet', 'retinanet/retinanet_r50_fpn_1x_coco.py')))


def test_fit_channels_writes_what_the_check_wants():
    cfg = swapped(
        zoo_config('mmseg', 'ann/ann_r50-d8_4xb4-80k_ade20k-512x512.py'),
        widen_factor=0.5)
    cfg.model.pretrained = None
    cfg.model.decode_head.in_index = (1, 2)  # a tuple stays a tuple
    assert fit_channels(cfg) == [
        'model.decode_head.in_channels', 'model.auxiliary_head.in_channels'
    ]
    assert cfg.model.decode_head.in_channels == [416, 800]
    assert cfg.model.auxiliary_head.in_channels == 800  # in_index 2: head2
    check_neck_channels(cfg)
    assert fit_channels(cfg) == []
    cfg.model.decode_head.in_index = (1, 7)
    with pytest.raises(UserInputError, match=r'out of range: \[7\]'):
        fit_channels(cfg)
