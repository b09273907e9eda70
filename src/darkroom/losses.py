"""Training losses on ``(N, C, H, W)`` tensors in [0, 1] (SSIM family from pytorch-msssim).

Every loss is ``loss(output, target) -> scalar tensor``; lower is better.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def charbonnier(output: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """A smooth L1: ``mean(sqrt((output - target)^2 + eps^2))``."""
    return torch.sqrt((output - target) ** 2 + eps * eps).mean()


def _image_batch(x: torch.Tensor) -> torch.Tensor:
    """Flat MNIST vectors ``(N, 784)`` become ``(N, 1, 28, 28)``; images pass through."""
    return x.view(x.shape[0], 1, 28, 28) if x.dim() == 2 else x


def ssim_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - SSIM`` (Gaussian window 11, sigma 1.5, data range 1)."""
    from pytorch_msssim import ssim

    output, target = _image_batch(output), _image_batch(target)
    return 1 - ssim(output.clamp(0, 1), target, data_range=1.0, size_average=True)


def msssim_weights(height: int, width: int, win_size: int = 11) -> list[float]:
    """The MS-SSIM scale weights that fit an image: scales are dropped (and the rest
    renormalised) while the smallest side is too small for the window at the coarsest scale."""
    weights = list(MSSSIM_WEIGHTS)
    while len(weights) > 1 and min(height, width) <= (win_size - 1) * 2 ** (len(weights) - 1):
        weights.pop()
    total = sum(weights)
    return [w / total for w in weights]


def ms_ssim(output: torch.Tensor, target: torch.Tensor, win_size: int = 11) -> torch.Tensor:
    """MS-SSIM of a batch (mean), with as many scales as the image size allows.

    pytorch-msssim's public ``ms_ssim`` insists on room for five scales whatever the weights,
    so this runs its per-scale ``_ssim`` the same way with the scales that fit.
    """
    from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

    x, y = _image_batch(output).clamp(0, 1), _image_batch(target)
    weights = torch.tensor(msssim_weights(*x.shape[-2:], win_size=win_size), dtype=x.dtype, device=x.device)
    win = _fspecial_gauss_1d(win_size, 1.5).to(x).repeat([x.shape[1], 1, 1, 1])
    levels = []
    for i in range(len(weights)):
        ssim_per_channel, cs = _ssim(x, y, data_range=1.0, win=win, size_average=False, K=(0.01, 0.03))
        if i < len(weights) - 1:
            levels.append(torch.relu(cs))
            pad = [s % 2 for s in x.shape[2:]]
            x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    levels.append(torch.relu(ssim_per_channel))
    return torch.prod(torch.stack(levels) ** weights.view(-1, 1, 1), dim=0).mean()


def msssim_l1(output: torch.Tensor, target: torch.Tensor, alpha: float = 0.84) -> torch.Tensor:
    """Zhao et al. (2017): ``alpha * (1 - MS-SSIM) + (1 - alpha) * L1``."""
    return alpha * (1 - ms_ssim(output, target, win_size=7)) + (1 - alpha) * F.l1_loss(output, target)


def psnr_loss(output: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Minus the mean per-image PSNR (data range 1), in dB / 10: ``mean(log10(mse_i + eps))``.

    The benchmark averages PSNR image by image, which MSE over the batch does not: MSE lets a few
    hard images dominate, while every image's PSNR counts equally here."""
    mse = (output - target).pow(2).flatten(1).mean(1)
    return torch.log10(mse + eps).mean()


LOSSES: dict[str, Loss] = {
    "mse": F.mse_loss,
    "psnr": psnr_loss,
    "l1": F.l1_loss,
    "charbonnier": charbonnier,
    "ssim": ssim_loss,
    "msssim_l1": msssim_l1,
}


def get_loss(name: str) -> Loss:
    """The loss called ``name`` (see :data:`LOSSES`)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}") from None
