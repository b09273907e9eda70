"""darkroom: restore dark and noisy photographs with convolutional neural networks.

The package imports nothing heavy at import time; the names below load on first use::

    import darkroom
    out = darkroom.enhance(image)                 # float32 RGB (H, W, 3) in [0, 1]
    model, card = darkroom.load_model("lumen")
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "enhance": ("darkroom.engine", "enhance"),
    "enhance_file": ("darkroom.engine", "enhance_file"),
    "load_model": ("darkroom.checkpoint", "load_model"),
    "read_image": ("darkroom.io", "read_image"),
    "write_image": ("darkroom.io", "write_image"),
    "apply_preset": ("darkroom.degrade", "apply_preset"),
    "PRESETS": ("darkroom.degrade", "PRESETS"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'darkroom' has no attribute {name!r}")
