"""ClassWeightedCrossEntropyLoss: PyTorch's class-weighted mean over the
pixels that are not ignored, where mmseg 1.2.2's CrossEntropyLoss raises."""
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmseg')
from mmseg.models.losses import CrossEntropyLoss  # noqa: E402

from mmfishnet.models import ClassWeightedCrossEntropyLoss  # noqa: E402

pytestmark = pytest.mark.compat
WEIGHTS = [0.3, 2.0, 5.0]


def logits_and_labels():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 5, 7, generator=generator)
    labels = torch.randint(0, 3, (2, 5, 7), generator=generator)
    labels[0, :2] = 255  # ignored pixels, as CamVid's unlabelled
    return logits, labels


def test_the_weighted_mean_is_pytorchs_over_the_pixels_kept():
    logits, labels = logits_and_labels()
    loss = ClassWeightedCrossEntropyLoss(class_weight=WEIGHTS)
    expected = F.cross_entropy(
        logits, labels, weight=torch.tensor(WEIGHTS), ignore_index=255)
    assert loss(
        logits, labels, ignore_index=255) == pytest.approx(
            expected.item(), rel=1e-6)
    with pytest.raises(IndexError):  # what it replaces
        CrossEntropyLoss(class_weight=WEIGHTS)(
            logits, labels, ignore_index=255)


def test_per_pixel_weights_of_a_sampler_count_in_the_mean():
    logits, labels = logits_and_labels()
    pixel = torch.rand(
        labels.shape, generator=torch.Generator().manual_seed(1))
    loss = ClassWeightedCrossEntropyLoss(class_weight=WEIGHTS)
    per_pixel = F.cross_entropy(
        logits,
        labels,
        weight=torch.tensor(WEIGHTS),
        ignore_index=255,
        reduction='none')
    kept = labels != 255
    norm = (torch.tensor(WEIGHTS)[labels.clamp(max=2)] * pixel)[kept].sum()
    expected = (per_pixel * pixel).sum() / norm
    assert loss(
        logits, labels, weight=pixel, ignore_index=255) == pytest.approx(
            expected.item(), rel=1e-5)


def test_it_needs_class_weights_that_fit():
    with pytest.raises(ValueError, match='needs a class_weight'):
        ClassWeightedCrossEntropyLoss()
    with pytest.raises(ValueError, match='softmax'):
        ClassWeightedCrossEntropyLoss(class_weight=WEIGHTS, use_sigmoid=True)
    logits, labels = logits_and_labels()
    with pytest.raises(ValueError, match='2 entries for 3 classes'):
        ClassWeightedCrossEntropyLoss(class_weight=[1.0, 2.0])(
            logits, labels, ignore_index=255)
