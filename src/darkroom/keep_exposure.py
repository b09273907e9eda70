"""Keep exposure: denoise only, leave the photo as bright as it was.

A blind model decides for itself whether a dark photo was darkened (and brightens it) or is meant
to be dark, as a low-key portrait or a night scene shot for its mood is.  From the pixels alone
that cannot always be told: a night photo with bright lamps and a low-key photo with a lit face can
be the same numbers.  When the person knows, ``exposure="keep"`` says so: the model still
removes the noise, and this step divides out the brightening it chose.  A model told the intent
(lumen from stage 14c reads it as the seventh number of its exposure cue) keeps the exposure itself,
and this step then has little left to divide out; it still holds any model to the photo's brightness.

Over blocks of :data:`darkroom.even_gain.BLOCK` pixels it reads the model's typical gain at each
brightness (:func:`darkroom.even_gain.gain_curve`: the median gain of the blocks in each brightness
quantile, so one noisy block cannot set it) and gives each block the inverse of the gain its
brightness got.  Each pixel then takes the scales of the four blocks around it, weighted by how
near it is to their centres and by how alike in brightness it is to them (joint bilateral
upsampling), so a lit edge takes its scale from lit blocks, not from the black background beside
it.  Interpolated by distance alone, a black block's scale once blew such edges to white (the
exposure check's deep-low-key-keep case with stage 12i: 30.50 dB, its photo 90076 31.85; now 33.09 and
43.96; low-key-keep 37.18 and 37.34).  A pixel like none of its blocks (a thin light in the dark)
falls back on the tone curve's inverse at its own brightness.  All three channels of a pixel are
scaled alike, so the denoising, colour and fine detail stay as the model made them.
"""

from __future__ import annotations

import numpy as np

from .even_gain import BLOCK, gain_curve
from .exposure import REC601
from .highlights import block_luminance

MAX_SCALE = 64.0
"""No pixel is scaled by more than this, or by less than its inverse (a night photo brightened
twenty-fold is brought back)."""
BLACK_FLOOR = 1 / 255
"""Added to every luminance, before and after: a block that stays black (0.001 in, 0.0 out) has a
gain near 1, not an undefined ratio, and a black pixel stays black (scaled as ``(x + floor) * s - floor``)."""
LIKENESS = 0.5
"""How far apart in log-luminance a pixel and a block may be and still share a scale (the width of
the Gaussian that weights a block's scale by its likeness to the pixel: a factor of 1.65)."""
CURVE_WEIGHT = 0.2
"""Weight of the tone curve's inverse at a pixel's own brightness, beside the four blocks' weights
(each at most 1): it decides only where no block around the pixel is alike in brightness."""


def keep_exposure(before: np.ndarray, after: np.ndarray, *, block: int = BLOCK) -> np.ndarray:
    """Scale ``after`` (the model's output, changed in place) back to the brightness of ``before``
    (the photo the model saw), tone by tone; both float32 ``(H, W, 3)`` in [0, 1].  Returns
    ``after``, clipped to [0, 1].  A photo smaller than one block is read as one block of its shorter side."""
    if before.shape != after.shape:
        raise ValueError(f"before {before.shape} and after {after.shape} differ in shape")
    block = min(block, *before.shape[:2])
    if block < 1:
        return after
    lum_in = block_luminance(before, block) + BLACK_FLOOR
    lum_out = block_luminance(after, block) + BLACK_FLOOR
    block_scale = -np.log(gain_curve(lum_in, lum_out, monotone=False)(lum_in))
    pixel_level = np.log(after @ np.asarray(REC601, np.float32) + BLACK_FLOOR)
    curve_scale = _inverse_curve(lum_in, lum_out, pixel_level)
    log_scale = _upsample_by_likeness(block_scale, np.log(lum_out), pixel_level, curve_scale, block)
    scale = np.exp(np.clip(log_scale, -np.log(MAX_SCALE), np.log(MAX_SCALE))).astype(np.float32)
    after += BLACK_FLOOR
    after *= scale[:, :, None]
    after -= BLACK_FLOOR
    return np.clip(after, 0, 1, out=after)


def _inverse_curve(lum_in: np.ndarray, lum_out: np.ndarray, pixel_level: np.ndarray) -> np.ndarray:
    """Log-scale that takes each output log-luminance ``pixel_level`` ``(H, W)`` back through the
    inverse of the model's tone curve, read from block luminances ``lum_in`` and ``lum_out`` (with
    the floor added) and made to keep the order of brightness, so it has an inverse."""
    curve = gain_curve(lum_in, lum_out)
    # input level -> output level, tabulated well past 1 so that every output level has an inverse
    # (the curve holds its gain above the brightest quantile, so a gain below 1 is inverted too)
    levels = np.geomspace(BLACK_FLOOR, MAX_SCALE, 1024)
    outputs = np.log(np.maximum.accumulate(levels * curve(levels)))
    return (np.interp(pixel_level, outputs, np.log(levels)) - pixel_level).astype(np.float32)


def _upsample_by_likeness(
    block_scale: np.ndarray, block_level: np.ndarray, pixel_level: np.ndarray, fallback: np.ndarray, block: int
) -> np.ndarray:
    """Per-pixel log-scale ``(H, W)`` from per-block ``block_scale`` ``(H // block, W // block)``:
    each pixel averages the four block centres around it, weighted bilinearly by distance and by a
    Gaussian (:data:`LIKENESS`) of the gap between its log-luminance ``pixel_level`` ``(H, W)`` and
    theirs (``block_level``), with ``fallback`` ``(H, W)`` at weight :data:`CURVE_WEIGHT`."""
    (h, w), (hb, wb) = pixel_level.shape, block_scale.shape
    total = CURVE_WEIGHT * fallback
    weights = np.full_like(pixel_level, CURVE_WEIGHT)
    rows, cols = _neighbours(h, hb, block), _neighbours(w, wb, block)
    for row_index, row_weight in rows:
        for col_index, col_weight in cols:
            index = np.ix_(row_index, col_index)
            gap = pixel_level - block_level[index]
            weight = row_weight[:, None] * col_weight[None, :] * np.exp(gap * gap / (-2 * LIKENESS**2))
            total += weight * block_scale[index]
            weights += weight
    return total / weights


def _neighbours(size: int, blocks: int, block: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Along one axis of ``size`` pixels in ``blocks`` blocks: for the block centres before and
    after each pixel, their indices and bilinear weights (held beyond the outer centres)."""
    position = np.clip((np.arange(size) + 0.5) / block - 0.5, 0, blocks - 1)
    before = np.minimum(position.astype(int), blocks - 1)
    after = np.minimum(before + 1, blocks - 1)
    frac = (position - before).astype(np.float32)
    return (before, 1 - frac), (after, frac)
