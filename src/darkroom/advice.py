"""Advice after an enhancement: was a photo that may have been meant to be dark brightened?

Whether a dark photo was darkened or is low-key by intent (a portrait on a black background, a
sunlit field below a black forest) cannot always be told from its pixels, and lumen brightens some
low-key photos (CBSD68 302008: its black studio background lifted to grey).  Such a photo has a
shape that darkened and night photos do not: half of it dark (a median luminance below
:data:`DARK_MEDIAN`) beside a well-exposed quarter (an upper quartile of at least
:data:`LOW_KEY_UPPER`).  Of the evaluation photos darkroom has, it picks out CBSD68's two low-key
photos and no other clean photo, none of CBSD68's or Kodak24's photos made dark by the ``lowlight``,
``dark-gauss`` or ``dark-sp`` presets, and none of lowlight-sci's night photos.

:func:`keep_exposure_advice` names such a photo when its shadows came out visibly brighter, so the
person learns that ``exposure="keep"`` exists for it; the output itself is never changed.
"""

from __future__ import annotations

import numpy as np

from .exposure import REC601

DARK_MEDIAN = 0.12
"""Below this median luminance darkroom brightens by design (the night check's line)."""
LOW_KEY_UPPER = 0.35
"""A low-key photo's upper quartile of luminance is at least this; every one of lowlight-sci's night
photos with a median below :data:`DARK_MEDIAN` has 0.23 or less."""
SHADOW_LIFT = 0.02
"""The median luminance must rise by more than this (about 5 of 255 levels)..."""
SHADOW_GAIN = 1.5
"""...and by at least this factor for the shadows to count as lifted."""


def _quartiles(image: np.ndarray) -> tuple[float, float]:
    """The median and upper quartile of the Rec. 601 luminance of ``image`` ``(H, W, 3)`` in [0, 1]
    (a one-channel image ``(H, W)`` or ``(H, W, 1)`` is its own luminance), read on a strided grid of
    about 2**18 pixels."""
    image = np.asarray(image, np.float32)
    step = max(1, int((image.shape[0] * image.shape[1] / 2**18) ** 0.5))
    image = image[::step, ::step]
    lum = image @ np.asarray(REC601, np.float32) if image.ndim == 3 and image.shape[2] == 3 else image.reshape(-1)
    median, upper = np.quantile(np.clip(lum, 0, 1), [0.5, 0.75])
    return float(median), float(upper)


def looks_low_key(image: np.ndarray) -> bool:
    """Whether ``image`` ``(H, W, 3)`` in [0, 1] is dark in its lower half but well exposed in its
    upper quarter (median below :data:`DARK_MEDIAN`, upper quartile at least :data:`LOW_KEY_UPPER`)."""
    median, upper = _quartiles(image)
    return median < DARK_MEDIAN and upper >= LOW_KEY_UPPER


def shadows_lifted(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the median luminance of ``after`` rose from that of ``before`` (both ``(H, W, 3)`` in
    [0, 1]) by more than :data:`SHADOW_LIFT` and by at least :data:`SHADOW_GAIN` times."""
    was, now = _quartiles(before)[0], _quartiles(after)[0]
    return now - was > SHADOW_LIFT and now >= SHADOW_GAIN * was


def keep_exposure_advice(
    name: str, before: np.ndarray, after: np.ndarray, remedy: str = 'enhance(..., exposure="keep")'
) -> str | None:
    """A sentence for the person when ``before`` (the input, ``(H, W, 3)`` in [0, 1]) looks low-key and
    ``after`` (its enhancement, the same shape) lifted its shadows; ``None`` otherwise.  ``name`` names
    the photo and ``remedy`` says how to keep its exposure (``--exposure keep`` on the command line)."""
    if not looks_low_key(before) or not shadows_lifted(before, after):
        return None
    was, now = _quartiles(before)[0], _quartiles(after)[0]
    return (
        f"{name} looks low-key (dark shadows beside a well-exposed part) and its shadows were brightened "
        f"(median {was:.2f} -> {now:.2f}); if it was meant to be dark, use {remedy}"
    )


__all__ = ["keep_exposure_advice", "looks_low_key", "shadows_lifted"]
