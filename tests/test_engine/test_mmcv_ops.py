"""mmcv's kernels under bf16 and channels_last (the op guard): run on the
CPU here; the CUDA rules are checked as a table, and on a GPU by
tools/gpu/acceptance.py (its mmcv ops row). The table of the arguments each
kernel writes into is checked against mmcv's own wrappers, and against the
functions the project's detectors call."""
import ast
import contextlib
import inspect
from pathlib import Path

import mmcv.ops
import pytest
import torch
from conftest import REPO, load_config
from mmcv.ops import batched_nms, nms, roi_align
from mmcv.utils import ext_loader

from mmfishnet.engine.mmcv_ops import (WRITTEN_ARGUMENTS, copy_dtype,
                                       guarded_ext_functions, mmcv_op_guard)

pytestmark = pytest.mark.compat


@pytest.fixture(autouse=True)
def guard():
    with mmcv_op_guard.scope():
        yield


def test_the_guard_wraps_every_op_while_enabled_and_restores_them():
    ext = ext_loader.load_ext('_ext', [])
    wrapped = guarded_ext_functions()
    assert set(wrapped) == set(WRITTEN_ARGUMENTS) & set(dir(ext))
    assert {'nms', 'roi_align_forward', 'roi_align_backward'} <= set(wrapped)
    original = ext.nms.__wrapped__
    mmcv_op_guard.disable()  # the fixture's enable: off now
    try:
        assert ext.nms is original and guarded_ext_functions() == []
        with pytest.raises(RuntimeError, match='BFloat16|Float'):
            nms(torch.tensor([[0, 0, 10, 10.]]).bfloat16(),
                torch.tensor([0.9]).bfloat16(),
                iou_threshold=0.5)
    finally:
        mmcv_op_guard.enable()


def test_roi_align_takes_bf16_and_channels_last():
    torch.manual_seed(0)
    feats = torch.randn(2, 8, 20, 24)
    rois = torch.tensor([[0, 1., 2., 15., 12.], [1, 3., 4., 20., 18.]])
    expected = roi_align(feats, rois, 7, 0.5, 2)
    nhwc = roi_align(
        feats.contiguous(memory_format=torch.channels_last), rois, 7, 0.5, 2)
    assert torch.equal(nhwc, expected)
    bf16 = roi_align(feats.bfloat16(), rois, 7, 0.5, 2)
    assert bf16.dtype == torch.bfloat16
    assert (bf16.float() - expected).abs().max() < 0.05


def test_roi_align_gradient_in_bf16():
    feats = torch.randn(1, 4, 16, 16).bfloat16().requires_grad_()
    rois = torch.tensor([[0, 2., 2., 12., 10.]])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = roi_align(feats, rois, 4, 1.0, 2)
    out.sum().backward()
    assert feats.grad.dtype == torch.bfloat16
    assert feats.grad.abs().sum() > 0


def test_nms_takes_bf16_scores():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores.bfloat16(), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    _, keep = batched_nms(boxes, scores.bfloat16(), torch.tensor([0, 1, 0]),
                          dict(type='nms', iou_threshold=0.5))
    assert sorted(keep.tolist()) == [0, 1, 2]


def raw_roi_align(x: torch.Tensor) -> torch.Tensor:
    """mmcv's CPU RoIAlign kernel called on ``x`` as it is, past the guard,
    with outputs allocated as mmcv's wrapper does."""
    kernel = ext_loader.load_ext('_ext', []).roi_align_forward
    rois = torch.tensor([[0, 2., 2., 12., 10.]], dtype=x.dtype)
    out = x.new_zeros(1, x.shape[1], 4, 4)
    getattr(kernel, '__wrapped__', kernel)(
        x,
        rois,
        out,
        x.new_zeros(0),
        x.new_zeros(0),
        aligned_height=4,
        aligned_width=4,
        spatial_scale=1.0,
        sampling_ratio=2,
        pool_mode=1,
        aligned=True)
    return out


