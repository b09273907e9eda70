"""``dense-ae``: the MNIST denoising autoencoder (seed 004).

Dense 784-500-300-100 encoder with ReLU, the mirrored decoder, sigmoid output.
``(N, 784)`` in [0, 1] -> ``(N, 784)`` in (0, 1).  Weights start as Keras's ``Dense`` layers do
(Glorot-uniform weights, zero biases), as in the original: with PyTorch's default start the same
training reached 20.3 dB on held-out digits after 4000 steps, against 21.8 dB with Keras's.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register


@register(
    "dense-ae",
    description="seed 004: dense 784-500-300-100 denoising autoencoder for MNIST",
    kind="flat",
    multiple=0,
    sizes=[784, 500, 300, 100],
)
class DenseAutoencoder(nn.Module):
    def __init__(self, sizes: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        back = sizes[::-1]
        for i, (a, b) in enumerate(zip(back, back[1:])):
            layers += [nn.Linear(a, b), nn.Sigmoid() if i == len(back) - 2 else nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers)
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))
