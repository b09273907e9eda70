"""Highlight guard: no bright part of a photo is brightened much more than its bright parts as a whole.

A network decides from a neighbourhood how much to brighten, and now and then it brightens one
region of a photo that it leaves alone everywhere else.  The flagship turned half of a mid-grey
patch of a colour chart white in one of the 15 real photos of ``realnoise-cc`` (d600_iso3200_3:
20.6 dB where the untouched photo scores 34.9), and the same photo cleaned of its noise, flipped or
cropped went the same way; one original system's author reported the same failure on "a very
bright section of an image".

The guard compares the photo before and after, over blocks of :data:`BLOCK` pixels.  The bright
blocks (at least the median block luminance, and above :data:`MIN_LEVEL`) of a photo brightened
as a whole all gain about alike, and a tone curve lifts bright parts less than dark ones; so a
bright block whose gain exceeds :data:`TOLERANCE` times the median gain of the bright blocks (at
least 1) is scaled down to that gain.  Dark blocks, whose gain legitimately varies, are left
alone.  The per-block scale is interpolated between block centres, so the correction has no
block edges.

A night photo brightened by a steep tone curve is the exception that the median alone misreads:
its darker bright blocks (a wet road, the halo round a lamp) rightly gain two or three times more
than its lamps, and capping them at the median drew dark rings and blotches on the night photos
of the stage 12c flagship.  So where the bright blocks' gain falls with their brightness, as a
tone curve's does, a block may gain as much as that curve gives at its brightness
(:func:`reference_gain`); a region lifted alone still stands out against it.
"""

from __future__ import annotations

import numpy as np

from .exposure import REC601

BLOCK = 8
"""Side of the blocks whose mean luminance is compared, in pixels."""
TOLERANCE = 1.2
"""How much more than the bright blocks' median gain one bright block may gain.  On Kodak24 the
flagship's outputs of the ``lowlight``, ``dark-gauss`` and ``dark-sp`` presets gained 0.08-0.14 dB
on average (through the engine, which fills salt-and-pepper impulses first) with no photo losing
more than 0.02 dB.  1.1 gained 0.25-0.33 dB on average but cost single photos up to 0.1 dB; a cap
set by the median gain of all blocks instead of the bright ones cost single photos up to 0.9 dB."""
MIN_LEVEL = 0.05
"""Blocks darker than this (mostly noise) never count as bright."""
_LUMA = np.array(REC601, np.float32)


def block_luminance(x: np.ndarray, block: int) -> np.ndarray:
    """``(H, W, 3)`` -> ``(H // block, W // block)``: mean Rec. 601 luminance of each whole block."""
    hb, wb = x.shape[0] // block, x.shape[1] // block
    y = x[: hb * block, : wb * block] @ _LUMA
    return y.reshape(hb, block, wb, block).mean((1, 3))


def guard_highlights(
    before: np.ndarray, after: np.ndarray, *, block: int = BLOCK, tolerance: float = TOLERANCE
) -> tuple[np.ndarray, int]:
    """Scale down the bright blocks of ``after`` that gained more than ``tolerance`` times their
    :func:`reference_gain`, the median gain of the bright blocks or a falling tone curve through
    them (see the module docstring).

    ``before``: the photo the model saw, ``after``: its output, both float32 ``(H, W, 3)`` in
    [0, 1].  Returns ``after`` (scaled in place; values stay in [0, 1]) and the number of blocks
    scaled.  A photo with fewer than 16 bright blocks is returned unchanged."""
    if before.shape != after.shape:
        raise ValueError(f"before {before.shape} and after {after.shape} differ in shape")
    lum_in, lum_out = block_luminance(before, block), block_luminance(after, block)
    bright = (lum_in >= np.median(lum_in)) & (lum_in > MIN_LEVEL) if lum_in.size else lum_in > 1
    if bright.sum() < 16:
        return after, 0
    gain = lum_out / np.maximum(lum_in, 1e-6)
    limit = tolerance * np.maximum(1.0, reference_gain(lum_in, gain, bright)) * lum_in
    over = bright & (lum_out > limit)
    if not over.any():
        return after, 0
    scale = np.where(over, limit / np.maximum(lum_out, 1e-6), 1)
    return scale_by_blocks(after, scale, block), int(over.sum())


def reference_gain(lum_in: np.ndarray, gain: np.ndarray, bright: np.ndarray) -> np.ndarray:
    """The gain each block is compared with: the median gain of the ``bright`` blocks, or where
    the bright blocks follow a falling tone curve, that curve's gain at the block's luminance if
    higher.

    The curve is a power law ``gain = g1 * (lum / l1) ** slope`` through two points, the median
    luminance and median gain of the darker half of the bright blocks ``(l1, g1)`` and of the
    brighter half ``(l2, g2)``.  It is used only when ``g2 < g1``: a tone curve lifts dark parts
    more than bright ones, while one region lifted alone makes the brighter half gain as much or
    more.  ``slope`` is held to at least -1, where the curve would start to reverse the order of
    brightness.  All arrays are ``(H // block, W // block)``; returns the same shape."""
    lum, g = lum_in[bright], gain[bright]
    flat = float(np.median(g))
    darker = lum <= np.median(lum)
    if darker.all():
        return np.full(lum_in.shape, flat, np.float32)
    l1, g1 = float(np.median(lum[darker])), float(np.median(g[darker]))
    l2, g2 = float(np.median(lum[~darker])), float(np.median(g[~darker]))
    if not 0 < g2 < g1 or l2 <= l1:
        return np.full(lum_in.shape, flat, np.float32)
    slope = max(-1.0, np.log(g2 / g1) / np.log(l2 / l1))
    curve = g1 * (np.maximum(lum_in, MIN_LEVEL) / l1) ** slope
    return np.maximum(flat, curve).astype(np.float32)


def scale_by_blocks(after: np.ndarray, scale: np.ndarray, block: int) -> np.ndarray:
    """Multiply ``after`` ``(H, W, 3)`` in place by a per-block ``scale`` ``(H // block, W // block)``,
    interpolated linearly between block centres (and held beyond the outer ones), so the correction
    has no block edges.  Returns ``after``."""
    import cv2

    hb, wb = scale.shape
    per_pixel = cv2.resize(scale.astype(np.float32), (wb * block, hb * block), interpolation=cv2.INTER_LINEAR)
    h, w = after.shape[:2]
    per_pixel = np.pad(per_pixel, ((0, h - hb * block), (0, w - wb * block)), mode="edge")
    after *= per_pixel[:, :, None]
    return after
