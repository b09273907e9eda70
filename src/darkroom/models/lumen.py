"""Lumen: darkroom's flagship, a blind restorer for dark and noisy photos built for the CPU.

Shape: a NAFNet-style U-Net that works at quarter resolution after a 4x pixel-unshuffle, with
gated blocks and per-pixel channel normalisation, and a global residual
``out = x + r``.  It has no global pooling, so its output at a pixel depends only on a bounded
neighbourhood of pixels plus one whole-image summary, the exposure cue of
:mod:`darkroom.exposure` (5 to 7 numbers), which scales and shifts the features at the first and the
deepest level.  The engine computes the cue once per photo and gives every tile the same one, so
tiled and whole-image inference agree and all of a photo is brightened alike.

With ``refine=C`` a small full-resolution tail of four 3x3 convolutions with ``C`` channels sees the
input and the U-Net's estimate side by side and adds a correction to the estimate: fine, pixel-level
work (isolated salt-and-pepper impulses, texture the 4x unshuffle blurs) that the quarter-resolution
U-Net does poorly.  Its last layer starts at zero, so a tail added to trained weights starts as a
no-op.

Input and output: ``(N, 3, H, W)`` float in [0, 1]; any H and W (padded inside ``forward``);
``cue`` ``(N, cue_size)`` (5, 6 or 7 numbers), computed from ``x`` when not given.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..exposure import CUE_SIZE, CUE_SIZES, FULL_CUE_SIZE, exposure_cue
from .registry import register


class LayerNorm2d(nn.Module):
    """Layer norm over the channels of each pixel: ``(N, C, H, W)`` -> same shape."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        return (x - mu) * torch.rsqrt(var + self.eps) * self.weight + self.bias


def _standardise_channels(x: torch.Tensor, channels: int, eps: float) -> torch.Tensor:
    """``(x - mean) / sqrt(var + eps)`` over the ``channels`` channels of each pixel of ``(N, C, H, W)``,
    with the mean taken by a 1x1 convolution: the form :class:`GatedBlock` exports to ONNX (a
    ReduceMean over NCHW channels is slow in ONNX Runtime)."""
    average = torch.full((1, channels, 1, 1), 1.0 / channels, dtype=x.dtype)
    centred = x - F.conv2d(x, average)
    return centred * torch.rsqrt(F.conv2d(centred * centred, average) + eps)


