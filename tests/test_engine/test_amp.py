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
                              autocast_context, mmcv_op_guard, optim_wrapper,
                              resolve_amp_dtype)
from mmfishnet.models import FishNet, FishNetClsHead

pytestmark = pytest.mark.compat


@pytest.fixture
def bf16_cpu():
    """Skips where the CPU has no native bf16 (AVX512-BF16 or AMX): there
    torch emulates it, slowly, and the tools train in fp32 instead."""
    if not amp.cpu_supports_bf16():
        pytest.skip('no native bf16 on this CPU (AVX512-BF16 or AMX): bf16 '
                    'is emulated there, and the tools use fp32')


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


def test_state_dict_round_trip_and_fp16_scaler_state_is_dropped(
        bf16_cpu, monkeypatch):
    torch.manual_seed(0)
    model = TinyClassifier()
    wrapper = make_wrapper(model)
    x, y = torch.randn(4, 3, 32, 32), torch.arange(4)
    with wrapper.optim_context(model):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    wrapper.update_params(loss)  # momentum buffers to save
    state = wrapper.state_dict()
    assert 'loss_scaler' not in state
    state['loss_scaler'] = dict(scale=65536.0)  # from an fp16 run
    logged = []
    monkeypatch.setattr(optim_wrapper, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    restored = make_wrapper(TinyClassifier())
    restored.load_state_dict(state)
    assert restored.loss_scaler is None
    assert [
        m for m in logged if 'fp16 loss scaler state' in m and 'not used' in m
    ], logged
    saved, loaded = (w.optimizer.state_dict() for w in (wrapper, restored))
    assert saved['param_groups'] == loaded['param_groups']
    assert len(loaded['state']) == len(saved['state']) > 0
    for i, buffers in saved['state'].items():
        torch.testing.assert_close(loaded['state'][i]['momentum_buffer'],
                                   buffers['momentum_buffer'])


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


@pytest.fixture
def bf16_detector(monkeypatch):
    """The tiny detector, its batch and image size (H, W). Where this CPU
    has no native bf16, bf16 is forced (torch emulates it, slowly) on a
    smaller one, so that every CPU checks the op guard end to end."""
    if amp.cpu_supports_bf16():
        widen_factor, size = 0.25, (128, 160)
    else:
        monkeypatch.setattr(amp, 'cpu_supports_bf16', lambda: True)
        widen_factor, size = 0.125, (64, 96)
    return (*tiny_detector(widen_factor, size), size)


def test_bf16_detector_loss_and_predict(bf16_detector):
    model, packed, size = bf16_detector
    model.train()
    wrapper = make_wrapper(model)
    data = model.data_preprocessor(packed, True)
    # mmcv's RoIAlign and NMS take bf16 in the forward pass and RoIAlign's
    # backward too, through the op guard the wrapper switches on meanwhile
    with wrapper.optim_context(model):
        assert mmcv_op_guard.active
        losses = model(**data, mode='loss')
    assert not mmcv_op_guard.active
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss) and loss.dtype == torch.float32
    wrapper.backward(loss)
    assert not mmcv_op_guard.active
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
    assert results[0].pred_instances.masks.shape[1:] == size


def tiny_detector(widen_factor, size):
    """The FishNet-99 Mask R-CNN of the mmdet config at ``widen_factor``
    and with fewer RoIs, and two images of ``size`` (H, W)."""
    from conftest import REPO, load_config

    from mmfishnet.runtime import fit_channels
    from mmfishnet.testing import build_model, random_batch
    cfg = load_config(REPO / 'configs' / 'mask_rcnn_fishnet99_fpn_coco.py')
    cfg.model.backbone.widen_factor = widen_factor
    fit_channels(cfg)
    # 100 proposals (not 1000) and 128 sampled RoIs (not 512) per image
    for rpn in (cfg.model.train_cfg.rpn_proposal, cfg.model.test_cfg.rpn):
        rpn.update(nms_pre=200, max_per_img=100)
    cfg.model.train_cfg.rcnn.sampler.num = 128
    model = build_model(cfg, pretrained=False)
    return model, random_batch(model, cfg, (3, *size))


def test_plain_optim_wrapper_is_untouched():
    model = TinyClassifier()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        assert model(torch.randn(1, 3, 32, 32)).dtype == torch.float32


# ---- the CUDA side of the decisions, without a GPU -------------------------


@pytest.fixture
def fake_gpu(monkeypatch):
    """What the dtype choice asks about a GPU, answered for a V100 (no
    bf16) or an A100 (bf16): ``fake_gpu(bf16=...)``."""

    def fake(bf16: bool):
        monkeypatch.setattr(amp, 'cuda_has_native_bf16', lambda: bf16)
        monkeypatch.setattr(
            torch.cuda, 'get_device_name', lambda *args: 'NVIDIA A100'
            if bf16 else 'Tesla V100-SXM2-32GB')

    return fake


def test_cuda_dtype_choice(fake_gpu):
    fake_gpu(bf16=True)
    assert resolve_amp_dtype('auto', 'cuda') == torch.bfloat16
    assert resolve_amp_dtype('bfloat16', 'cuda') == torch.bfloat16
    assert resolve_amp_dtype('float16', 'cuda') == torch.float16
    assert resolve_amp_dtype(torch.float16, 'cuda') == torch.float16
    fake_gpu(bf16=False)
    assert resolve_amp_dtype('auto', 'cuda') == torch.float16
    assert resolve_amp_dtype('fp16', 'cuda') == torch.float16
    with pytest.raises(ValueError, match='Tesla V100.*no bfloat16'):
        resolve_amp_dtype('bfloat16', 'cuda')


