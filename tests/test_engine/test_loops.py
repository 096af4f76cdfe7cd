"""AutocastValLoop / AutocastTestLoop: a real Runner validates in autocast
on the CPU, and on CUDA the loops set the default CUDA autocast dtype for
their run (decided without a GPU)."""
import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmfishnet.engine import amp, loops, mmcv_op_guard
from mmfishnet.utils.compat import (get_cuda_autocast_dtype,
                                    set_cuda_autocast_dtype)

pytestmark = pytest.mark.compat


class RecordingModel(BaseModel):
    """Records the dtype its linear layer computes in, and the op guard."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.seen = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        self.seen.append((out.dtype, mmcv_op_guard.active))
        return [out.float()]


class Count(BaseMetric):

    def process(self, data_batch, data_samples) -> None:
        self.results += list(data_samples)

    def compute_metrics(self, results) -> dict:
        return dict(count=len(results))


def validate(tmp_path, dtype):
    model = RecordingModel()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        val_dataloader=dict(
            dataset=[dict(inputs=torch.randn(2)) for _ in range(2)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1,
            collate_fn=dict(type='default_collate')),
        val_evaluator=Evaluator(Count()),
        val_cfg=dict(type='AutocastValLoop', dtype=dtype),
        default_scope='mmengine')
    assert runner.val() == dict(count=2)
    return model.seen


def test_cpu_validation_in_bf16_with_the_op_guard(tmp_path, monkeypatch):
    monkeypatch.setattr(amp, 'cpu_supports_bf16', lambda: True)
    assert validate(tmp_path, 'auto') == [(torch.bfloat16, True)] * 2
    assert not mmcv_op_guard.active


def test_cpu_without_bf16_validates_in_fp32(tmp_path, monkeypatch):
    monkeypatch.setattr(amp, 'cpu_supports_bf16', lambda: False)
    assert validate(tmp_path, 'auto') == [(torch.float32, False)] * 2


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_on_cuda_the_default_autocast_dtype_is_set_for_the_run(
        monkeypatch, dtype):
    monkeypatch.setattr(loops, 'amp_device_type', lambda: 'cuda')
    previous = get_cuda_autocast_dtype()
    other = torch.bfloat16 if dtype == torch.float16 else torch.float16
    set_cuda_autocast_dtype(other)
    try:
        with loops._default_cuda_autocast_dtype(dtype):
            assert get_cuda_autocast_dtype() == dtype
        assert get_cuda_autocast_dtype() == other  # restored
        with pytest.raises(KeyError):
            with loops._default_cuda_autocast_dtype(dtype):
                raise KeyError('a failing validation')
        assert get_cuda_autocast_dtype() == other
    finally:
        set_cuda_autocast_dtype(previous)


def test_on_the_cpu_the_cuda_default_is_left_alone(monkeypatch):
    monkeypatch.setattr(loops, 'amp_device_type', lambda: 'cpu')
    before = get_cuda_autocast_dtype()
    other = torch.bfloat16 if before == torch.float16 else torch.float16
    with loops._default_cuda_autocast_dtype(other):
        assert get_cuda_autocast_dtype() == before
