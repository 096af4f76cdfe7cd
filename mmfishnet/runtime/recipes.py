"""Which FishNet maps each neck and head of mmdet and mmseg reads, and the
lines of a user's config that give it them.

The one table behind :func:`~mmfishnet.runtime.check_neck_channels` (its
reading rules below), ``tools/analysis/zoo_compat.py`` (it types every
recipe into an upstream config of each model family) and the table of
``docs/backbone.md`` (a test compares them). Each recipe's lines go into
``model = dict(...)`` beside ``data_preprocessor`` of a config whose
``_base_`` holds the upstream config and ``configs/_base_/fishnet.py``.

The maps (``configs/_base_/fishnet.py`` names them like ResNet's C2-C5):

=====  =======  ======  ========================  ================
name   stage    stride  channels (every arch)     FishNet index
=====  =======  ======  ========================  ================
c2     body3    4       320                       6
c3     head1    8       832                       7
c4     head2    16      1600                      8
c5     head3    32      2112                      9
=====  =======  ======  ========================  ================
"""
from typing import List, NamedTuple, Tuple

# ---- the reading rules of the toolboxes, as check_neck_channels applies
# them: a neck with a list of in_channels reads every map in order, these
# necks deepest first; an int reads the last map
DEEPEST_FIRST_NECKS = ('YOLOV3Neck', 'mmdet.YOLOV3Neck')
#: mmdet's MaskFormer / Mask2Former heads take the maps without a neck
PANOPTIC_HEAD = 'panoptic_head'
#: mmseg's heads that read the backbone maps by ``in_index`` when there is
#: no neck (mmseg's default index: -1, the last map)
SEG_HEADS = ('decode_head', 'auxiliary_head')
SEG_DEFAULT_INDEX = -1
#: a head inside a head that reads the maps like a decode head (K-Net)
NESTED_HEAD = 'kernel_generate_head'
#: mmpretrain's classification head: the last map
CLS_HEAD = 'head'

#: the line of every mmseg config with an auxiliary head (mmseg's FCN on
#: ResNet's stage 3): head2, stride 16
AUXILIARY_HEAD = ('auxiliary_head=dict(in_index=2, '
                  'in_channels={{_base_.fishnet_channels.c4}})')
PREPROCESSOR = 'data_preprocessor={{_base_.fishnet_preprocessor}}'
# mmseg's ResNet configs set a model-level pretrained (ResNet weights),
# which the segmentor hands to the backbone
NO_RESNET_WEIGHTS = 'pretrained=None'


class Recipe(NamedTuple):
    """One row: ``parts`` (the necks and heads, with their families) read
    the maps of the fragment's backbone ``use`` through ``lines``;
    ``auxiliary_head``: the upstream configs have mmseg's auxiliary head,
    so :data:`AUXILIARY_HEAD` (or ``auxiliary_line``) goes with it."""
    name: str
    toolbox: str
    parts: str
    use: str
    lines: Tuple[str, ...]
    auxiliary_head: bool = False
    auxiliary_line: str = AUXILIARY_HEAD

    def config_lines(self, arch: str = 'fishnet150') -> List[str]:
        """The entries of ``model = dict(...)`` after the preprocessor."""
        lines = [NO_RESNET_WEIGHTS] if self.toolbox == 'mmseg' else []
        lines.append(f'backbone={{{{_base_.{arch}.{self.use}}}}}')
        lines += self.lines
        if self.auxiliary_head:
            lines.append(self.auxiliary_line)
        return lines


def _channels(name: str) -> str:
    return f'{{{{_base_.fishnet_channels.{name}}}}}'


C2, C3, C4, C5 = (_channels(c) for c in ('c2', 'c3', 'c4', 'c5'))
C2_C5, C3_C5 = _channels('c2_c5'), _channels('c3_c5')

