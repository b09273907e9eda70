"""Keep exposure: denoise only, leave the photo as bright as it was.

A blind model decides for itself whether a dark photo was darkened (and brightens it) or is meant
to be dark, as a low-key portrait or a night scene shot for its mood is.  From the pixels alone
that cannot always be told: a night photo with bright lamps and a low-key photo with a lit face can
be the same numbers.  When the person knows, ``exposure="keep"`` says so: the model still
removes the noise, and this step divides out the brightening it chose.

Over blocks of :data:`darkroom.even_gain.BLOCK` pixels it reads the model's typical gain at each
brightness (:func:`darkroom.even_gain.gain_curve`: the median gain of the blocks in each brightness
quantile, so one noisy block cannot set it) and scales each block by its inverse, interpolated
between block centres.  All three channels are scaled alike, so the denoising, colour and fine
detail stay as the model made them.
"""

from __future__ import annotations

import numpy as np

from .even_gain import BLOCK, gain_curve
from .highlights import block_luminance, scale_by_blocks

MAX_SCALE = 64.0
"""No block is scaled by more than this, or by less than its inverse (a night photo brightened
twenty-fold is brought back; a black block's undefined gain cannot run away)."""


def keep_exposure(before: np.ndarray, after: np.ndarray, *, block: int = BLOCK) -> np.ndarray:
    """Scale ``after`` (the model's output, changed in place) back to the brightness of ``before``
    (the photo the model saw), tone by tone; both float32 ``(H, W, 3)`` in [0, 1].  Returns
    ``after``, clipped to [0, 1].  A photo smaller than one block is read as one block of its shorter side."""
    if before.shape != after.shape:
        raise ValueError(f"before {before.shape} and after {after.shape} differ in shape")
    block = min(block, *before.shape[:2])
    if block < 1:
        return after
    lum_in = block_luminance(before, block)
    gain = gain_curve(lum_in, block_luminance(after, block), monotone=False)(lum_in)
    scale_by_blocks(after, np.clip(1 / gain, 1 / MAX_SCALE, MAX_SCALE), block)
    return np.clip(after, 0, 1, out=after)
