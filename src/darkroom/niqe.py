"""NIQE, the Natural Image Quality Evaluator (Mittal, Soundararajan and Bovik, 2013).

A no-reference score: lower means more like a pristine natural photo.  Each image is described by
36 natural-scene statistics per 96x96 patch (at two scales: generalised-Gaussian fits to the
normalised luminance and asymmetric generalised-Gaussian fits to its products with four
neighbours); the score is the distance between the image's multivariate Gaussian and one fitted to
sharp patches of pristine photos.

darkroom ships its own pristine model, fitted on ``train/bsds400`` (``assets/niqe_pristine.json``).
Refit it with ``python -m darkroom.niqe FOLDER_OF_CLEAN_PHOTOS``; scores are comparable across
darkroom's tables, not with MATLAB's NIQE, whose pristine model came from other photos.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.special import gamma as gamma_fn

from .exposure import REC601

PRISTINE = Path(__file__).parent / "assets" / "niqe_pristine.json"
PATCH = 96
_ALPHAS = np.arange(0.2, 10.0, 0.001)
_R_GGD = gamma_fn(1 / _ALPHAS) * gamma_fn(3 / _ALPHAS) / gamma_fn(2 / _ALPHAS) ** 2


def _luminance(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` or ``(H, W)`` in [0, 1] -> float64 luminance on the 0-255 scale."""
    x = np.clip(np.asarray(image, np.float64), 0, 1) * 255
    if x.ndim == 3:
        x = x[..., 0] if x.shape[2] == 1 else x @ np.array(REC601)
    return x


def mscn(lum: np.ndarray, sigma: float = 7 / 6) -> tuple[np.ndarray, np.ndarray]:
    """Mean-subtracted, contrast-normalised coefficients and the local standard deviation."""
    mu = gaussian_filter(lum, sigma, mode="nearest", truncate=3)
    sd = np.sqrt(np.abs(gaussian_filter(lum * lum, sigma, mode="nearest", truncate=3) - mu * mu))
    return (lum - mu) / (sd + 1), sd


def fit_ggd(x: np.ndarray) -> tuple[float, float]:
    """Generalised Gaussian by moment matching: ``(shape alpha, variance)``."""
    x = x.ravel()
    var = float(np.mean(x * x))
    rho = var / (float(np.mean(np.abs(x))) ** 2 + 1e-12)
    return float(_ALPHAS[np.argmin(np.abs(_R_GGD - rho))]), var


def fit_aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    """Asymmetric generalised Gaussian: ``(alpha, mean, left variance, right variance)``."""
    x = x.ravel()
    left, right = x[x < 0], x[x >= 0]
    lsd = np.sqrt(np.mean(left * left)) if left.size else 1e-6
    rsd = np.sqrt(np.mean(right * right)) if right.size else 1e-6
    g = lsd / (rsd + 1e-12)
    r = float(np.mean(np.abs(x))) ** 2 / (float(np.mean(x * x)) + 1e-12)
    rnorm = r * (g**3 + 1) * (g + 1) / (g * g + 1) ** 2
    alpha = float(_ALPHAS[np.argmin(np.abs(1 / _R_GGD - rnorm))])  # this ratio is the GGD table's reciprocal
    scale = np.sqrt(gamma_fn(1 / alpha) / gamma_fn(3 / alpha))
    mean = (rsd - lsd) * scale * gamma_fn(2 / alpha) / gamma_fn(1 / alpha)
    return alpha, float(mean), float(lsd * lsd), float(rsd * rsd)


def _patch_features(m: np.ndarray) -> list[float]:
    feats = list(fit_ggd(m))
    for shifted in (
        np.roll(m, 1, 1),
        np.roll(m, 1, 0),
        np.roll(np.roll(m, 1, 0), 1, 1),
        np.roll(np.roll(m, 1, 0), -1, 1),
    ):
        feats += list(fit_aggd(m * shifted))
    return feats


def image_features(image: np.ndarray, *, sharp_only: bool = False) -> np.ndarray:
    """``(n_patches, 36)`` features of an image's 96x96 patches (two scales, 18 each).
    ``sharp_only`` keeps the patches whose mean local contrast is at least 75% of the sharpest
    (NIQE's rule for choosing pristine patches)."""
    from skimage.transform import resize

    lum = _luminance(image)
    h, w = (lum.shape[0] // PATCH) * PATCH, (lum.shape[1] // PATCH) * PATCH
    if h == 0 or w == 0:
        raise ValueError(f"NIQE needs an image of at least {PATCH}x{PATCH} pixels, got {lum.shape[1]}x{lum.shape[0]}")
    lum = lum[:h, :w]
    scales = [lum, resize(lum, (h // 2, w // 2), order=3, anti_aliasing=True, preserve_range=True)]
    per_scale, sharpness = [], []
    for k, img in enumerate(scales):
        m, sd = mscn(img)
        p = PATCH // 2**k
        rows = []
        for y in range(0, img.shape[0] - p + 1, p):
            for x in range(0, img.shape[1] - p + 1, p):
                rows.append(_patch_features(m[y : y + p, x : x + p]))
                if k == 0:
                    sharpness.append(float(sd[y : y + p, x : x + p].mean()))
        per_scale.append(np.asarray(rows))
    feats = np.hstack(per_scale)
    if sharp_only:
        s = np.asarray(sharpness)
        feats = feats[s >= 0.75 * s.max()]
    return feats


def fit_pristine(paths: list[os.PathLike]) -> dict:
    """Fit the pristine multivariate Gaussian on sharp patches of clean photos."""
    from .io import read_image

    feats = np.vstack([image_features(read_image(p), sharp_only=True) for p in paths])
    return {
        "mean": feats.mean(0).tolist(),
        "cov": np.cov(feats, rowvar=False).tolist(),
        "patches": len(feats),
        "images": len(paths),
    }


@lru_cache(maxsize=1)
def _pristine() -> tuple[np.ndarray, np.ndarray]:
    model = json.loads(PRISTINE.read_text())
    return np.asarray(model["mean"]), np.asarray(model["cov"])


def niqe(image: np.ndarray) -> float:
    """NIQE score of a float image ``(H, W, 3)`` or ``(H, W)`` in [0, 1], at least 96x96; lower is better."""
    mu_p, cov_p = _pristine()
    feats = image_features(image)
    mu = feats.mean(0)
    cov = np.cov(feats, rowvar=False) if len(feats) > 1 else np.zeros_like(cov_p)
    d = mu_p - mu
    return float(np.sqrt(d @ np.linalg.pinv((cov_p + cov) / 2) @ d))


def main() -> None:
    import sys

    from .io import atomic_write_bytes, find_images

    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m darkroom.niqe FOLDER_OF_CLEAN_PHOTOS")
    paths = find_images(sys.argv[1])
    model = fit_pristine(paths)
    model["source"] = f"{len(paths)} photos from {Path(sys.argv[1]).name}"
    atomic_write_bytes(PRISTINE, json.dumps(model).encode())
    print(f"wrote {PRISTINE}: {model['patches']} sharp patches from {len(paths)} photos")


if __name__ == "__main__":
    main()
