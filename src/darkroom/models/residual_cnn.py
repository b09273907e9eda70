"""``residual-cnn``: the ZIP-dataset project's model (seed 000).

Convolutions with ReLU, residual blocks that preserve features, and a final convolution with a
sigmoid.  ``(N, 3, H, W)`` in [0, 1] -> ``(N, 3, H, W)`` in (0, 1); any H and W.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register


class ResidualBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` with 3x3 convolutions of ``c`` channels."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


@register(
    "residual-cnn",
    tile=512,
    overlap=64,
    description="seed 000: conv+ReLU with residual blocks, sigmoid output (MSE)",
    width=64,
    blocks=4,
)
class ResidualCNN(nn.Module):
    def __init__(self, width: int, blocks: int) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True))
        self.body = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.tail = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.tail(self.body(self.head(x))))
