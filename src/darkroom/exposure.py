"""A whole-image exposure summary that lumen reads beside its pixels.

Lumen sees about 150 px around each output pixel, so on a large photo it cannot tell a shadow
in a bright scene from a dark scene.  :func:`exposure_cue` summarises the whole image in a few
numbers; the engine computes it once per photo and hands the same numbers to every tile, so
tiles of one photo are brightened alike and tiling stays exact.

Works on NumPy arrays and torch tensors alike (only arithmetic and reductions are used).
"""

from __future__ import annotations

from typing import Any

CUE_SIZE = 5
"""Length of the cue vector."""
CUE_SAMPLES = 1 << 16
"""About this many pixels are read from a large image (a strided grid)."""


def exposure_cue(x: Any) -> Any:
    """``(N, 3, H, W)`` in [0, 1] -> ``(N, 5)``: mean luminance, its square root, its standard
    deviation, and the fractions of pixels brighter than 0.75 and darker than 0.05.

    Large images are read on a strided grid of about :data:`CUE_SAMPLES` pixels."""
    h, w = x.shape[-2:]
    step = max(1, int((h * w / CUE_SAMPLES) ** 0.5))
    x = x[:, :, ::step, ::step]
    y = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    y = y.reshape(y.shape[0], -1)
    y = y * (y > 0) * (y < 1) + (y >= 1)  # clip to [0, 1] with operators both libraries share
    mean = y.mean(1)
    spread = ((y - mean[:, None]) ** 2).mean(1) ** 0.5
    bright = ((y > 0.75) * 1.0).mean(1)
    dark = ((y < 0.05) * 1.0).mean(1)
    parts = [mean, mean**0.5, spread, bright, dark]
    if hasattr(x, "detach"):
        import torch

        return torch.stack(parts, 1).to(x.dtype)
    import numpy as np

    return np.stack(parts, 1).astype(x.dtype)
