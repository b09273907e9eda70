"""Grey noise, the same in all three channels: show it to the network as the colour noise it knows.

Grey noise comes two ways: a black-and-white photo's noise, and grain on a colour photo (film grain, and
camera output whose colour noise was smoothed away), which moves a pixel's brightness and not its colour.

A black-and-white photo read as RGB has three equal channels, and so has its noise: one field for all three.
The flagship never trained on such noise and leaves it nearly in place (BSD68 at sigma 25: 21.2 dB from
20.5; see docs/how-lumen-works.md, "Grey noise").  What it removes well is noise drawn apart for each channel, which it
recognises by its colour.  So before the network runs, a grey photo gets colour noise that makes its noise
look drawn per channel, and after it runs, the output's channels are averaged back to grey.  A colour photo
gets the same, when :func:`grain_sigma` finds grain in it; its output keeps its colours.

The arithmetic: grey noise of std ``sigma`` moves each pixel's mean over the channels by noise of std
``sigma`` and leaves the differences between its channels at zero.  Noise drawn per channel with std ``s``
moves the mean by std ``s / sqrt(3)`` and spreads the channels about it by std ``s * sqrt(2 / 3)``.  With
``s = sqrt(3) * sigma`` the means already match, and the spread is drawn fresh: noise that sums to zero
across the channels, so the photo's grey values are untouched.  The network then sees a grey photo with
noise of std ``sqrt(3) * sigma`` per channel, three looks at each pixel, and removes it as it removes any
colour noise.  ``sigma`` is estimated from the photo (:func:`wavelet_sigma`, as
:func:`skimage.restoration.estimate_sigma` estimates it); the colour noise is drawn from a fixed seed, so
a photo always comes out the same.

A colour photo's grain is measured in the photo's brightness (the mean of its channels) and colour (the
differences between them): noise drawn per channel has the same std along all three axes of that split,
grain adds only to brightness, and so does fine texture.  Texture and grain are told apart by scale: white
noise has a quarter of its finest-scale variance one scale up, texture as much or more (natural photos look
alike at every scale).  See :func:`grain_sigma`.

All arrays are float32 ``(H, W, 3)``, values nominally in [0, 1].
"""

from __future__ import annotations

import numpy as np

from .degrade import is_grey

SEED = 0
"""Seed of the colour noise: the same photo always gets the same noise, and the same output."""


GREY_BANDS_ABOVE = 4_000_000
"""Grey photos with more pixels than this have their noise read on bands of :data:`GREY_BAND` rows, one
every ``4 * GREY_BAND`` rows (the median of the bands' estimates): a quarter of the photo.  The whole of a
12 MP one took 0.5-0.8 s (scikit-image already imported), the bands 0.05 s, and the two estimates agreed within
2% at sigma 5, 15 and 25.  Smaller photos are read whole."""
GREY_BAND = 64
"""Rows of each band :func:`grey_noise_sigma` reads on a large grey photo."""


def grey_noise_sigma(image: np.ndarray) -> float:
    """Estimated std of the noise of a grey photo ``(H, W, 3)``, read from its first channel (in bands on
    large photos, see :data:`GREY_BANDS_ABOVE`)."""
    channel = np.asarray(image[..., 0])
    if channel.size <= GREY_BANDS_ABOVE:
        return wavelet_sigma(channel)
    tops = range(0, channel.shape[0] - GREY_BAND + 1, 4 * GREY_BAND)
    return float(np.median([wavelet_sigma(channel[t : t + GREY_BAND]) for t in tops]))


GAUSSIAN_MAD = 0.6744897501960817
"""The median absolute value of a standard normal draw (its 75th percentile)."""


def wavelet_sigma(channel: np.ndarray) -> float:
    """Donoho and Johnstone's estimate of the std of white noise in one channel ``(H, W)``: the median
    absolute value of the finest diagonal wavelet detail (Daubechies 2) over :data:`GAUSSIAN_MAD`, zeros
    left out.  As :func:`skimage.restoration.estimate_sigma` computes it (a test checks they agree),
    without importing ``skimage.restoration``, which pulls in ``scipy.stats`` (about 0.5 s of a command)."""
    import pywt

    detail = pywt.dwtn(np.asarray(channel, np.float64), wavelet="db2")["dd"]
    detail = detail[np.nonzero(detail)]
    return float(np.median(np.abs(detail)) / GAUSSIAN_MAD)


GRAIN_BLOCK = 64
"""Side, in pixels, of the squares :func:`grain_sigma` measures."""
GRAIN_BLOCKS = 200
"""At most this many squares, spread evenly over the photo, are measured: a 12 MP photo costs what 0.8 MP do
(about 0.1 s on two cores)."""
GRAIN_QUANTILE = 5
"""Percentile of the squares' measures read: the flattest squares, where texture adds least."""
GRAIN_MIN_SIGMA = 10 / 255 / np.sqrt(3)
""":func:`grain_sigma` reports no grain below this.  Chosen on the training photos (bsds400, every second
one): the two-scale measure never reached it on the clean photos, nor with noise drawn per channel
(Gaussian sigma 0-50, ``lowlight``), and found grain in 147 of 200 at sigma 10 and 199 of 200 at 25."""

