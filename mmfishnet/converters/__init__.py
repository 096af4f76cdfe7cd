from .official import (convert_official_checkpoint, detect_layout, is_official,
                       map_released_key, strip_module_prefix)

__all__ = [
    'convert_official_checkpoint', 'detect_layout', 'is_official',
    'map_released_key', 'strip_module_prefix'
]
