"""FishNet learns real pixels: the CamVid segmentor, trained for 40 steps
on six real CamVid images (160x120), labels them far better than
predicting the most frequent class everywhere."""
import numpy as np
import pytest
import torch
from conftest import CAMVID, CAMVID_CONFIG
from mmengine.config import Config
from mmengine.registry import init_default_scope

pytest.importorskip('mmseg')

CONFIG = CAMVID_CONFIG


def load_pairs(count, size=(160, 120)):
    """``count`` train images and label maps at ``size`` (W, H); label 11
    (unlabelled) -> 255."""
    import cv2
    names = sorted(p.name for p in (CAMVID / 'train').glob('*.png'))
    step = len(names) // count  # spread over the video sequences
    images, labels = [], []
    for name in names[::step][:count]:
        image = cv2.imread(str(CAMVID / 'train' / name))[..., ::-1]
        label = cv2.imread(
            str(CAMVID / 'trainannot' / name), cv2.IMREAD_UNCHANGED)
        images.append(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        label = cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)
        labels.append(np.where(label == 11, 255, label))
    images = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return images, torch.from_numpy(np.stack(labels)).long()


def miou(pred, labels, num_classes=11):
    valid = labels != 255
    ious = []
    for c in range(num_classes):
        p, t = (pred == c) & valid, (labels == c) & valid
        union = (p | t).sum().item()
        if t.sum() > 0:
            ious.append((p & t).sum().item() / union)
    return float(np.mean(ious))


def test_fishnet_segmentor_learns_camvid():
    if not (CAMVID / 'trainannot').is_dir():
        pytest.skip(f'CamVid not found at {CAMVID}')
    from mmseg.registry import MODELS

    from mmfishnet.runtime.cpu_fallback import replace_sync_bn
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    replace_sync_bn(cfg.model)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.init_weights()
    images, labels = load_pairs(6)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    inputs = (images - mean) / std
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(40):
        logits = model(inputs, mode='tensor')
        logits = torch.nn.functional.interpolate(
            logits, labels.shape[-2:], mode='bilinear')
        loss = torch.nn.functional.cross_entropy(
            logits, labels, ignore_index=255)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
        pred = torch.nn.functional.interpolate(
            logits, labels.shape[-2:], mode='bilinear').argmax(1)
    majority = torch.bincount(labels[labels != 255]).argmax()
    baseline = miou(torch.full_like(labels, int(majority)), labels)
    learned = miou(pred, labels)
    print(f'mIoU {learned:.3f}, majority class {baseline:.3f}')
    assert learned > 4 * baseline
