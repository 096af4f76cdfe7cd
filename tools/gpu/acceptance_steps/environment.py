"""The environment step: what the run stands on (GPU, driver, torch, CUDA,
cuDNN, the OpenMMLab versions) and whether mmcv's compiled ops run on the
device."""
import contextlib
import importlib
import subprocess
import sys

import torch

from .device import device


def versions() -> dict:
    import mmcv
    import mmdet
    import mmengine
    import mmpretrain
    values = dict(
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version(),
        mmengine=mmengine.__version__,
        mmcv=mmcv.__version__,
        mmdet=mmdet.__version__,
        mmpretrain=mmpretrain.__version__,
        python=sys.version.split()[0])
    for name, module in (('mmseg', 'mmseg'), ('transformers', 'transformers')):
        try:
            values[name] = importlib.import_module(module).__version__
        except ImportError:
            values[name] = 'not installed'
    from mmpretrain.utils import dependency

    import mmfishnet
    values['mmfishnet'] = mmfishnet.__version__
    values['mmpretrain_multimodal'] = dependency.WITH_MULTIMODAL
    if device() == 'cuda':
        values.update(
            gpu=torch.cuda.get_device_name(),
            capability='.'.join(map(str, torch.cuda.get_device_capability())),
            memory_gib=round(
                torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
        smi = subprocess.run([
            'nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'
        ],
                             capture_output=True,
                             text=True)
        values['driver'] = smi.stdout.strip() or smi.stderr.strip()
    return values


def mmcv_ops_on_device() -> dict:
    """NMS and RoIAlign of mmcv's compiled extension on this device, and
    RoIAlign of a channels_last map and of a bf16 map against the contiguous
    float32 result, without and with mmfishnet's op guard (mmcv's kernels
    read NCHW; its CUDA kernels have no bf16)."""
    from mmcv.ops import nms, roi_align

    from mmfishnet.engine import mmcv_op_guard
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30.]],
                         device=device())
    scores = torch.tensor([0.9, 0.8, 0.7], device=device())
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    torch.manual_seed(0)
    feats = torch.randn(2, 16, 40, 48, device=device())
    rois = torch.tensor([[0, 1., 2., 30., 25.], [1, 3., 4., 40., 36.]],
                        device=device())
    expected = roi_align(feats, rois, 7, 0.5, 2)
    values = dict(nms_keep=keep.tolist())

    def roi_align_error(maps):
        try:
            out = roi_align(maps, rois, 7, 0.5, 2)
        except RuntimeError as e:  # no kernel for the dtype
            return f'{type(e).__name__}: {str(e).splitlines()[0][:80]}'
        return (out.float() - expected).abs().max().item()

    nhwc = feats.contiguous(memory_format=torch.channels_last)
    for guarded in (False, True):
        suffix = 'guarded' if guarded else 'unguarded'
        with (mmcv_op_guard.scope() if guarded else contextlib.nullcontext()):
            values[f'channels_last_{suffix}'] = roi_align_error(nhwc)
            values[f'bf16_{suffix}'] = roi_align_error(feats.bfloat16())
    ok = (
        keep.tolist() == [0, 2] and values['channels_last_guarded'] == 0
        and isinstance(values['bf16_guarded'], float)
        and values['bf16_guarded'] < 0.05)
    values['status'] = 'ok' if ok else 'wrong'
    return values
