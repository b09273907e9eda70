"""A whole-image exposure summary that lumen reads beside its pixels.

Lumen sees about 150 px around each output pixel, so on a large photo it cannot tell a shadow
in a bright scene from a dark scene.  :func:`exposure_cue` summarises the whole image in a few
numbers; the engine computes it once per photo and hands the same numbers to every tile, so
tiles of one photo are brightened alike and tiling stays exact.

:func:`exposure_cue` works on NumPy arrays and torch tensors alike (only arithmetic and reductions
are used); :func:`highlight_level`, which makes training pairs, takes one NumPy photo.
"""

from __future__ import annotations

from typing import Any

CUE_SIZE = 5
"""Length of the first cue: five numbers of the photo's brightness."""
HIGHLIGHT_CUE_SIZE = 6
"""Length of the second cue: :data:`CUE_SIZE` numbers and the highlight level (stages 9-12i of lumen)."""
FULL_CUE_SIZE = 7
"""Length of the longest cue, which the shipped lumen reads: :data:`HIGHLIGHT_CUE_SIZE` numbers and the
person's intent, 1 to keep the photo's exposure (``exposure="keep"``) and 0 to let the model brighten
it as it judges."""
CUE_SIZES = (CUE_SIZE, HIGHLIGHT_CUE_SIZE, FULL_CUE_SIZE)
"""The cue lengths a model may read: the first numbers of the longest cue."""
REC601 = (0.299, 0.587, 0.114)
"""Luminance weights of R, G and B (ITU-R BT.601), used wherever darkroom measures brightness."""
CUE_SAMPLES = 1 << 16
"""About this many pixels are read from a large image (a strided grid)."""
HIGHLIGHT_QUANTILE = 0.99
"""The highlight level is this quantile of the luminance averaged over blocks..."""
HIGHLIGHT_BLOCK = 4
"""...of this many pixels square, so that noise does not raise it: a photo darkened to 0.4 with
Gaussian noise of sigma 0.2 has a 99th percentile of about 0.55 pixel by pixel, as high as a dim
but well-exposed photo's, and about 0.37 over 4x4 blocks."""


def exposure_cue(x: Any, size: int = CUE_SIZE, *, keep: bool = False) -> Any:
    """``(N, 3, H, W)`` in [0, 1] -> ``(N, size)``: mean luminance, its square root, its standard
    deviation, the fractions of pixels brighter than 0.75 and darker than 0.05; with ``size`` 6 or 7
    the highlight level (the 99th percentile of luminance averaged over
    :data:`HIGHLIGHT_BLOCK`-pixel blocks), which tells a dim photo that keeps its highlights from a
    photo darkened as a whole, noisy or not; with ``size`` 7 the intent, 1.0 with ``keep`` (keep the
    exposure) and 0.0 without.  A model reads the first ``size`` numbers.

    Large images are read on a strided grid of about :data:`CUE_SAMPLES` pixels (or blocks)."""
    if size not in CUE_SIZES:
        raise ValueError(f"an exposure cue has {CUE_SIZE}, {HIGHLIGHT_CUE_SIZE} or {FULL_CUE_SIZE} numbers, not {size}")
    h, w = x.shape[-2:]
    step = max(1, int((h * w / CUE_SAMPLES) ** 0.5))
    y = _samples(_luminance(x[:, :, ::step, ::step]))
    mean = y.mean(1)
    spread = ((y - mean[:, None]) ** 2).mean(1) ** 0.5
    bright = ((y > 0.75) * 1.0).mean(1)
    dark = ((y < 0.05) * 1.0).mean(1)
    parts = [mean, mean**0.5, spread, bright, dark]
    if size >= HIGHLIGHT_CUE_SIZE:
        parts.append(_highlight_level(x))
    if size == FULL_CUE_SIZE:
        parts.append(mean * 0 + (1.0 if keep else 0.0))  # a constant of mean's type, NumPy or torch
    if hasattr(x, "detach"):
        import torch

        return torch.stack(parts, 1).to(x.dtype)
    import numpy as np

    return np.stack(parts, 1).astype(x.dtype)


def highlight_level(image: Any) -> float:
    """The highlight level of one NumPy photo ``(H, W, 3)`` in [0, 1], as the cue's sixth number reads it."""
    return float(_highlight_level(image.transpose(2, 0, 1)[None])[0])


def _luminance(x: Any) -> Any:
    """``(N, 3, H, W)`` -> ``(N, H, W)``, Rec. 601 weights."""
    r, g, b = REC601
    return r * x[:, 0] + g * x[:, 1] + b * x[:, 2]


def _samples(y: Any) -> Any:
    """``(N, H, W)`` -> ``(N, H * W)`` clipped to [0, 1] with operators both libraries share."""
    y = y.reshape(y.shape[0], -1)
    return y * (y > 0) * (y < 1) + (y >= 1)


def _highlight_level(x: Any) -> Any:
    """``(N, 3, H, W)`` -> ``(N,)``: :data:`HIGHLIGHT_QUANTILE` of the luminance averaged over
    :data:`HIGHLIGHT_BLOCK`-pixel blocks (single pixels for an image smaller than one block)."""
    h, w = x.shape[-2:]
    b = HIGHLIGHT_BLOCK if min(h, w) >= HIGHLIGHT_BLOCK else 1
    hb, wb = h // b, w // b
    stride = max(1, int((hb * wb / CUE_SAMPLES) ** 0.5)) * b  # in pixels: every so many blocks
    # each sampled block's mean, summed over its b * b pixels one strided slice at a time (no full-size copy)
    total = sum(_luminance(x[:, :, i : hb * b : stride, j : wb * b : stride]) for i in range(b) for j in range(b))
    y = _samples(total / (b * b))
    if hasattr(y, "detach"):
        import torch

        return torch.quantile(y.float(), HIGHLIGHT_QUANTILE, dim=1).to(y.dtype)
    import numpy as np

    return np.quantile(y, HIGHLIGHT_QUANTILE, axis=1).astype(y.dtype)
