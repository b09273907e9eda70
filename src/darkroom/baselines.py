"""Classical methods beside the CNNs: each maps float RGB ``(H, W, 3)`` in [0, 1] (values may
lie outside for unclipped noise) to float32 RGB in [0, 1]."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Method = Callable[[np.ndarray], np.ndarray]


def _u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def _f(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) / 255.0


def identity(x: np.ndarray) -> np.ndarray:
    """The degraded input itself, clipped."""
    return np.clip(x, 0, 1).astype(np.float32)


def gamma(x: np.ndarray, target: float = 0.45) -> np.ndarray:
    """Automatic gamma: the exponent that maps the mean luminance to ``target`` (never darkens)."""
    x = np.clip(x, 0, 1).astype(np.float32)
    mean = float(x.mean())
    if mean <= 1e-4 or mean >= target:
        return x
    g = np.log(target) / np.log(mean)
    return np.power(x, g).astype(np.float32)


def clahe(x: np.ndarray) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation on the L channel of Lab (OpenCV)."""
    import cv2

    lab = cv2.cvtColor(_u8(x), cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[:, :, 0])
    return _f(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB))


def histeq(x: np.ndarray) -> np.ndarray:
    """Global histogram equalisation of the luma (OpenCV, YCrCb)."""
    import cv2

    ycc = cv2.cvtColor(_u8(x), cv2.COLOR_RGB2YCrCb)
    ycc[:, :, 0] = cv2.equalizeHist(ycc[:, :, 0])
    return _f(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB))


def median3(x: np.ndarray) -> np.ndarray:
    """3x3 median filter per channel."""
    import cv2

    return _f(cv2.medianBlur(_u8(x), 3))


def bilateral(x: np.ndarray) -> np.ndarray:
    """Edge-preserving bilateral filter (d=7, sigma colour 40, sigma space 5)."""
    import cv2

    return _f(cv2.bilateralFilter(_u8(x), 7, 40, 5))


def nlm(x: np.ndarray) -> np.ndarray:
    """OpenCV non-local means for colour; the filter strength follows a noise estimate."""
    import cv2
    from skimage.restoration import estimate_sigma

    u8 = _u8(x)
    sigma = float(np.mean(estimate_sigma(np.clip(x, 0, 1), channel_axis=2))) * 255
    h = float(np.clip(sigma * 0.9, 3, 40))
    return _f(cv2.fastNlMeansDenoisingColored(u8, None, h, h, 7, 21))


def _same_shape(method: Method) -> Method:
    """Grey ``(H, W, 1)`` or ``(H, W)`` inputs go through the RGB path and come back grey."""

    def run(x: np.ndarray) -> np.ndarray:
        if x.ndim == 3 and x.shape[2] == 3:
            return method(x)
        rgb = np.repeat(x.reshape(x.shape[0], x.shape[1], 1), 3, axis=2)
        return method(rgb).mean(axis=2).reshape(x.shape).astype(np.float32)

    return run


BASELINES: dict[str, Method] = {
    name: _same_shape(fn)
    for name, fn in {
        "identity": identity,
        "gamma": gamma,
        "clahe": clahe,
        "histeq": histeq,
        "median3": median3,
        "bilateral": bilateral,
        "nlm": nlm,
        "gamma+nlm": lambda x: nlm(gamma(x)),
        "gamma+median3": lambda x: median3(gamma(x)),
    }.items()
}
CLASSICAL: frozenset[str] = frozenset(BASELINES) - {"identity"}
"""The classical methods a model is measured against: every baseline but leaving the photo alone."""
