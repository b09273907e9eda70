"""``resnet16``: the 16-layer ResNet/VGG19-inspired restorer (seed 001).

16 weight layers of 3x3 convolutions: a head, seven two-convolution residual blocks (VGG-style
stacks of 3x3 convolutions with ResNet skips) and a tail, plus a global residual.
``(N, 3, H, W)`` in [0, 1] -> same shape, clipped to [0, 1]; any H and W.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register
from .residual_cnn import ResidualBlock


@register(
    "resnet16",
    tile=512,
    overlap=64,
    description="seed 001: 16-layer ResNet/VGG-style restorer (MSE, salt-and-pepper)",
    width=64,
)
class ResNet16(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True))
        self.body = nn.Sequential(*[ResidualBlock(width) for _ in range(7)])
        self.tail = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.tail(self.body(self.head(x)))).clamp(0, 1)
