"""channels_last and conv-BN fusion give the same outputs as the plain
model; the hooks' process-wide changes last for their run only; a compiled
loss trains like the eager one and compiles once per input shape."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmfishnet.checkpoint import atomic_saving, safe_loading
from mmfishnet.engine import (ChannelsLastHook, CheckpointSafetyHook,
                              CompileLossHook, CompileTestStepHook,
                              FuseConvBNHook, cpu_supports_bf16, mmcv_op_guard,
                              to_channels_last)
from mmfishnet.models import FishNet, FishNetClsHead


class Classifier(nn.Module):

    def __init__(self, arch='fishnet99'):
        super().__init__()
        self.backbone = FishNet(arch, out_indices=(9, ))
        self.head = FishNetClsHead(num_classes=10)

    def forward(self, x):
        return self.head(self.backbone(x))


def with_random_bn_statistics(model):
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def relative_error(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def test_channels_last_hook_gives_the_same_outputs():
    model = with_random_bn_statistics(Classifier())
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        expected = model(x)
    runner = SimpleNamespace(model=model)
    hooks = [ChannelsLastHook(), ChannelsLastHook()]
    for hook in hooks:  # converting twice is harmless
        hook.before_run(runner)
    conv = model.backbone.stem[0].conv.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    seen = []
    model.backbone.stem.register_forward_pre_hook(lambda m, args: seen.append(
        args[0].is_contiguous(memory_format=torch.channels_last)))
    with torch.no_grad():
        actual = model(x)
    assert seen == [True]  # the images reach the backbone as NHWC
    assert relative_error(actual, expected) < 1e-5
    for hook in hooks:
        hook.after_run(runner)


def test_channels_last_training_step_matches():
    # float64: in float32 a from-scratch FishNet in train mode amplifies
    # summation-order rounding to a few percent in the stem's gradients
    torch.manual_seed(0)
    reference = Classifier().double()
    converted = to_channels_last(Classifier().double())
    converted.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    for model in (reference, converted):
        model.train()
        model(x).square().mean().backward()
    scale = max(p.grad.abs().max() for p in reference.parameters())
    for (name, a), b in zip(reference.named_parameters(),
                            converted.parameters()):
        assert ((b.grad - a.grad).abs().max() / scale) < 1e-9, name


def dilated_net():
    """A conv into a dilation-4 conv of 40 channels, the layer of FishNet-99
    w0.625's body3 that oneDNN's bf16 NHWC backward-weights kernel turns NaN
    on AVX512-BF16 CPUs."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 40, 3, padding=1), nn.ReLU(),
        nn.Conv2d(40, 40, 3, padding=4, dilation=4))


