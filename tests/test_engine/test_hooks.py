"""channels_last and conv-BN fusion give the same outputs as the plain
model; the hooks' process-wide changes last for their run only."""
from types import SimpleNamespace

import torch
import torch.nn as nn

from mmfishnet.checkpoint import atomic_saving, safe_loading
from mmfishnet.engine import (ChannelsLastHook, CheckpointSafetyHook,
                              FuseConvBNHook, mmcv_cpu_op_guard,
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


def test_channels_last_hook_guards_mmcv_ops_for_its_run_on_the_cpu():
    runner = SimpleNamespace(model=nn.Conv2d(3, 4, 1))
    hook = ChannelsLastHook()
    assert not mmcv_cpu_op_guard.active
    hook.before_run(runner)
    assert mmcv_cpu_op_guard.active
    hook.after_run(runner)
    assert not mmcv_cpu_op_guard.active


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