@pytest.mark.parametrize('dtype',
                         [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize('contiguous', [True, False])
def test_a_cpu_kernel_gets_a_copy_exactly_where_it_cannot_read_the_tensor(
        dtype, contiguous):
    """Where mmcv's CPU kernel, given the tensor as it is, fails (bf16),
    reads it wrongly (channels_last) or computes in less than float32
    precision (fp16), the guard gives it a float32 copy; elsewhere none."""
    x = torch.randn(1, 8, 16, 16)
    reference = raw_roi_align(x)
    y = x.to(dtype)
    if not contiguous:
        y = y.to(memory_format=torch.channels_last)
    try:
        out = raw_roi_align(y)
        reads_it = out.dtype == torch.float32 and torch.allclose(
            out, reference, rtol=1e-5, atol=1e-6)
    except (RuntimeError, NotImplementedError):
        reads_it = False
    copy = copy_dtype('cpu', dtype, contiguous)
    assert copy == (None if reads_it else torch.float32)
    # the guard (this module's fixture) gives the kernel what it reads
    guarded = roi_align(y,
                        torch.tensor([[0, 2., 2., 12., 10.]]).to(dtype), 4,
                        1.0, 2)
    torch.testing.assert_close(
        guarded.float(),
        reference.to(dtype).float(),
        rtol=0.02 if dtype != torch.float32 else 1e-5,
        atol=0.02 if dtype != torch.float32 else 1e-6)


@pytest.mark.parametrize(
    'dtype,contiguous,copy',
    [
        # mmcv 2.1's CUDA kernels dispatch float32 and float16 and read
        # NCHW; no GPU here: on one, tools/gpu/acceptance.py runs them
        (torch.float32, True, None),
        (torch.float16, True, None),
        (torch.bfloat16, True, torch.float32),
        (torch.float16, False, torch.float16),
        (torch.float32, False, torch.float32),
    ])
def test_the_copy_each_cuda_kernel_gets(dtype, contiguous, copy):
    assert copy_dtype('cuda', dtype, contiguous) == copy
    assert copy_dtype('meta', dtype, contiguous) is None


def test_nan_passes_through_and_inputs_are_never_written():
    """A NaN in a map is a value like any other: the guard copies back only
    the kernel's outputs, so the map autograd saved keeps its version and
    the loss comes out NaN instead of an autograd error."""
    x = torch.randn(1, 4, 16, 16)
    x[0, 0, 4, 4] = float('nan')
    x.requires_grad_()
    feats = torch.relu(x.bfloat16())  # relu saves its output for backward
    version = feats._version
    rois = torch.tensor([[0, 2., 2., 12., 10.]])
    out = roi_align(feats, rois, 4, 1.0, 2)
    assert feats._version == version
    assert out.float().isnan().any() and out.float().isfinite().any()
    out.float().sum().backward()  # an input written to would stop it here
    assert x.grad is not None and x.grad.abs().sum() > 0


# allocations whose contents a kernel may find as zeros (what the guard
# hands it in place of a written argument)
ALLOCATIONS = {
    'new_zeros', 'new_empty', 'zeros', 'zeros_like', 'empty', 'empty_like'
}


def _base(node):
    """The tensor an argument names: ``dets.cpu()`` -> ``dets``."""
    while (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
           and node.func.attr in ('cpu', 'contiguous')):
        node = node.func.value
    return node


def _outputs_of(function: ast.FunctionDef) -> set:
    """Names a wrapper allocates for a kernel to fill (not the size-0
    placeholders mmcv passes for unused arguments)."""
    outputs = set()
    for node in ast.walk(function):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Attribute)
                and node.value.func.attr in ALLOCATIONS):
            placeholder = [ast.unparse(a) for a in node.value.args] == ['0']
            for target in node.targets:
                if isinstance(target, ast.Name) and not placeholder:
                    outputs.add(target.id)
    return outputs


def _is_output(arg, outputs: set) -> bool:
    arg = _base(arg)
    if isinstance(arg, ast.Name):
        return arg.id in outputs
    # ctx.bufs_[0] / ctx._bufs[1]: scratch buffers the kernels resize
    return 'bufs' in ast.unparse(arg)


def test_the_written_arguments_are_those_mmcv_allocates_for_its_kernels():
    """Every call of a guarded function in mmcv's wrappers (mmcv/ops/*.py)
    passes its outputs - the tensors the wrapper allocated for the kernel,
    zeros or uninitialised - at exactly the positions the table declares."""
    seen = set()
    for path in sorted(Path(inspect.getfile(mmcv.ops)).parent.glob('*.py')):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            outputs = _outputs_of(function)
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and ast.unparse(call.func.value) == 'ext_module'
                        and call.func.attr in WRITTEN_ARGUMENTS):
                    continue
                if any(isinstance(a, ast.Starred) for a in call.args):
                    continue  # the parrots path: not torch
                written = tuple(i for i, a in enumerate(call.args)
                                if _is_output(a, outputs))
                assert written == WRITTEN_ARGUMENTS[call.func.attr], (
                    f'{path.name}: {ast.unparse(call)[:200]}')
                seen.add(call.func.attr)
    assert seen == set(WRITTEN_ARGUMENTS)


@contextlib.contextmanager
def recorded_ext_calls():
    """The names of the ``mmcv._ext`` functions called inside."""
    ext = ext_loader.load_ext('_ext', [])
    called, originals = set(), {}
    for name in dir(ext):
        function = getattr(ext, name)
        if name.startswith('_') or not callable(function):
            continue
        originals[name] = function

        def record(*args, _name=name, _function=function, **kwargs):
            called.add(_name)
            return _function(*args, **kwargs)

        setattr(ext, name, record)
    try:
        yield called
    finally:
        for name, function in originals.items():
            setattr(ext, name, function)


# Mask R-CNN reaches every kernel Faster and Cascade R-CNN do (and the mask
# targets' RoIAlign); RetinaNet the one-stage path
@pytest.mark.parametrize('config', [
    'mask_rcnn_fishnet150_fpn_coco.py',
    'retinanet_fishnet150_fpn_coco.py',
])
def test_the_project_detectors_call_only_guarded_functions(config):
    """Narrow versions of the project's detectors, one training step and a
    prediction under bf16 autocast: every mmcv kernel they reach on the CPU
    is in the table."""
    from mmfishnet.runtime import fit_channels
    from mmfishnet.testing import (build_model, predict, random_batch,
                                   train_step)
    cfg = load_config(REPO / 'configs' / config).copy()
    cfg.model.backbone.widen_factor = 0.125
    fit_channels(cfg)
    model = build_model(cfg, pretrained=False)
    batch = random_batch(model, cfg, (3, 64, 96))
    with recorded_ext_calls() as called, torch.autocast(
            'cpu', dtype=torch.bfloat16):
        train_step(model, batch)
        predict(model, batch)
    assert 'nms' in called
    assert called <= set(WRITTEN_ARGUMENTS), called - set(WRITTEN_ARGUMENTS)