def test_dilated_convs_train_in_nchw_under_cpu_bf16_only():
    reference, converted = dilated_net(), to_channels_last(dilated_net())
    dilated = converted[2]
    assert converted[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert dilated.weight.is_contiguous()
    seen = []
    dilated.register_forward_hook(lambda m, args, out: seen.append(
        (args[0].is_contiguous(memory_format=torch.channels_last),
         out.is_contiguous(memory_format=torch.channels_last))))
    x = torch.randn(8, 3, 45, 60).contiguous(memory_format=torch.channels_last)
    converted(x)  # fp32: NHWC throughout
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        converted(x)  # bf16 inference: NHWC
    with torch.autocast('cpu', dtype=torch.bfloat16):
        converted(x).float().square().mean().backward()
    assert seen == [(True, True), (True, True), (False, False)]
    reference(x).square().mean().backward()
    for a, b in zip(reference.parameters(), converted.parameters()):
        assert torch.isfinite(b.grad).all()
        assert relative_error(b.grad, a.grad) < 0.05


@pytest.mark.skipif(
    not cpu_supports_bf16(),
    reason='the NaN came from oneDNN\'s native bf16 kernel; bf16 emulated on '
    'a CPU without AVX512-BF16/AMX is slow and cannot reproduce it')
def test_fishnet_w0625_trains_finite_under_cpu_bf16_channels_last():
    # on AVX512-BF16 CPUs (torch 2.14.1) its body3 weight gradients were NaN
    torch.manual_seed(0)
    backbone = to_channels_last(
        FishNet('fishnet99', widen_factor=0.625, out_indices=(6, 7, 8, 9)))
    x = torch.randn(8, 3, 180, 240)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = backbone(x)
    sum(o.float().mean() for o in outs).backward()
    body3 = backbone.body3.trunk[0].conv2
    assert (body3.in_channels, body3.dilation) == (40, (4, 4))
    bad = [
        n for n, p in backbone.named_parameters()
        if not torch.isfinite(p.grad).all()
    ]
    assert not bad


def test_fuse_conv_bn_hook_folds_97_of_150_norms_exactly():
    model = with_random_bn_statistics(Classifier('fishnet150'))
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        expected = model(x)
    FuseConvBNHook().before_test(SimpleNamespace(model=model))
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert norms == 150 - 97  # backbone 148 + head 2; 96 + 1 folded
    with torch.no_grad():
        actual = model(x)
    assert relative_error(actual, expected) < 1e-5


@pytest.mark.parametrize('device', ['cpu', 'meta'])
def test_channels_last_hook_guards_mmcv_ops_for_its_run(device):
    """On every device: mmcv's CUDA kernels read NCHW too (meta stands in
    for CUDA here)."""
    runner = SimpleNamespace(model=nn.Conv2d(3, 4, 1, device=device))
    hook = ChannelsLastHook()
    assert not mmcv_op_guard.active
    hook.before_run(runner)
    assert mmcv_op_guard.active
    assert runner.model.weight.is_contiguous(memory_format=torch.channels_last)
    hook.after_run(runner)
    assert not mmcv_op_guard.active


def test_checkpoint_safety_hook_switches_each_part_for_one_run():
    runner = SimpleNamespace(model=nn.Linear(1, 1))
    both = CheckpointSafetyHook()
    both.before_run(runner)
    assert safe_loading.active and atomic_saving.active
    both.after_run(runner)
    assert not (safe_loading.active or atomic_saving.active)

    only_loading = CheckpointSafetyHook(atomic_saving=False)
    only_loading.before_run(runner)
    assert safe_loading.active and not atomic_saving.active
    only_loading.after_run(runner)
    assert not safe_loading.active


class ConvNet(BaseModel):
    """conv-BN-ReLU, pooling and a linear classifier, with mmengine's
    ``forward(mode)`` / ``loss`` split."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.fc = nn.Linear(8, 3)

    def logits(self, inputs):
        return self.fc(self.features(inputs).mean((2, 3)))

    def loss(self, inputs, labels):
        return dict(
            loss=nn.functional.cross_entropy(self.logits(inputs), labels))

    def forward(self, inputs, labels=None, mode='tensor'):
        inputs, labels = torch.stack(inputs), torch.stack(labels)
        if mode == 'loss':
            return self.loss(inputs, labels)
        return self.logits(inputs)


class RandomImages(torch.utils.data.Dataset):

    def __len__(self):
        return 10  # batches of 4, 4 and 2: two input shapes

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(
            inputs=torch.randn(3, 8, 8, generator=g),
            labels=torch.randint(3, (), generator=g))


def train_conv_net(work_dir, hooks, iters=8):
    torch.manual_seed(0)
    runner = Runner(
        model=ConvNet(),
        work_dir=str(work_dir),
        experiment_name=f'compile_loss_hook_{work_dir.name}',
        train_dataloader=dict(
            dataset=RandomImages(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=4,
            num_workers=0),
        # a new learning rate at every iteration
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(
            type='MultiStepLR',
            milestones=list(range(1, iters)),
            gamma=0.8,
            by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=-1)),
        custom_hooks=hooks)
    runner.train()
    return runner


def recording_backend(graphs):
    """A torch.compile backend that runs each graph as traced and keeps
    it in ``graphs``."""

    def backend(graph_module, example_inputs):
        graphs.append(graph_module)
        return graph_module.forward

    return backend


@pytest.mark.compat
def test_compile_loss_hook_compiles_once_per_shape_not_per_lr(tmp_path):
    graphs = []
    torch._dynamo.reset()
    hook = CompileLossHook(dict(backend=recording_backend(graphs)))
    compiled = train_conv_net(tmp_path / 'compiled', [hook])
    eager = train_conv_net(tmp_path / 'eager', [])

    lr = compiled.optim_wrapper.optimizer.param_groups[0]['lr']
    assert lr == pytest.approx(0.1 * 0.8**7)  # 7 learning rate changes
    # batch 4, then batch 2 (one graph for dynamic shapes), then no more
    assert len(graphs) == 2
    assert 'loss' not in vars(compiled.model)  # the method is back
    for (name, p), q in zip(compiled.model.named_parameters(),
                            eager.model.parameters()):
        torch.testing.assert_close(p, q, msg=name)


@pytest.mark.compat
def test_compile_test_step_hook_compiles_for_the_test_only():
    graphs = []
    torch._dynamo.reset()
    model = ConvNet().eval()
    batch = RandomImages()[0]
    data = dict(inputs=[batch['inputs']], labels=[batch['labels']])
    expected = model.test_step(data)
    runner = SimpleNamespace(model=model)
    hook = CompileTestStepHook(dict(backend=recording_backend(graphs)))
    hook.before_test(runner)
    torch.testing.assert_close(model.test_step(data), expected)
    assert len(graphs) >= 1
    hook.after_test(runner)
    assert 'test_step' not in vars(model)
