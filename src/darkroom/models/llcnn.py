"""``llcnn``: LLCNN (Tao et al., 2017), trained with MS-SSIM + L1 (seed 003).

Stacked convolutional modules; each has two branches (two 3x3 convolutions, and one 1x1
convolution) whose sum is added to the module's input.  ``(N, 3, H, W)`` in [0, 1] -> same
shape, clipped to [0, 1]; any H and W.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register


class LLCNNModule(nn.Module):
    """``relu(x + branch_3x3x2(x) + branch_1x1(x))``."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.deep = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1))
        self.wide = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.deep(x) + self.wide(x))


@register(
    "llcnn",
    tile=512,
    overlap=64,
    description="seed 003: LLCNN two-branch residual modules (MS-SSIM + L1), ROI web app",
    width=64,
    modules=3,
)
class LLCNN(nn.Module):
    def __init__(self, width: int, modules: int) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True))
        self.body = nn.Sequential(*[LLCNNModule(width) for _ in range(modules)])
        self.tail = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.tail(self.body(self.head(x)))).clamp(0, 1)
