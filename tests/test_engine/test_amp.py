"""bf16/fp16 autocast: dtype choice, the optimizer wrapper, a classifier and
a detector step in bf16 on the CPU.

The bf16 steps run on every CPU: where it has no native bf16 (AVX2 only),
the dtype choice is told it has, and bf16 autocast still computes the same
results, only slower."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from mmfishnet.engine import (MixedPrecisionOptimWrapper, amp,
                              autocast_context, mmcv_cpu_op_guard,
                              resolve_amp_dtype)
from mmfishnet.models import FishNet, FishNetClsHead

pytestmark = pytest.mark.compat


@pytest.fixture
def bf16_cpu(monkeypatch):
    """bf16 autocast on this CPU, native or not."""
    monkeypatch.setattr(amp, 'cpu_supports_bf16', lambda: True)


class TinyClassifier(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = FishNet(
            'fishnet99', stem_stride=1, widen_factor=0.25, out_indices=(9, ))
        self.head = FishNetClsHead(num_classes=10, in_channels=528)

    def forward(self, x):
        return self.head(self.backbone(x))


def make_wrapper(model, **kwargs):
    return OPTIM_WRAPPERS.build(
        dict(
            type='MixedPrecisionOptimWrapper',
            optimizer=torch.optim.SGD(
                model.parameters(), lr=0.1, momentum=0.9),
            **kwargs))


def test_cpu_dtype_choice(monkeypatch):
    monkeypatch.setattr(amp, 'cpu_supports_bf16', lambda: True)
    assert resolve_amp_dtype('auto', 'cpu') == torch.bfloat16
    assert resolve_amp_dtype('bfloat16', 'cpu') == torch.bfloat16
    with pytest.raises(
            ValueError, match='float16 mixed precision is for CUDA'):
        resolve_amp_dtype('float16', 'cpu')
    with pytest.raises(ValueError, match='unknown mixed precision dtype'):
        resolve_amp_dtype('int8', 'cpu')


def test_cpu_without_bf16_falls_back_to_fp32_with_one_line(monkeypatch):
    monkeypatch.setattr(amp, 'cpu_supports_bf16', lambda: False)
    logged = []
    monkeypatch.setattr(amp, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    model = TinyClassifier()
    wrapper = make_wrapper(model)
    assert wrapper.cast_dtype is None and wrapper.loss_scaler is None
    lines = [line for line in logged if 'no native bfloat16' in line]
    assert len(lines) == 1 and 'running in float32' in lines[0]
    with wrapper.optim_context(model):
        assert model(torch.randn(2, 3, 32, 32)).dtype == torch.float32


def test_bf16_classifier_step_is_close_to_fp32(bf16_cpu):
    torch.manual_seed(0)
    model = TinyClassifier()
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8)
    fp32_loss = torch.nn.functional.cross_entropy(model(x), y)
    wrapper = make_wrapper(model)
    assert isinstance(wrapper, MixedPrecisionOptimWrapper)
    assert wrapper.cast_dtype == torch.bfloat16
    assert wrapper.loss_scaler is None  # bf16 needs no loss scaling
    before = model.head.fc.weight.detach().clone()
    with wrapper.optim_context(model):
        feats = model.backbone(x)
        logits = model.head(feats)
        loss = torch.nn.functional.cross_entropy(logits, y)
    assert feats[0].dtype == torch.bfloat16  # computed in bf16
    assert logits.dtype == torch.float32  # heads return float32
    assert torch.isfinite(loss)
    assert abs(loss.item() - fp32_loss.item()) < 0.02 * fp32_loss.item()
    wrapper.update_params(loss)
    assert not torch.equal(before, model.head.fc.weight)
    assert model.head.fc.weight.dtype == torch.float32  # fp32 master weights


def test_state_dict_round_trip_and_fp16_scaler_state_is_dropped(bf16_cpu):
    model = TinyClassifier()
    wrapper = make_wrapper(model)
    state = wrapper.state_dict()
    assert 'loss_scaler' not in state
    state['loss_scaler'] = dict(scale=65536.0)  # from an fp16 run
    wrapper.load_state_dict(state)


def test_amp_optim_wrapper_configs_become_ours_on_the_cpu():
    from mmengine.config import Config

    from mmfishnet.runtime import adapt_config_to_cpu
    cfg = Config(
        dict(
            optim_wrapper=dict(
                type='AmpOptimWrapper',
                loss_scale='dynamic',
                optimizer=dict(type='SGD', lr=0.1)),
            model=dict(),
            launcher='none'))
    changes = adapt_config_to_cpu(cfg)
    assert cfg.optim_wrapper.type == 'MixedPrecisionOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert any('MixedPrecisionOptimWrapper' in c for c in changes)


def test_bf16_detector_loss_and_predict(tiny_detector, bf16_cpu):
    model, packed = tiny_detector
    model.train()
    wrapper = make_wrapper(model)
    data = model.data_preprocessor(packed, True)
    # mmcv's RoIAlign and NMS take bf16 in the forward pass and RoIAlign's
    # backward too, through the op guard the wrapper switches on meanwhile
    with wrapper.optim_context(model):
        assert mmcv_cpu_op_guard.active
        losses = model(**data, mode='loss')
    assert not mmcv_cpu_op_guard.active
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss) and loss.dtype == torch.float32
    wrapper.backward(loss)
    assert not mmcv_cpu_op_guard.active
    assert all(
        torch.isfinite(p.grad).all() for p in model.parameters()
        if p.grad is not None)
    model.eval()
    data = model.data_preprocessor(packed, False)
    with torch.no_grad():
        fp32_feats = model.extract_feat(data['inputs'])
        with autocast_context(torch.bfloat16, 'cpu'):
            bf16_feats = model.extract_feat(data['inputs'])
            results = model(**data, mode='predict')
    for a, b in zip(fp32_feats, bf16_feats):
        assert b.dtype == torch.bfloat16
        assert ((a - b.float()).abs().max() / a.abs().max()) < 0.05
    boxes = results[0].pred_instances.bboxes
    assert boxes.dtype == torch.float32  # not rounded to bf16
    assert results[0].pred_instances.masks.shape[1:] == (128, 160)


@pytest.fixture
def tiny_detector():
    """A FishNet-99 Mask R-CNN (mmdet config) and two 128x160 images."""
    from conftest import REPO
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = Config.fromfile(REPO / 'configs' / 'mask_rcnn_fishnet99_fpn_coco.py')
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    packed = demo_mm_inputs(
        2, [(3, 128, 160)] * 2,
        num_items=[3, 3],
        num_classes=80,
        with_mask=True)
    return model, packed


def test_plain_optim_wrapper_is_untouched():
    model = TinyClassifier()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        assert model(torch.randn(1, 3, 32, 32)).dtype == torch.float32