_AXES = np.array([[1, 1, 1], [1, -1, 0], [1, 1, -2]], np.float32)
_AXES /= np.linalg.norm(_AXES, axis=1, keepdims=True)
"""Orthonormal brightness and colour axes: each pixel's RGB, turned so grey noise lies on the first alone."""


def _squares(image: np.ndarray, size: int, limit: int) -> np.ndarray:
    """Up to ``limit`` squares ``(N, size, size, 3)`` (float32) on a grid spread over ``image`` ``(H, W, 3)``."""
    ys, xs = np.arange(0, image.shape[0] - size + 1, size), np.arange(0, image.shape[1] - size + 1, size)
    corners = [(y, x) for y in ys for x in xs]
    if len(corners) > limit:
        corners = [corners[i] for i in np.linspace(0, len(corners) - 1, limit).round().astype(int)]
    return np.stack([image[y : y + size, x : x + size] for y, x in corners]).astype(np.float32)


def _finest_variances(squares: np.ndarray) -> np.ndarray:
    """``(N, s, s, 3)`` -> ``(N, 3)``: the robust variance (median absolute value) of the finest diagonal
    detail of each square along each axis; white noise of std ``sigma`` gives ``sigma ** 2``."""
    a, b = squares[:, 0::2, 0::2], squares[:, 1::2, 0::2]
    c, d = squares[:, 0::2, 1::2], squares[:, 1::2, 1::2]
    return (np.median(np.abs(a - b - c + d) / 2, axis=(1, 2)) / 0.6745) ** 2


def _halved(squares: np.ndarray) -> np.ndarray:
    """``(N, s, s, 3)`` -> ``(N, s/2, s/2, 3)``: each 2x2 block averaged, one scale up."""
    return (squares[:, 0::2, 0::2] + squares[:, 1::2, 0::2] + squares[:, 0::2, 1::2] + squares[:, 1::2, 1::2]) / 4


def grain_sigma(image: np.ndarray) -> float:
    """Estimated std of grey noise (the same in all channels) on a colour photo ``(H, W, 3)``, or 0 where
    none is found.

    For each square, the finest-scale variance along the brightness axis less that along the colour axes is
    what grain and texture add to brightness: ``3 sigma**2`` for grain of std ``sigma``.  One scale up
    (squares averaged 2x2) grain adds a quarter of that and texture at least as much as before, so four
    thirds of the drop between the two scales is at least what grain adds: the test, which must reach
    :data:`GRAIN_MIN_SIGMA` in the flattest squares (:data:`GRAIN_QUANTILE`).  When it does, the grain's
    std is that measure's median over the squares, which texture leaves alone: on the training photos with
    grain of std 10, 25 and 50 (/255) it read 9.9, 24.8 and 49.8, where the finest scale alone, in the
    flattest squares, read 9.9, 24.1 and 47.9.  A photo too small for one square has no grain found."""
    if min(image.shape[:2]) < GRAIN_BLOCK:
        return 0.0
    squares = _squares(np.asarray(image), GRAIN_BLOCK, GRAIN_BLOCKS) @ _AXES.T
    fine = _finest_variances(squares)
    coarse = _finest_variances(_halved(squares))
    added_fine = fine[:, 0] - fine[:, 1:].mean(axis=1)
    added_coarse = coarse[:, 0] - coarse[:, 1:].mean(axis=1)
    grain_variance = 4 / 3 * (added_fine - added_coarse) / 3
    if np.percentile(grain_variance, GRAIN_QUANTILE) < GRAIN_MIN_SIGMA**2:
        return 0.0
    return float(np.sqrt(max(0.0, np.median(grain_variance))))


def colour_the_noise(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """A photo ``(H, W, 3)`` with grey noise of std ``sigma`` and colour noise added (module docstring):
    each pixel's mean over the channels is kept, and the differences between its channels get the spread
    that noise of std ``sqrt(3) * sigma`` drawn per channel would give.  ``sigma`` is estimated for a grey
    photo (:func:`grey_noise_sigma`) when not given."""
    sigma = grey_noise_sigma(image) if sigma is None else float(sigma)
    draw = np.random.default_rng(SEED).standard_normal(image.shape, dtype=np.float32)
    draw *= np.float32(np.sqrt(3.0) * sigma)
    mean = draw[..., 0] + draw[..., 1]  # the channels' mean, as draw.mean(axis=-1) gives it, twice as fast
    mean += draw[..., 2]
    mean /= np.float32(3)
    draw -= mean[..., None]
    return image + draw


def back_to_grey(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` -> the same shape with each pixel's three channels replaced by their mean."""
    return np.repeat(image.mean(axis=-1, keepdims=True), 3, axis=-1)


__all__ = ["SEED", "back_to_grey", "colour_the_noise", "grain_sigma", "grey_noise_sigma", "is_grey"]
