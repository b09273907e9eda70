"""Image quality measures on float RGB ``(H, W, 3)`` arrays in [0, 1].

Full-reference: PSNR (outputs clipped to [0, 1], data range 1), SSIM (scikit-image's Gaussian
window, sigma 1.5, population covariance, channel-averaged), MS-SSIM (pytorch-msssim), and the
GT-mean variants used in low-light papers (the output scaled so its mean matches the
reference's before scoring: always reported beside the plain value, and labelled).
No-reference: lightness-order error (LOE) against the input, mean brightness, and NIQE
(:mod:`darkroom.niqe`).
"""

from __future__ import annotations

import math

import numpy as np


def _pair(output: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    output = np.clip(np.asarray(output, np.float64), 0, 1)
    reference = np.asarray(reference, np.float64)
    if output.shape != reference.shape:
        raise ValueError(f"shapes differ: output {output.shape}, reference {reference.shape}")
    return output, reference


def psnr(output: np.ndarray, reference: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, data range 1; identical images give ``inf``."""
    output, reference = _pair(output, reference)
    mse = float(np.mean((output - reference) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


SSIM_SIGMA = 1.5
SSIM_RADIUS = 5
"""scikit-image's Gaussian window: sigma 1.5 truncated at 3.5 sigma, 11 x 11."""


def ssim(output: np.ndarray, reference: np.ndarray) -> float:
    """SSIM exactly as scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1)`` computes it (mean over channels for colour),
    with OpenCV's separable Gaussian filter in place of SciPy's, which is three times faster on
    benchmark runs; ``tests/test_metrics.py`` holds the two to 1e-6."""
    import cv2

    output, reference = _pair(output, reference)
    if min(output.shape[:2]) <= 2 * SSIM_RADIUS:
        raise ValueError(f"SSIM needs images larger than {2 * SSIM_RADIUS + 1} px on each side")
    size = 2 * SSIM_RADIUS + 1

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (size, size), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(output), blur(reference)
    vx, vy = blur(output * output) - mx * mx, blur(reference * reference) - my * my
    cov = blur(output * reference) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    r = SSIM_RADIUS
    return float(s[r:-r, r:-r].mean())


def ms_ssim(output: np.ndarray, reference: np.ndarray) -> float | None:
    """MS-SSIM (5 scales where the image is large enough, fewer below); ``None`` for images
    too small for even 2 scales."""
    import torch

    from .losses import ms_ssim as _ms_ssim
    from .losses import msssim_weights

    output, reference = _pair(output, reference)
    if output.ndim == 2:
        output, reference = output[:, :, None], reference[:, :, None]
    if len(msssim_weights(*output.shape[:2])) < 2:
        return None

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))[None]).float()

    return float(_ms_ssim(t(output), t(reference)))


def gt_mean_scale(output: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``output`` scaled so its mean equals the reference's (the GT-mean protocol), clipped."""
    output = np.clip(np.asarray(output, np.float64), 0, 1)
    mean = output.mean()
    return output if mean == 0 else np.clip(output * (np.asarray(reference).mean() / mean), 0, 1)


def loe(output: np.ndarray, inp: np.ndarray, *, size: int = 50) -> float:
    """Lightness-order error (Wang et al. 2013): how often the order of lightness (max over
    channels) between two pixels flips from input to output, on a grid subsampled to about
    ``size`` pixels along the short side; 0 for any order-preserving change."""

    def lightness(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, np.float64)
        a = a.max(axis=2) if a.ndim == 3 else a
        step = max(1, min(a.shape) // size)
        return a[::step, ::step].ravel()

    lo, li = lightness(output), lightness(inp)
    flips = (lo[:, None] >= lo[None, :]) != (li[:, None] >= li[None, :])
    return float(flips.sum() / lo.size)


def brightness(image: np.ndarray) -> float:
    """Mean of all pixel values, in [0, 1]."""
    return float(np.mean(np.clip(image, 0, 1)))


def full_reference(output: np.ndarray, reference: np.ndarray, *, with_msssim: bool = True) -> dict[str, float | None]:
    """All full-reference scores of one output: psnr, ssim, msssim, psnr_gtmean, ssim_gtmean."""
    scaled = gt_mean_scale(output, reference)
    return {
        "psnr": psnr(output, reference),
        "ssim": ssim(output, reference),
        "msssim": ms_ssim(output, reference) if with_msssim else None,
        "psnr_gtmean": psnr(scaled, reference),
        "ssim_gtmean": ssim(scaled, reference),
    }
