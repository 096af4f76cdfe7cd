"""Which device the acceptance runs on, and TF32 on or off around a row."""
import contextlib

import torch


def device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


@contextlib.contextmanager
def tf32(enabled: bool):
    """TF32 for CUDA matmuls and convolutions on or off, restored after."""
    saved = (torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.allow_tf32) = saved
