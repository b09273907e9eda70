"""VGG19 features for transfer learning and a perceptual loss (seed 001's phase 2).

The layout matches the common VGG19 ``features`` stack (16 convolutions, 5 max-pools), so a
state dict from a local file loads by the usual ``features.N.weight`` names.  No weights are
downloaded: :func:`load_vgg19_features` reads a file the user names (safetensors, or a state
dict read with ``weights_only=True``).  Input ``(N, 3, H, W)`` in [0, 1].
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn

_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """VGG19's convolutional part; ``forward`` returns the activations at ``layers`` (indices
    into ``features``; default relu1_2, relu2_2, relu3_4, relu4_4)."""

    def __init__(self, layers: tuple[int, ...] = (3, 8, 17, 26)) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        c = 3
        for v in _CFG:
            if v == "M":
                mods.append(nn.MaxPool2d(2, 2))
            else:
                mods += [nn.Conv2d(c, int(v), 3, padding=1), nn.ReLU(inplace=False)]
                c = int(v)
        self.features = nn.Sequential(*mods[: max(layers) + 1])
        self.layers = tuple(layers)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.layers:
                out.append(x)
        return out


def load_vgg19_features(path: str | os.PathLike, layers: tuple[int, ...] = (3, 8, 17, 26)) -> VGG19Features:
    """Build :class:`VGG19Features` and load weights from a local ``.safetensors`` or ``.pth``
    state dict (keys ``features.N.weight``; other keys ignored), frozen and in eval mode."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model = VGG19Features(layers)
    wanted = {k: v for k, v in state.items() if k.startswith("features.") and k in model.state_dict()}
    missing = set(k for k in model.state_dict() if k.startswith("features.")) - set(wanted)
    if missing:
        raise ValueError(f"{path}: missing VGG19 weights {sorted(missing)[:4]}...")
    model.load_state_dict({**model.state_dict(), **wanted})
    return model.eval().requires_grad_(False)


class PerceptualLoss(nn.Module):
    """Mean L1 distance between VGG19 features of output and target (plus nothing else)."""

    def __init__(self, features: VGG19Features) -> None:
        super().__init__()
        self.features = features.eval().requires_grad_(False)

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(nn.functional.l1_loss(a, b) for a, b in zip(self.features(output), self.features(target))) / len(
            self.features.layers
        )