def _after_norm(conv: nn.Conv2d, norm: LayerNorm2d, rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of output channels ``rows`` of the 1x1 ``conv`` with ``norm``'s per-channel
    scale and shift folded in, so ``conv(norm(x))`` is ``conv2d(standardised x, weight, bias)``."""
    w = conv.weight[rows, :, 0, 0]
    return (w * norm.weight.view(1, -1))[:, :, None, None], conv.bias[rows] + w @ norm.bias.view(-1)


class SimpleGate(nn.Module):
    """Split the channels in two halves and multiply them: ``(N, 2C, H, W)`` -> ``(N, C, H, W)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class GatedBlock(nn.Module):
    """A NAFNet block without global attention: a depthwise-conv gated mixer and a gated FFN,
    each behind a zero-initialised residual scale so a fresh network starts as the identity."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(c)
        self.expand = nn.Conv2d(c, 2 * c, 1)
        self.dwconv = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.project = nn.Conv2d(c, c, 1)
        self.norm2 = LayerNorm2d(c)
        self.ffn_in = nn.Conv2d(c, 2 * c, 1)
        self.ffn_out = nn.Conv2d(c, c, 1)
        self.gate = SimpleGate()
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return self._export_forward(x)
        y = self.project(self.gate(self.dwconv(self.expand(self.norm1(x)))))
        x = x + y * self.beta
        y = self.ffn_out(self.gate(self.ffn_in(self.norm2(x))))
        return x + y * self.gamma

    def _export_forward(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward`'s arithmetic rearranged for ONNX Runtime, equal to float rounding: each
        norm's scale and shift folded into the 1x1 convolution after it, each gate's two halves
        made by convolutions of their own instead of sliced from one, and the residual scales folded
        into the projections.  Every step but the norms' means then stays in ONNX Runtime's blocked
        channel layout: lumen runs about a quarter faster (measured at 768 px on two cores)."""
        c = self.beta.shape[1]
        halves = (slice(0, c), slice(c, 2 * c))
        h = _standardise_channels(x, c, self.norm1.eps)
        a, b = (
            F.conv2d(
                F.conv2d(h, *_after_norm(self.expand, self.norm1, rows)),
                self.dwconv.weight[rows],
                self.dwconv.bias[rows],
                padding=1,
                groups=c,
            )
            for rows in halves
        )
        beta = self.beta.view(-1)
        x = x + F.conv2d(a * b, self.project.weight * beta.view(-1, 1, 1, 1), self.project.bias * beta)
        h = _standardise_channels(x, c, self.norm2.eps)
        a, b = (F.conv2d(h, *_after_norm(self.ffn_in, self.norm2, rows)) for rows in halves)
        gamma = self.gamma.view(-1)
        return x + F.conv2d(a * b, self.ffn_out.weight * gamma.view(-1, 1, 1, 1), self.ffn_out.bias * gamma)


def _film_mlp(inputs: int, outputs: int) -> nn.Sequential:
    """Cue numbers ``(N, inputs)`` -> FiLM scales and shifts ``(N, outputs)``; the last layer starts at
    zero, so a fresh one changes nothing until training finds the cue useful."""
    mlp = nn.Sequential(nn.Linear(inputs, 64), nn.ReLU(), nn.Linear(64, outputs))
    nn.init.zeros_(mlp[2].weight)
    nn.init.zeros_(mlp[2].bias)
    return mlp


@register(
    "lumen",
    description=(
        "darkroom flagship: blind low-light + noise restorer, gated U-Net at quarter resolution, full-res tail;"
        " salt-and-pepper impulses are filled in first"
    ),
    multiple=16,
    tile=1024,
    # 12 MP with ONNX Runtime (Intel Xeon, 6 runs each, alternating): 1600 px tiles, cut 2 x 2 by
    # engine.tile_grid, 8.4-8.85 s at 1.46 GB; 1536 px (cut 2 x 3) 8.75-9.1 s at 1.35 GB.  Fewer pixels (14.8 MP
    # against 16.1), but each costs more in larger tiles (0.40 s/MP at 1 MP, 0.47 at 3.7).  On the EPYC 1536 px
    # took 7.7 s and 1024 px 8.9 s.
    onnx_tile=1600,
    fills_impulses=True,
    guards_highlights=True,
    evens_gain=True,
    colours_grey_noise=True,
    self_ensemble=True,
    helpers=("darkroom.exposure",),
    width=64,
    enc_blocks=[3, 1],
    mid_blocks=6,
    dec_blocks=[1, 3],
    unshuffle=4,
    cue=True,
    refine=16,
    cue_size=5,
    intent_film=False,
)
class Lumen(nn.Module):
    """See the module docstring.  ``width`` channels after the unshuffle, doubling per level;
    ``cue=False`` builds the first release's network, which has no exposure cue; ``refine=0``
    builds the networks of stages 1 to 3, which have no full-resolution tail (the registered
    default, 16, is the shipped stage 4); ``cue_size=6`` also reads the highlight level of
    :func:`darkroom.exposure.exposure_cue` (stage 12i reads these 6 numbers) and
    ``cue_size=7`` the person's intent as well (1 to keep the photo's exposure, 0 to brighten it as
    the network judges; 0 when the cue is computed from ``x``).  A longer cue than the network reads
    is cut to its length.

    ``intent_film=True`` (with ``cue_size=7``) gives the intent its own cue layers: the usual ones
    read the first six numbers, and ``intent_mlp``, fed the same six, adds its scale and shift
    multiplied by the intent.  With the intent 0 the network is exactly the six-number one, so a
    network trained on from six-number weights with only ``intent_mlp`` trainable learns what
    "keep the exposure" means without changing its default answer by a bit (the shipped stage 14c)."""

    def __init__(
        self,
        width: int,
        enc_blocks: list[int],
        mid_blocks: int,
        dec_blocks: list[int],
        unshuffle: int = 2,
        cue: bool = False,
        refine: int = 0,
        cue_size: int = CUE_SIZE,
        intent_film: bool = False,
    ) -> None:
        super().__init__()
        if cue_size not in CUE_SIZES:
            raise ValueError(f"cue_size must be one of {CUE_SIZES}, not {cue_size}")
        if intent_film and (not cue or cue_size != FULL_CUE_SIZE):
            raise ValueError(f"intent_film needs cue=True and cue_size={FULL_CUE_SIZE}, the cue with the intent")
        self.unshuffle = unshuffle
        self.uses_cue = cue
        self.cue_size = cue_size
        self.intent_film = intent_film
        self.intro = nn.Conv2d(3 * unshuffle**2, width, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        c = width
        for n in enc_blocks:
            self.encoders.append(nn.Sequential(*[GatedBlock(c) for _ in range(n)]))
            self.downs.append(nn.Conv2d(c, 2 * c, 2, stride=2))
            c *= 2
        self.middle = nn.Sequential(*[GatedBlock(c) for _ in range(mid_blocks)])
        self.film_sizes = (width, c)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for n in dec_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(c, 2 * c, 1, bias=False), nn.PixelShuffle(2)))
            c //= 2
            self.decoders.append(nn.Sequential(*[GatedBlock(c) for _ in range(n)]))
        self.ending = nn.Conv2d(width, 3 * unshuffle**2, 3, padding=1)
        self.multiple = unshuffle * 2 ** len(enc_blocks)
        self.refine: nn.Sequential | None = None
        if refine:
            self.refine = nn.Sequential(
                nn.Conv2d(6, refine, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(refine, refine, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(refine, refine, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(refine, 3, 3, padding=1),
            )
            nn.init.zeros_(self.refine[-1].weight)
            nn.init.zeros_(self.refine[-1].bias)
        if cue:
            # cue -> a scale and a shift for the first and the deepest features; the last layer
            # starts at zero so a fresh network ignores the cue until training finds it useful
            self.cue_mlp = _film_mlp(cue_size - 1 if intent_film else cue_size, 2 * sum(self.film_sizes))
        if intent_film:  # the intent's own scale and shift, added times the intent (see the class docstring)
            self.intent_mlp = _film_mlp(cue_size - 1, 2 * sum(self.film_sizes))

    def forward(self, x: torch.Tensor, cue: torch.Tensor | None = None) -> torch.Tensor:
        n, _, h, w = x.shape
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        films: list[tuple[torch.Tensor, torch.Tensor]] = []
        if self.uses_cue:
            cue = exposure_cue(x, self.cue_size) if cue is None else cue[:, : self.cue_size].to(x.dtype)
            if self.intent_film:
                scene, intent = cue[:, :-1], cue[:, -1:]
                film = self.cue_mlp(scene) + intent * self.intent_mlp(scene)
            else:
                film = self.cue_mlp(cue)
            params = film[:, :, None, None].split([s for s in self.film_sizes for _ in (0, 1)], 1)
            films = [(params[0], params[1]), (params[2], params[3])]
        inp = F.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x
        f = self.intro(F.pixel_unshuffle(inp, self.unshuffle))
        if films:
            f = f * (1 + films[0][0]) + films[0][1]
        skips = []
        for enc, down in zip(self.encoders, self.downs):
            f = enc(f)
            skips.append(f)
            f = down(f)
        if films:
            f = f * (1 + films[1][0]) + films[1][1]
        f = self.middle(f)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            f = dec(up(f) + skip)
        out = inp + F.pixel_shuffle(self.ending(f), self.unshuffle)
        if self.refine is not None:
            out = out + self.refine(torch.cat([inp, out], 1))
        return out[:, :, :h, :w]