RECIPES: Tuple[Recipe, ...] = (
    Recipe(
        'fpn', 'mmdet',
        'FPN, PAFPN, NAS-FPN, FPG, YOLACT (any neck that takes the four '
        'maps of strides 4-32)', 'det_c2_c5',
        (f'neck=dict(in_channels={C2_C5})', )),
    Recipe('fpn_then', 'mmdet',
           'a list of necks starting with FPN (Libra R-CNN BFP, DyHead)',
           'det_c2_c5', (f'neck=[dict(_base_.model.neck[0], '
                         f'in_channels={C2_C5}), *_base_.model.neck[1:]]', )),
    Recipe(
        'c3_c5', 'mmdet',
        'ChannelMapper of DINO, Deformable DETR, DDQ; CSPNeXtPAFPN '
        '(RTMDet); YOLOXPAFPN (YOLOX)', 'det_c3_c5',
        (f'neck=dict(in_channels={C3_C5})', )),
    Recipe('c5_list', 'mmdet',
           'ChannelMapper of DETR, Conditional DETR, DAB-DETR', 'det_c5',
           (f'neck=dict(in_channels=[{C5}])', )),
    Recipe('c5', 'mmdet',
           'one-map necks: CTResNetNeck (CenterNet), DilatedEncoder (YOLOF)',
           'det_c5', (f'neck=dict(in_channels={C5})', )),
    Recipe('yolov3', 'mmdet', 'YOLOV3Neck (deepest map first)', 'det_c3_c5',
           (f'neck=dict(in_channels={_channels("c5_c3")})', )),
    Recipe('mask2former', 'mmdet',
           'Mask2Former / MaskFormer pixel decoders (mmdet)', 'det_c2_c5',
           (f'panoptic_head=dict(in_channels={C2_C5})', )),
    Recipe('seg_neck', 'mmseg',
           'mmseg FPN neck on the four maps (Semantic FPN, PointRend)',
           'seg_c2_c5', (f'neck=dict(in_channels={C2_C5})', )),
    Recipe(
        'seg_jpu',
        'mmseg', "FastFCN's JPU neck on head1-3 (it asserts a tuple); the "
        'auxiliary head keeps its index 1 of the neck outputs, head2',
        'seg_c3_c5', (f'neck=dict(in_channels={_channels("c3_c5_tuple")})', ),
        auxiliary_head=True,
        auxiliary_line=f'auxiliary_head=dict(in_channels={C4})'),
    Recipe(
        'seg_maps_aux',
        'mmseg',
        'UPerNet: every map',
        'seg_c2_c5', (f'decode_head=dict(in_channels={C2_C5})', ),
        auxiliary_head=True),
    Recipe('seg_maps', 'mmseg', 'Mask2Former, MaskFormer (mmseg): every map',
           'seg_c2_c5', (f'decode_head=dict(in_channels={C2_C5})', )),
    Recipe(
        'seg_stride8',
        'mmseg',
        'one stride-8 map: FCN, PSPNet, DANet, DeepLabV3, CCNet, APCNet, '
        'DMNet, DNLNet, EMANet, GCNet, ISANet, NonLocal, PSANet read head1',
        'seg_c2_c5', (f'decode_head=dict(in_index=1, in_channels={C3})', ),
        auxiliary_head=True),
    Recipe(
        'seg_deeplabv3plus',
        'mmseg', 'DeepLabV3+: ASPP on head1, its stride-4 c1 map is body3 '
        '(input 0)',
        'seg_c2_c5', (f'decode_head=dict(in_index=1, in_channels={C3}, '
                      f'c1_in_channels={C2})', ),
        auxiliary_head=True),
    Recipe(
        'seg_two_maps',
        'mmseg',
        'ANN: its low and high maps are head1 and head2',
        'seg_c2_c5',
        (f'decode_head=dict(in_index=[1, 2], in_channels=[{C3}, {C4}])', ),
        auxiliary_head=True),
    Recipe(
        'seg_enc',
        'mmseg',
        'EncNet: its three maps are head1-3',
        'seg_c2_c5',
        (f'decode_head=dict(in_index=(1, 2, 3), in_channels={C3_C5})', ),
        auxiliary_head=True),
    Recipe(
        'seg_cascade', 'mmseg',
        "OCRNet: a list of two decode heads (FCN's object regions, then "
        'OCR), both on head1', 'seg_c2_c5',
        ('decode_head=[dict(_base_.model.decode_head[0], in_index=1, '
         f'in_channels={C3}), dict(_base_.model.decode_head[1], '
         f'in_index=1, in_channels={C3})]', )),
    Recipe(
        'seg_knet',
        'mmseg',
        'K-Net: the kernel-generating head on head1',
        'seg_c2_c5', ('decode_head=dict(kernel_generate_head=dict(in_index=1, '
                      f'in_channels={C3}))', ),
        auxiliary_head=True),
)
RECIPES_BY_NAME = {recipe.name: recipe for recipe in RECIPES}