def test_amp_device_is_mmengines_choice(monkeypatch):
    monkeypatch.setattr(amp, 'get_device', lambda: 'cuda')
    assert amp.amp_device_type() == 'cuda'
    monkeypatch.setattr(amp, 'get_device', lambda: 'npu')
    with pytest.raises(RuntimeError, match="CUDA and the CPU, not 'npu'"):
        amp.amp_device_type()


@pytest.mark.parametrize('bf16, dtype, scaled', [
    (True, 'auto', False),
    (False, 'auto', True),
    (True, 'float16', True),
])
def test_wrapper_on_a_gpu_scales_the_loss_for_fp16_only(
        monkeypatch, fake_gpu, bf16, dtype, scaled):
    fake_gpu(bf16)
    monkeypatch.setattr(optim_wrapper, 'amp_device_type', lambda: 'cuda')
    built = []
    monkeypatch.setattr(
        optim_wrapper, 'grad_scaler', lambda device, **kwargs: built.append(
            (device, kwargs)) or 'scaler')
    wrapper = make_wrapper(TinyClassifier(), dtype=dtype)
    assert wrapper.device_type == 'cuda'
    assert wrapper.cast_dtype == (torch.float16 if scaled else torch.bfloat16)
    assert wrapper.loss_scaler == ('scaler' if scaled else None)
    assert built == ([('cuda', {})] if scaled else [])


def test_autocast_guards_mmcv_ops_on_every_device(monkeypatch):
    entered = []

    class FakeAutocast:

        def __init__(self, device_type, dtype):
            entered.append((device_type, dtype))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(amp.torch, 'autocast', FakeAutocast)
    with autocast_context(torch.float16, 'cuda'):
        assert mmcv_op_guard.active
    with autocast_context(torch.bfloat16, 'cpu'):
        assert mmcv_op_guard.active
    assert not mmcv_op_guard.active
    assert entered == [('cuda', torch.float16), ('cpu', torch.bfloat16)]


needs_cpu_scaler = pytest.mark.skipif(
    not hasattr(torch.amp, 'GradScaler'),
    reason=f'torch {torch.__version__} has loss scaling for CUDA only '
    '(torch.amp.GradScaler is torch >= 2.3)')


@pytest.fixture
def fp16_wrapper(monkeypatch):
    """``make_wrapper`` for a model in fp16 mode with its loss scaler on the
    CPU (the arithmetic of ``torch.amp.GradScaler`` is the same there)."""
    monkeypatch.setattr(optim_wrapper, 'resolve_amp_dtype',
                        lambda dtype, device: torch.float16)
    return make_wrapper


class TwoWeights(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[1.0, -2.0]]))

    def loss(self, scale=1.0):
        return self.linear(torch.tensor([[3.0, 4.0]])).sum() * scale


@needs_cpu_scaler
def test_fp16_loss_scaler_scales_unscales_and_skips_overflows(fp16_wrapper):
    model = TwoWeights()
    wrapper = fp16_wrapper(model)  # SGD lr 0.1, momentum 0.9
    assert wrapper.cast_dtype == torch.float16
    assert wrapper.loss_scaler.get_scale() == 65536.0
    wrapper.backward(model.loss())
    # the gradient of the scaled loss: [3, 4] times the scale
    torch.testing.assert_close(model.linear.weight.grad,
                               torch.tensor([[3.0, 4.0]]) * 65536)
    wrapper.step()
    wrapper.zero_grad()
    # the step used the unscaled gradient
    torch.testing.assert_close(model.linear.weight.detach(),
                               torch.tensor([[1.0 - 0.3, -2.0 - 0.4]]))
    # an overflowing step is skipped and the scale backs off
    before = model.linear.weight.detach().clone()
    wrapper.backward(model.loss(scale=float('inf')))
    wrapper.step()
    wrapper.zero_grad()
    torch.testing.assert_close(model.linear.weight.detach(), before)
    assert wrapper.loss_scaler.get_scale() == 32768.0


@needs_cpu_scaler
def test_fp16_gradients_are_unscaled_before_clipping(fp16_wrapper):
    model = TwoWeights()
    wrapper = fp16_wrapper(model, clip_grad=dict(max_norm=1.0))
    wrapper.backward(model.loss())  # true gradient [3, 4], norm 5
    wrapper.step()
    # clipped to norm 1 (not the scaled norm 5 * 65536): lr 0.1 x [0.6, 0.8]
    torch.testing.assert_close(model.linear.weight.detach(),
                               torch.tensor([[1.0 - 0.06, -2.0 - 0.08]]))


@needs_cpu_scaler
def test_fp16_static_scale_stays_and_scaler_state_round_trips(fp16_wrapper):
    model = TwoWeights()
    wrapper = fp16_wrapper(model, loss_scale=512.0)
    wrapper.backward(model.loss(scale=float('inf')))
    wrapper.step()
    assert wrapper.loss_scaler.get_scale() == 512.0  # static: no back-off
    dynamic = fp16_wrapper(model)
    dynamic.backward(model.loss())
    dynamic.step()
    dynamic.loss_scaler.update(1024.0)
    state = dynamic.state_dict()
    assert state['loss_scaler']['scale'] == 1024.0
    restored = fp16_wrapper(TwoWeights())
    restored.load_state_dict(state)
    assert restored.loss_scaler.get_scale() == 1024.0
    with pytest.raises(TypeError, match="loss_scale must be 'dynamic'"):
        fp16_wrapper(model, loss_scale='static')
