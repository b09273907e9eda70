"""``zero-dce``: Zero-DCE curve estimation (Guo et al., 2020), trained without references.

A 7-layer CNN predicts 8 per-pixel curve maps ``A``; the image is brightened by iterating
``x <- x + A * (x^2 - x)``.  ``(N, 3, H, W)`` in [0, 1] -> same shape in [0, 1]; any H and W.
The four non-reference losses are :func:`zero_reference_loss`'s terms.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register


@register(
    "zero-dce",
    tile=512,
    overlap=64,
    description="Zero-DCE curve estimation, trained on unpaired exposures",
    width=32,
    iterations=8,
)
class ZeroDCE(nn.Module):
    def __init__(self, width: int, iterations: int) -> None:
        super().__init__()
        w = width
        self.convs = nn.ModuleList(
            [nn.Conv2d(3, w, 3, padding=1)]
            + [nn.Conv2d(w, w, 3, padding=1) for _ in range(3)]
            + [nn.Conv2d(2 * w, w, 3, padding=1) for _ in range(2)]
            + [nn.Conv2d(2 * w, 3 * iterations, 3, padding=1)]
        )
        self.iterations = iterations

    def curves(self, x: torch.Tensor) -> torch.Tensor:
        """The curve maps ``(N, 3 * iterations, H, W)`` in [-1, 1]."""
        c = self.convs
        x1 = F.relu(c[0](x))
        x2 = F.relu(c[1](x1))
        x3 = F.relu(c[2](x2))
        x4 = F.relu(c[3](x3))
        x5 = F.relu(c[4](torch.cat([x3, x4], 1)))
        x6 = F.relu(c[5](torch.cat([x2, x5], 1)))
        return torch.tanh(c[6](torch.cat([x1, x6], 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.clamp(0, 1)
        for a in self.curves(x).split(3, dim=1):
            x = x + a * (x * x - x)
        return x.clamp(0, 1)


def spatial_consistency_loss(output: torch.Tensor, inp: torch.Tensor) -> torch.Tensor:
    """Neighbouring 4x4 regions keep their brightness differences."""
    o = F.avg_pool2d(output.mean(1, keepdim=True), 4)
    i = F.avg_pool2d(inp.mean(1, keepdim=True), 4)
    loss = 0
    for dim in (2, 3):
        do = torch.diff(o, dim=dim)
        di = torch.diff(i, dim=dim)
        loss = loss + ((do - di) ** 2).mean()
    return loss


def exposure_loss(output: torch.Tensor, level: float = 0.6, patch: int = 16) -> torch.Tensor:
    """Mean brightness of 16x16 regions close to a well-exposed ``level``."""
    return ((F.avg_pool2d(output.mean(1, keepdim=True), patch) - level) ** 2).mean()


def colour_constancy_loss(output: torch.Tensor) -> torch.Tensor:
    """Grey-world: the channel means agree."""
    m = output.mean((2, 3))
    r, g, b = m[:, 0], m[:, 1], m[:, 2]
    return (((r - g) ** 2) ** 2 + ((r - b) ** 2) ** 2 + ((g - b) ** 2) ** 2).add(1e-12).sqrt().mean()


def illumination_smoothness_loss(curves: torch.Tensor) -> torch.Tensor:
    """Squared total variation of the curve maps, scaled as in the authors' code: twice the mean
    over pixels of the squared differences summed over the ``3 * iterations`` channels.

    Squared, not absolute: small differences between neighbouring curves cost almost nothing, so
    dark and bright regions can get different curves.  (An absolute version, at the paper's
    weight of 200, held the curves nearly constant across the photo: the network learnt to
    brighten everything a little, over-exposed regions included, and dark ones far too little.)"""
    dh = torch.diff(curves, dim=2).pow(2).sum(1).mean()
    dw = torch.diff(curves, dim=3).pow(2).sum(1).mean()
    return 2 * (dh + dw)


def zero_reference_loss(model: ZeroDCE, inp: torch.Tensor) -> torch.Tensor:
    """Zero-DCE's weighted sum of the four non-reference losses for a batch ``inp`` in [0, 1]."""
    curves = model.curves(inp)
    x = inp
    for a in curves.split(3, dim=1):
        x = x + a * (x * x - x)
    return (
        spatial_consistency_loss(x, inp)
        + 10 * exposure_loss(x)
        + 5 * colour_constancy_loss(x)
        + 200 * illumination_smoothness_loss(curves)
    )
