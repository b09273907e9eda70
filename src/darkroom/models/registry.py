"""Model registry: name -> constructor and default config (the timm pattern).

A model is described by data: ``{"arch": name, "config": {...}}``.  :func:`create_model`
builds it; :mod:`darkroom.checkpoint` pairs it with safetensors weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of one architecture.

    ``kind`` says what the model takes: ``"image"`` (N,3,H,W) in [0,1] -> (N,3,H,W) in [0,1],
    ``"flat"`` (N,784) -> (N,784) for the MNIST autoencoder.  ``multiple`` is the size the
    input's height and width are padded to; ``0`` means a fixed input size.
    ``tile`` and ``overlap`` are the engine's defaults for this architecture (see
    :mod:`darkroom.engine`): ``overlap`` must leave, after the 32 px blend, more context than the
    receptive field reaches (checked by a test), and ``tile`` keeps a 12-megapixel photo within
    about 2 GB of memory (its full-resolution activations set the size): no tile holds more pixels
    than a square core of ``tile`` with its context (:func:`darkroom.engine.tile_grid`).  ``onnx_tile`` is the tile
    under ONNX Runtime, whose memory arena holds larger tiles in the same memory (by default ``tile``).
    """

    name: str
    constructor: Callable[..., nn.Module]
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    kind: str = "image"
    multiple: int = 1
    tile: int = 2048
    overlap: int = 192
    onnx_tile: int = 0
    fills_impulses: bool = False
    """Whether the engine fills in salt-and-pepper impulses before the model sees a photo
    (:func:`darkroom.impulse.fill_impulses`); a photo without evident impulses is passed as is."""
    guards_highlights: bool = False
    """Whether the engine tones down bright regions brightened far more than the photo's other
    bright parts (:func:`darkroom.highlights.guard_highlights`)."""
    evens_gain: bool = False
    """Whether the engine gives equally bright parts of a photo the same gain, so the model's
    brightening has no blotches (:func:`darkroom.even_gain.even_out_gain`, after the highlight guard)."""
    colours_grey_noise: bool = False
    """Whether the engine shows grey noise to the model as colour noise (:mod:`darkroom.grey`): a
    black-and-white photo's, whose output is averaged back to grey, and grain found on a colour photo."""
    self_ensemble: bool = False
    """Whether the engine, unless told otherwise, averages the model over flips and quarter turns of
    each tile on small photos, where the extra passes cost little time
    (:func:`darkroom.engine.auto_ensemble`)."""
    helpers: tuple[str, ...] = ()
    """Other darkroom modules whose code fixes the model's outputs (lumen's exposure cue, say):
    :func:`darkroom.checkpoint.fingerprint` hashes them with the constructor's module."""

    def __post_init__(self) -> None:
        if not self.onnx_tile:  # frozen: set the default through object.__setattr__
            object.__setattr__(self, "onnx_tile", self.tile)


_REGISTRY: dict[str, ModelSpec] = {}


def register(
    name: str,
    *,
    description: str,
    kind: str = "image",
    multiple: int = 1,
    tile: int = ModelSpec.tile,
    overlap: int = ModelSpec.overlap,
    onnx_tile: int = 0,
    fills_impulses: bool = False,
    guards_highlights: bool = False,
    evens_gain: bool = False,
    colours_grey_noise: bool = False,
    self_ensemble: bool = False,
    helpers: tuple[str, ...] = (),
    **defaults: Any,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Class decorator that adds an architecture to the registry under ``name``."""

    def wrap(constructor: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(
            name,
            constructor,
            dict(defaults),
            description=description,
            kind=kind,
            multiple=multiple,
            tile=tile,
            overlap=overlap,
            onnx_tile=onnx_tile,
            fills_impulses=fills_impulses,
            guards_highlights=guards_highlights,
            evens_gain=evens_gain,
            colours_grey_noise=colours_grey_noise,
            self_ensemble=self_ensemble,
            helpers=tuple(helpers),
        )
        return constructor

    return wrap


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``; a clear error lists the known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}") from None


def find_spec(module: nn.Module) -> ModelSpec | None:
    """The spec whose constructor built ``module``, or ``None`` for an unregistered module."""
    return next((s for s in _REGISTRY.values() if isinstance(module, s.constructor)), None)


def list_models() -> list[str]:
    """Registered architecture names, sorted."""
    return sorted(_REGISTRY)


def create_model(name: str, **config: Any) -> nn.Module:
    """Build architecture ``name`` with its default config updated by ``config``."""
    spec = get_spec(name)
    unknown = set(config) - set(spec.defaults)
    if unknown:
        raise ValueError(f"model {name!r} has no option(s) {sorted(unknown)}; options: {sorted(spec.defaults)}")
    return spec.constructor(**{**spec.defaults, **config})


def full_config(name: str, **config: Any) -> dict[str, Any]:
    """The complete config (defaults plus overrides) that rebuilds the same model."""
    spec = get_spec(name)
    return {**spec.defaults, **config}
