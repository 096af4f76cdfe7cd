"""Config rewrites behind the tools' speed options (``--amp``,
``--amp-dtype``, ``--memory-format``, ``--compile``, ``--fuse-conv-bn``)."""
from mmengine.config import Config, ConfigDict

AMP_DTYPES = ('auto', 'bfloat16', 'float16')
MEMORY_FORMATS = ('channels_last', 'contiguous')


def _add_custom_hook(cfg: Config, hook: dict) -> None:
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == hook['type'] for h in hooks):
        hooks.append(hook)
    cfg.custom_hooks = hooks


def enable_amp(cfg: Config, dtype: str = 'auto', train: bool = True) -> None:
    """Mixed precision for training (optimizer wrapper) and evaluation
    (val/test loops) with ``dtype`` (see :func:`resolve_amp_dtype`)."""
    if dtype not in AMP_DTYPES:
        raise ValueError(f'amp dtype must be one of {AMP_DTYPES}, got '
                         f'{dtype!r}')
    if train:
        optim = cfg.optim_wrapper
        optim.type = 'MixedPrecisionOptimWrapper'
        optim.dtype = dtype
        optim.pop('use_fsdp', None)
        if cfg.get('val_cfg') is not None:
            cfg.val_cfg = ConfigDict(type='AutocastValLoop', dtype=dtype)
    if cfg.get('test_cfg') is not None:
        cfg.test_cfg = ConfigDict(type='AutocastTestLoop', dtype=dtype)


def set_memory_format(cfg: Config, memory_format: str) -> None:
    """``'channels_last'`` adds :class:`ChannelsLastHook`; ``'contiguous'``
    removes it from the config's ``custom_hooks``."""
    if memory_format not in MEMORY_FORMATS:
        raise ValueError(f'memory format must be one of {MEMORY_FORMATS}, '
                         f'got {memory_format!r}')
    if memory_format == 'channels_last':
        _add_custom_hook(cfg, dict(type='ChannelsLastHook'))
    else:
        cfg.custom_hooks = [
            h for h in cfg.get('custom_hooks') or []
            if h.get('type') != 'ChannelsLastHook'
        ]


def enable_compile(cfg: Config, train: bool = True) -> None:
    """``torch.compile``: :class:`CompileLossHook` for training (the loss
    computation; mmengine's ``compile=True`` would compile the optimizer
    step too and recompile at every learning rate change), and
    :class:`CompileTestStepHook` for testing."""
    if train:
        _add_custom_hook(cfg, dict(type='CompileLossHook'))
    else:
        _add_custom_hook(cfg, dict(type='CompileTestStepHook'))


def enable_fuse_conv_bn(cfg: Config) -> None:
    """Fold BatchNorm into the preceding convolutions before testing."""
    _add_custom_hook(cfg, dict(type='FuseConvBNHook'))
