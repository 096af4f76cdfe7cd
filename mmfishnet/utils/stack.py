"""The range of torch, numpy and OpenMMLab releases mmfishnet supports.

Both ends are tested: torch 2.1.2 + torchvision 0.16.2 + numpy 1.26 (the
stack OpenMMLab's prebuilt mmcv 2.1.0 wheels are made for) and torch 2.14.1 +
numpy 2.x, each with mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0 and mmpretrain
1.2.0. ``import mmfishnet`` stops with one message naming the package when
an installed release is outside its range; torch and numpy newer than the
newest tested release only get a warning.
"""
import warnings
from importlib import metadata
from typing import NamedTuple, Optional

from packaging.version import InvalidVersion, Version


class Supported(NamedTuple):
    """``minimum <= version < below``; ``newer_ok``: a version at or above
    ``below`` is untested rather than known to fail (a warning, not an
    error)."""
    minimum: str
    below: str
    newer_ok: bool = False
    required: bool = True


#: distribution name -> supported range. mmdet, mmpretrain and mmseg are
#: optional (mmdet or mmpretrain is needed), mmengine's release range is
#: pinned by mmdet 3.3.
SUPPORTED_RANGES = {
    'torch': Supported('2.1', '2.15', newer_ok=True),
    'numpy': Supported('1.26', '3', newer_ok=True),
    'mmengine': Supported('0.10.0', '1.0'),
    'mmcv': Supported('2.1.0', '2.2.0'),
    'mmdet': Supported('3.3.0', '3.4', required=False),
    'mmpretrain': Supported('1.2.0', '1.3', required=False),
    'mmsegmentation': Supported('1.2.0', '1.3', required=False),
}


class UnsupportedStackError(ImportError):
    """An installed package that mmfishnet does not support."""


def installed_version(name: str) -> Optional[str]:
    """The installed release of distribution ``name`` (None if absent)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _release(version: str) -> Version:
    return Version(Version(version).base_version)


def check_supported_stack(ranges=None) -> None:
    """Raise :class:`UnsupportedStackError` for the first installed package
    outside its range (or a required one that is missing); warn for torch
    or numpy newer than tested."""
    for name, supported in (ranges or SUPPORTED_RANGES).items():
        found = installed_version(name)
        wanted = f'>={supported.minimum},<{supported.below}'
        if found is None:
            if supported.required:
                raise UnsupportedStackError(
                    f'mmfishnet needs {name} {wanted}, which is not '
                    f'installed (see docs/installation.md)')
            continue
        try:
            release = _release(found)
        except InvalidVersion:
            continue  # a local build with a free-form version: trust it
        if release < Version(
                supported.minimum) or (release >= Version(supported.below)
                                       and not supported.newer_ok):
            raise UnsupportedStackError(
                f'mmfishnet supports {name} {wanted}, but {name} {found} is '
                f'installed: install a release in that range (pip install '
                f'"{name}{wanted}"; for torch and mmcv see '
                'docs/installation.md)')
        if release >= Version(supported.below):
            warnings.warn(
                f'mmfishnet is tested with {name} {wanted}; {name} {found} is '
                'newer and untested',
                stacklevel=3)
