"""``dncnn``: DnCNN (Zhang et al., 2017), the classic reference denoiser.

17 layers of 3x3 convolutions with 64 channels and batch norm, predicting the noise, which is
subtracted from the input.  ``(N, 3, H, W)`` -> same shape (not clipped); any H and W.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register


@register(
    "dncnn",
    tile=512,
    overlap=64,
    description="DnCNN-17, residual noise prediction, the classic reference",
    depth=17,
    width=64,
)
class DnCNN(nn.Module):
    def __init__(self, depth: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        last = nn.Conv2d(width, 3, 3, padding=1)
        nn.init.zeros_(last.weight)  # start as the identity: a fresh model never adds noise of its own
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.net(x)
