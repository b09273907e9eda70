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
"""Length of the cue vector the shipped lumen reads."""
FULL_CUE_SIZE = 6
"""Length of the longest cue: :data:`CUE_SIZE` numbers and the highlight level."""
CUE_SAMPLES = 1 << 16
"""About this many pixels are read from a large image (a strided grid)."""
HIGHLIGHT_QUANTILE = 0.99
"""The highlight level is this quantile of the sampled luminance."""


def exposure_cue(x: Any, size: int = CUE_SIZE) -> Any:
    """``(N, 3, H, W)`` in [0, 1] -> ``(N, size)``: mean luminance, its square root, its standard
    deviation, the fractions of pixels brighter than 0.75 and darker than 0.05, and, with ``size``
    6, the highlight level (the 99th percentile of luminance), which tells a dim photo that keeps
    its highlights from a photo darkened as a whole.  A model reads the first ``size`` numbers.

    Large images are read on a strided grid of about :data:`CUE_SAMPLES` pixels."""
    if size not in (CUE_SIZE, FULL_CUE_SIZE):
        raise ValueError(f"an exposure cue has {CUE_SIZE} or {FULL_CUE_SIZE} numbers, not {size}")
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

        if size == FULL_CUE_SIZE:
            parts.append(torch.quantile(y.float(), HIGHLIGHT_QUANTILE, dim=1).to(y.dtype))
        return torch.stack(parts, 1).to(x.dtype)
    import numpy as np

    if size == FULL_CUE_SIZE:
        parts.append(np.quantile(y, HIGHLIGHT_QUANTILE, axis=1).astype(y.dtype))
    return np.stack(parts, 1).astype(x.dtype)
