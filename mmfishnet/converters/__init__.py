from .official import (convert_official_checkpoint, detect_layout, infer_arch,
                       is_official, map_released_key, strip_module_prefix)

__all__ = [
    'convert_official_checkpoint', 'detect_layout', 'infer_arch',
    'is_official', 'map_released_key', 'strip_module_prefix'
]
