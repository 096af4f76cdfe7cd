"""The equivalence step: FishNet-99 with weights in the official format,
converted, on this device against the official model's logits and FPN maps."""
import torch

from . import REPO
from .device import device, tf32


def official_equivalence(reference_name: str) -> dict:
    """Converted official-format FishNet-99 on this device against the
    reference logits and FPN maps (relative error, fp32, TF32 off);
    ``reference_name``: the reference's input size, ``'224x224'`` or
    ``'256x320'``."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    from mmfishnet.converters import convert_official_checkpoint
    from mmfishnet.converters.reference import (deterministic_official_state,
                                                load_reference,
                                                reference_input,
                                                relative_error)
    reference = load_reference(reference_name)
    init_default_scope('mmpretrain')
    state = convert_official_checkpoint(
        deterministic_official_state('fishnet99', False))
    x = reference_input(*reference['input'][2:]).to(device())

    def build(out_indices):
        cfg = Config.fromfile(REPO / 'configs' / 'fishnet99_8xb32_in1k.py')
        cfg.model.backbone.out_indices = out_indices
        model = MODELS.build(cfg.model).eval()
        model.load_state_dict(state, strict=True)
        return model.to(device())

    with torch.no_grad(), tf32(False):
        logits = build((9, ))(x, mode='tensor')
        feats = build((6, 7, 8, 9)).backbone(x)
    errors = dict(logits=relative_error(logits[0].cpu(), reference['logits']))
    for feat, idx in zip(feats, (7, 8, 9, 10)):
        ref = reference['features'][f'all_feat[{idx}]']
        sample = feat.double().flatten().cpu()[torch.tensor(
            ref['sample_index'])]
        errors[f'map{idx}'] = relative_error(sample, ref['sample'])
    worst = max(errors.values())
    return dict(
        max_relative_error=worst,
        **{
            f'err_{k}': v
            for k, v in errors.items()
        },
        status='ok' if worst < 1e-5 else 'mismatch')
