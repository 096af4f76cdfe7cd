"""Loading of local checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``. mmengine 0.10.7
still calls it without the argument, so checkpoints written by an mmengine
``Runner`` (which pickle the message hub, numpy values and the config) can no
longer be resumed, used as ``load_from`` or tested.

``import mmfishnet`` replaces mmengine's loader for *local* paths (its scheme
``''``) with one that passes ``weights_only=False``: a file on your own disk is
treated as trusted, exactly as with torch < 2.6. Remote checkpoints (http://,
s3://, ...) keep mmengine's loaders and torch's safe default. Only load local
checkpoints you trust: unpickling can run code.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def load_from_trusted_local(filename: str, map_location=None):
    """mmengine's local-file loader with ``weights_only=False``."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def install_trusted_local_loader() -> None:
    """Make mmengine load local checkpoints with :func:`load_from_trusted_local`."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_trusted_local, force=True)
