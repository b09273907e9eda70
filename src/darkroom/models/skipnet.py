"""``skipnet``: the paired low/high-light CNN with encoder-decoder skip connections (seed 002).

``(N, 3, H, W)`` in [0, 1] -> ``(N, 3, H, W)`` in (0, 1) through a sigmoid; H and W are padded
to a multiple of 4 inside ``forward``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True))


@register(
    "skipnet",
    description="seed 002: encoder-decoder CNN with skip connections, sigmoid (MSE, PSNR)",
    multiple=4,
    tile=512,
    overlap=64,
    width=32,
)
class SkipNet(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        self.enc1 = nn.Sequential(_conv(3, w), _conv(w, w))
        self.enc2 = nn.Sequential(_conv(w, 2 * w), _conv(2 * w, 2 * w))
        self.bottom = nn.Sequential(_conv(2 * w, 4 * w), _conv(4 * w, 4 * w))
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
        self.dec2 = nn.Sequential(_conv(4 * w, 2 * w), _conv(2 * w, 2 * w))
        self.up1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec1 = nn.Sequential(_conv(2 * w, w), _conv(w, w))
        self.out = nn.Conv2d(w, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="replicate")
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.bottom(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return torch.sigmoid(self.out(d1))[..., :h, :w]
