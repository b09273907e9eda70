"""Even gain: parts of a photo that are equally bright come out equally brightened.

A network decides from a neighbourhood how much to brighten.  On real night photos, with street
lamps beside a dark sky, that decision flips from place to place: the flagship left blotches of
sky, road or wall dark beside others it had lifted, with the blocky edges of its coarsest
features (lowlight-sci's lightness-order error was 538 where every classical method stays at or
below 340).

This step keeps what the network decided for the photo as a whole and removes where it put it.
Over blocks of :data:`BLOCK` pixels it compares the photo before and after, reads the network's
typical gain at each brightness (the median gain of the blocks in each of :data:`BINS` brightness
quantiles, interpolated between them), and scales each block to the gain its brightness should
get.  The typical gains are first made to keep the order of brightness (isotonic regression): a
brighter quantile never comes out darker than a dimmer one.  Without that, a smooth grey sky the
network lifted 2.9x in places became blotches that followed its faint gradient (an overcast
sky darkened to a low-key photo: 15.99 dB; 19.45 with the order kept).  A photo brightened as a
whole, or by any tone curve that keeps the order, keeps its gains; so does one left alone.

Only the blocks' brightness changes: the scale is interpolated between block centres and
multiplies all three channels, so the network's denoising, colour and fine detail stay as they
were.  Where the network's own gain steps sharply inside a smooth region, the interpolated scale
leaves a faint trace of the step (a guided filter on the output's luminance removed it but drew
halos round dark branches against the sky, so it was not kept).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .highlights import block_luminance, scale_by_blocks

BLOCK = 8
"""Side of the blocks whose mean luminance is compared, in pixels (as the highlight guard's)."""
BINS = 32
"""Brightness quantiles at which the network's typical gain is read (fewer on small photos)."""
BLOCKS_PER_BIN = 32
"""The fewest blocks a quantile holds, so one blotch cannot be a quantile's median."""
MIN_BLOCKS = 64
"""Photos with fewer whole blocks than this are left as they are."""
MAX_SCALE = 4.0
"""No block is scaled by more than this, or by less than its inverse."""
MAX_SLOPE = 1.0
"""Steepest log-gain per log-luminance carried below the darkest quantile (a gamma of 0.6 is -0.4)."""
MIN_LEVEL = 1e-3
"""Block luminance below which a gain is taken at this level (a black block has no gain of its own)."""


def gain_curve(
    lum_in: np.ndarray, lum_out: np.ndarray, bins: int = BINS, *, monotone: bool = True
) -> Callable[[np.ndarray], np.ndarray]:
    """The typical gain at each brightness: ``lum_in`` and ``lum_out`` are block luminances of the
    same shape (before and after, in [0, 1]); returns a function from luminance to gain.

    The gain at the median luminance of each of ``bins`` brightness quantiles (each of at least
    :data:`BLOCKS_PER_BIN` blocks) is the median of ``lum_out / lum_in`` there.  Between quantiles
    the log-gain is interpolated linearly in log-luminance, so a power-law tone curve is followed
    exactly.  Below the darkest quantile the first such line goes on (shadows lifted more the darker
    they are); above the brightest the gain is held, so a blown-out light keeps the brightness the
    network gave it (carrying a falling gain on darkened a white street lamp to grey).

    With ``monotone`` the gains are made to keep the order of brightness: the output levels
    ``centre * gain`` of the quantiles never fall as their centres rise (:func:`_keep_order`), so
    quantiles that crossed are pooled.  Without it the medians are returned as read (to undo the
    network's gains, as :mod:`darkroom.keep_exposure` does)."""
    before, after = lum_in.ravel(), lum_out.ravel()
    order = np.argsort(before, kind="stable")
    parts = np.array_split(order, max(1, min(bins, before.size // BLOCKS_PER_BIN)))
    centres = np.log(np.array([max(float(np.median(before[p])), MIN_LEVEL) for p in parts]))
    gains = np.log(
        np.array([max(float(np.median(after[p] / np.maximum(before[p], MIN_LEVEL))), MIN_LEVEL) for p in parts])
    )
    if monotone:
        gains = _keep_order(centres, gains, np.array([p.size for p in parts], np.float64))
    # d log-gain / d log-luminance between the two darkest quantiles: none if they are of (nearly) one
    # brightness, and at most MAX_SLOPE either way, so a noisy end cannot run away
    step = centres[1] - centres[0] if len(parts) > 1 else 0.0
    slope = float(np.clip((gains[1] - gains[0]) / step, -MAX_SLOPE, MAX_SLOPE)) if step > 0.01 else 0.0

    def curve(lum: np.ndarray) -> np.ndarray:
        t = np.log(np.maximum(lum, MIN_LEVEL))
        return np.exp(np.where(t < centres[0], gains[0] + slope * (t - centres[0]), np.interp(t, centres, gains)))

    return curve


def _keep_order(centres: np.ndarray, gains: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The log-gains nearest to ``gains`` (least squares, each quantile weighted by its block count)
    whose output levels ``centres + gains`` never fall as ``centres`` rise: a brighter part of the
    photo never comes out darker than a dimmer one (isotonic regression, pool-adjacent-violators).
    ``centres`` are ascending log-luminances; returns new log-gains of the same shape.

    Written out here rather than taken from ``scipy.optimize.isotonic_regression`` (a test checks the
    two agree): importing ``scipy.optimize`` took 0.48 s of every command, a third of enhancing a
    small photo, for at most :data:`BINS` numbers."""
    means: list[float] = []
    totals: list[float] = []
    counts: list[int] = []
    for level, weight in zip((centres + gains).tolist(), weights.tolist(), strict=True):
        means.append(level)
        totals.append(weight)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:  # the last two disagree with the order: pool them
            total = totals[-2] + totals[-1]
            means[-2] = (means[-2] * totals[-2] + means[-1] * totals[-1]) / total
            totals[-2], counts[-2] = total, counts[-2] + counts[-1]
            del means[-1], totals[-1], counts[-1]
    return np.repeat(means, counts) - centres


def even_out_gain(before: np.ndarray, after: np.ndarray, *, block: int = BLOCK) -> tuple[np.ndarray, float]:
    """Scale each block of ``after`` to the typical gain of blocks as bright as it was in ``before``
    (see the module docstring).

    ``before``: the photo the model saw, ``after``: its output, both float32 ``(H, W, 3)`` in
    [0, 1].  Returns ``after`` (scaled in place and clipped to [0, 1]) and the share of blocks
    whose brightness moved by more than 5%.  A photo with fewer than :data:`MIN_BLOCKS` whole
    blocks is returned unchanged."""
    if before.shape != after.shape:
        raise ValueError(f"before {before.shape} and after {after.shape} differ in shape")
    lum_in, lum_out = block_luminance(before, block), block_luminance(after, block)
    if lum_in.size < MIN_BLOCKS:
        return after, 0.0
    target = np.maximum(lum_in, MIN_LEVEL) * gain_curve(lum_in, lum_out)(lum_in)
    scale = np.clip(target / np.maximum(lum_out, MIN_LEVEL), 1 / MAX_SCALE, MAX_SCALE)
    scale_by_blocks(after, scale, block)
    np.clip(after, 0, 1, out=after)
    return after, float(np.mean(np.abs(scale - 1) > 0.05))
