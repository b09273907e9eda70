"""Black-and-white photos: show their grey noise to the network as the colour noise it knows.

A black-and-white photo read as RGB has three equal channels, and so has its noise: one field for all three.
The flagship never trained on such noise and leaves it nearly in place (BSD68 at sigma 25: 21.2 dB from
20.5; see README, "Grey noise").  What it removes well is noise drawn apart for each channel, which it
recognises by its colour.  So before the network runs, a grey photo gets colour noise that makes its noise
look drawn per channel, and after it runs, the output's channels are averaged back to grey.

The arithmetic: grey noise of std ``sigma`` moves each pixel's mean over the channels by noise of std
``sigma`` and leaves the differences between its channels at zero.  Noise drawn per channel with std ``s``
moves the mean by std ``s / sqrt(3)`` and spreads the channels about it by std ``s * sqrt(2 / 3)``.  With
``s = sqrt(3) * sigma`` the means already match, and the spread is drawn fresh: noise that sums to zero
across the channels, so the photo's grey values are untouched.  The network then sees a grey photo with
noise of std ``sqrt(3) * sigma`` per channel, three looks at each pixel, and removes it as it removes any
colour noise.  ``sigma`` is estimated from the photo (:func:`skimage.restoration.estimate_sigma`,
wavelet-based); the colour noise is drawn from a fixed seed, so a photo always comes out the same.

All arrays are float32 ``(H, W, 3)``, values nominally in [0, 1].
"""

from __future__ import annotations

import numpy as np

from .degrade import is_grey

SEED = 0
"""Seed of the colour noise: the same photo always gets the same noise, and the same output."""


def grey_noise_sigma(image: np.ndarray) -> float:
    """Estimated std of the noise of a grey photo ``(H, W, 3)``, read from its first channel."""
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(np.asarray(image[..., 0], np.float64)))


def colour_the_noise(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """A grey photo ``(H, W, 3)`` with colour noise added (module docstring): each pixel's mean over the
    channels is kept, and the differences between its channels get the spread that noise of std
    ``sqrt(3) * sigma`` drawn per channel would give.  ``sigma`` is estimated when not given."""
    sigma = grey_noise_sigma(image) if sigma is None else float(sigma)
    draw = np.random.default_rng(SEED).standard_normal(image.shape, dtype=np.float32)
    draw *= np.float32(np.sqrt(3.0) * sigma)
    draw -= draw.mean(axis=-1, keepdims=True)
    return image + draw


def back_to_grey(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` -> the same shape with each pixel's three channels replaced by their mean."""
    return np.repeat(image.mean(axis=-1, keepdims=True), 3, axis=-1)


__all__ = ["SEED", "back_to_grey", "colour_the_noise", "grey_noise_sigma", "is_grey"]
