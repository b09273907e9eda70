"""Synthetic degradations: noise and darkening, seeded, on NumPy images and torch batches.

Every function takes a clean image ``x`` with values in [0, 1] and returns a new, degraded
array of the same shape and dtype; the input is never modified.

* NumPy images are float32 ``(H, W, C)`` or ``(H, W)``; randomness comes from ``rng``: a seed
  (int) or a ``numpy.random.Generator``.
* torch tensors are float ``(N, C, H, W)`` (or ``(C, H, W)``); randomness comes from ``rng``: a
  seed (int) or a ``torch.Generator`` on the tensor's device.

The same seed gives the same pixels.  One implementation serves both backends: the arithmetic
uses operators that NumPy arrays and torch tensors share, and the few random draws go through
:class:`_Backend`.

Example:
    >>> import numpy as np
    >>> x = np.full((8, 8, 3), 0.5, np.float32)
    >>> y = apply_preset(x, "gauss25", rng=0)
    >>> y.shape, y.dtype
    ((8, 8, 3), dtype('float32'))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .advice import looks_low_key
from .exposure import REC601, highlight_level

Array = Any  # numpy.ndarray or torch.Tensor
Rng = Any  # int, numpy.random.Generator or torch.Generator


def _is_torch(x: Array) -> bool:
    return type(x).__module__.startswith("torch")


class _Backend:
    """The random draws and the few non-operator functions, for NumPy or torch."""

    def __init__(self, x: Array, rng: Rng) -> None:
        self.torch = _is_torch(x)
        self.x = x
        if self.torch:
            import torch

            if isinstance(rng, torch.Generator):
                self.gen = rng
            else:
                self.gen = torch.Generator(device=x.device)
                self.gen.manual_seed(int(np.random.default_rng(rng).integers(2**62)))
        else:
            self.gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def normal(self, shape: Sequence[int] | None = None) -> Array:
        shape = tuple(self.x.shape) if shape is None else tuple(shape)
        if self.torch:
            import torch

            return torch.randn(shape, generator=self.gen, device=self.x.device, dtype=self.x.dtype)
        return self.gen.standard_normal(shape, dtype=np.float32)

    def uniform(self, shape: Sequence[int]) -> Array:
        if self.torch:
            import torch

            return torch.rand(tuple(shape), generator=self.gen, device=self.x.device, dtype=self.x.dtype)
        return self.gen.random(tuple(shape), dtype=np.float32)

    def poisson(self, lam: Array) -> Array:
        if self.torch:
            import torch

            return torch.poisson(lam.clamp_min(0), generator=self.gen)
        return self.gen.poisson(np.maximum(lam, 0)).astype(np.float32)

    def clip(self, x: Array, lo: float = 0.0, hi: float = 1.0) -> Array:
        return x.clamp(lo, hi) if self.torch else np.clip(x, lo, hi).astype(np.float32)

    def where(self, cond: Array, a: Array, b: Array) -> Array:
        if self.torch:
            import torch

            return torch.where(cond, a, b)
        return np.where(cond, a, b).astype(np.float32)

    def channels(self, x: Array) -> list[Array]:
        """The colour channels of ``x``, each keeping a channel axis of size 1; ``[x]`` for ``(H, W)``."""
        s = tuple(x.shape)
        if self.torch:
            return list(x.split(1, dim=-3)) if len(s) >= 3 else [x]
        return [x[..., c : c + 1] for c in range(s[2])] if len(s) == 3 else [x]

    def join_channels(self, parts: list[Array]) -> Array:
        """Inverse of :meth:`channels`."""
        if self.torch:
            import torch

            return torch.cat(parts, dim=-3)
        return np.concatenate(parts, axis=-1)

    def pixel_shape(self) -> tuple[int, ...]:
        """Shape of a per-pixel mask that broadcasts over channels."""
        s = tuple(self.x.shape)
        if self.torch:
            return s[:-3] + (1,) + s[-2:] if len(s) >= 3 else s
        return s[:2] + (1,) if len(s) == 3 else s


def is_grey(x: np.ndarray) -> bool:
    """Whether the image ``(H, W, 3)`` has the same values in all three channels (a black-and-white
    photo read as RGB)."""
    return x.ndim == 3 and x.shape[2] == 3 and bool((x[..., 0] == x[..., 1]).all() and (x[..., 1] == x[..., 2]).all())


def _check(x: Array) -> Array:
    if not _is_torch(x):
        x = np.asarray(x, dtype=np.float32)
    return x


# ----------------------------------------------------------------------------- noise


def gaussian(x: Array, sigma: float, *, clip: bool = False, rng: Rng = None) -> Array:
    """Additive white Gaussian noise: ``x + N(0, sigma^2)``, ``sigma`` on the [0, 1] scale.

    With ``clip=False`` (the published tables' protocol) values may leave [0, 1].
    """
    x = _check(x)
    b = _Backend(x, rng)
    y = x + b.normal() * float(sigma)
    return b.clip(y) if clip else y


def jpeg(x: Array, quality: int) -> Array:
    """JPEG compression as cameras and websites apply it: each photo saved by Pillow at ``quality`` (1-95)
    with 4:2:0 chroma subsampling and read back.  NumPy ``(H, W, C)`` or torch ``(..., C, H, W)``, C 1 or 3,
    in [0, 1] (values outside are clipped, as an 8-bit file must); returns the same type, shape and dtype.
    Deterministic."""
    if not 1 <= quality <= 95:
        raise ValueError(f"jpeg quality must be 1-95, got {quality}")
    x = _check(x)
    if _is_torch(x):
        import torch

        photos = x.detach().reshape(-1, *x.shape[-3:]).permute(0, 2, 3, 1).cpu().numpy()
        out = np.stack([_jpeg_photo(photo, quality) for photo in photos])
        return torch.from_numpy(out).permute(0, 3, 1, 2).reshape(x.shape).to(x.device, x.dtype)
    return _jpeg_photo(x, quality)


def _jpeg_photo(x: np.ndarray, quality: int) -> np.ndarray:
    """One NumPy photo ``(H, W, 1 or 3)`` through :func:`jpeg`."""
    import io

    from PIL import Image

    if x.ndim != 3 or x.shape[2] not in (1, 3):
        raise ValueError(f"jpeg needs an (H, W, 1) or (H, W, 3) photo, got shape {x.shape}")
    u8 = (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(u8[..., 0] if x.shape[2] == 1 else u8).save(buffer, "JPEG", quality=quality, subsampling=2)
    return (np.asarray(Image.open(buffer), np.float32) / 255).reshape(x.shape)


def salt_pepper(x: Array, density: float, *, salt_ratio: float = 0.5, rng: Rng = None) -> Array:
    """Impulse noise: each pixel location, with probability ``density``, has all channels set
    to 1 (a ``salt_ratio`` share of the hits) or 0 (the rest)."""
    x = _check(x)
    b = _Backend(x, rng)
    u = b.uniform(b.pixel_shape())
    salt = u < density * salt_ratio
    pepper = (u >= density * salt_ratio) & (u < density)
    y = b.where(salt, x * 0 + 1, x)
    return b.where(pepper, x * 0, y)


def poisson(x: Array, peak: float, *, rng: Rng = None) -> Array:
    """Shot noise: ``Poisson(peak * x) / peak``; a lower ``peak`` is noisier."""
    x = _check(x)
    b = _Backend(x, rng)
    return b.poisson(x * float(peak)) / float(peak)


def speckle(x: Array, sigma: float, *, rng: Rng = None) -> Array:
    """Multiplicative noise: ``clip(x + x * N(0, sigma^2), 0, 1)``."""
    x = _check(x)
    b = _Backend(x, rng)
    return b.clip(x + x * b.normal() * float(sigma))


def _unit_gaussian_kernel(blur: float) -> np.ndarray:
    """A 1-D Gaussian kernel of std ``blur`` px, scaled so that its squares sum to 1: white noise
    filtered by it along both axes keeps unit variance."""
    radius = max(1, int(np.ceil(3 * blur)))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / max(blur, 1e-6)) ** 2)
    return (k / np.sqrt((k**2).sum())).astype(np.float32)


def _blur_field(b: _Backend, n: Array, kernel: np.ndarray) -> Array:
    """Filter each channel of a noise field by ``kernel`` along rows and columns, edges repeated;
    NumPy ``(H, W[, C])``, torch ``(..., H, W)``."""
    if b.torch:
        import torch
        import torch.nn.functional as F

        flat = n.reshape(-1, 1, *n.shape[-2:])
        k = torch.as_tensor(kernel, dtype=n.dtype, device=n.device)
        r = len(kernel) // 2
        flat = F.conv2d(F.pad(flat, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        flat = F.conv2d(F.pad(flat, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
        return flat.reshape(n.shape)
    import cv2

    if n.ndim == 3:
        return np.stack([_blur_field(b, n[..., c], kernel) for c in range(n.shape[-1])], axis=-1)
    return cv2.sepFilter2D(n, -1, kernel, kernel, borderType=cv2.BORDER_REPLICATE).reshape(n.shape)


def correlated_gaussian(
    x: Array,
    sigma: float,
    *,
    blur: float = 1.0,
    shared: float = 0.5,
    channel_gain: Sequence[float] | None = None,
    clip: bool = False,
    rng: Rng = None,
) -> Array:
    """Gaussian noise that is correlated across neighbouring pixels and across colour channels,
    as a camera's demosaicing and colour processing leave its sensor noise (white noise is the
    idealised case that :func:`gaussian` draws).

    White noise is blurred by a Gaussian of std ``blur`` px (rescaled to keep unit variance), each
    channel takes a ``shared`` share (0-1, of the variance) of one field common to all channels,
    and channel ``c`` is scaled to std ``sigma * channel_gain[c]`` (a camera's white balance
    amplifies red and blue more than green).  Returns ``x + noise``, clipped to [0, 1] if ``clip``.
    A ``(H, W)`` image has one channel and ignores ``shared``.
    """
    if not 0 <= shared <= 1 or blur < 0 or sigma < 0:
        raise ValueError(
            f"correlated_gaussian needs sigma >= 0, blur >= 0 and 0 <= shared <= 1; got {sigma}, {blur}, {shared}"
        )
    x = _check(x)
    b = _Backend(x, rng)
    shape = tuple(x.shape)
    channel_axis = (len(shape) - 3 if b.torch else 2) if len(shape) >= 3 else None
    kernel = _unit_gaussian_kernel(float(blur))
    if channel_axis is None:
        y = x + _blur_field(b, b.normal(), kernel) * float(sigma)
        return b.clip(y) if clip else y
    own = _blur_field(b, b.normal(), kernel)
    common_shape = list(shape)
    common_shape[channel_axis] = 1
    common = _blur_field(b, b.normal(common_shape), kernel)
    noise = own * float(np.sqrt(1 - shared)) + common * float(np.sqrt(shared))
    channels = shape[channel_axis]
    gain = np.ones(channels, np.float32) if channel_gain is None else np.asarray(channel_gain, np.float32)
    if gain.shape != (channels,):
        raise ValueError(f"channel_gain has {gain.size} values for {channels} channels")
    gain_shape = [1] * len(shape)
    gain_shape[channel_axis] = channels
    gain = (gain * float(sigma)).reshape(gain_shape)
    if b.torch:
        import torch

        gain = torch.as_tensor(gain, dtype=x.dtype, device=x.device)
    y = x + noise * gain
    return b.clip(y) if clip else y


YCBCR_TO_RGB: tuple[tuple[float, float, float], ...] = (
    (1.0, 0.0, 1.402),
    (1.0, -0.344136, -0.714136),
    (1.0, 1.772, 0.0),
)
"""Rows R, G, B; columns Y, Cb, Cr (ITU-R BT.601, full range)."""


def camera_noise(
    x: Array,
    sigma: float,
    *,
    luma_blur: float = 0.6,
    chroma_blur: float = 2.0,
    chroma: float = 0.6,
    slope: float = 0.0,
    clip: bool = True,
    rng: Rng = None,
) -> Array:
    """Noise as a camera's processing leaves it in an sRGB photo: fine grain in brightness and
    coarser blotches of colour, since demosaicing and chroma smoothing spread colour noise over
    more pixels than brightness noise (:func:`correlated_gaussian` blurs both alike).

    Three unit-variance fields, blurred by Gaussians of std ``luma_blur`` (Y) and ``chroma_blur``
    px (Cb, Cr), are scaled to std ``sigma`` (Y) and ``chroma * sigma`` (Cb, Cr) and turned into
    RGB by :data:`YCBCR_TO_RGB`.  ``slope`` makes the noise depend on the signal: its std is
    multiplied by ``max(0.1, 1 + slope * (luma - 0.5))``, with ``luma`` the clean pixel's brightness
    (0 is the same everywhere; negative is noisier shadows, as read noise lifted by a tone curve
    leaves them).  Returns ``x + noise``, clipped to [0, 1] if ``clip`` (a camera's output is).
    A ``(H, W)`` or one-channel image gets the Y field only.
    """
    if sigma < 0 or luma_blur < 0 or chroma_blur < 0 or chroma < 0:
        raise ValueError(
            f"camera_noise needs sigma, luma_blur, chroma_blur and chroma >= 0; got {sigma}, {luma_blur}, "
            f"{chroma_blur}, {chroma}"
        )
    x = _check(x)
    b = _Backend(x, rng)
    field_shape = b.pixel_shape()
    luma_field = _blur_field(b, b.normal(field_shape), _unit_gaussian_kernel(float(luma_blur)))
    channels = b.channels(x)
    colour = len(channels) == 3
    luma = sum(w * c for w, c in zip(REC601, channels)) if colour else sum(channels) / len(channels)
    scale = b.clip((luma - 0.5) * float(slope) + 1.0, 0.1, float("inf")) * float(sigma)
    noise = luma_field
    if colour:
        kernel = _unit_gaussian_kernel(float(chroma_blur))
        cb = _blur_field(b, b.normal(field_shape), kernel) * float(chroma)
        cr = _blur_field(b, b.normal(field_shape), kernel) * float(chroma)
        noise = b.join_channels([luma_field * ky + cb * kb + cr * kr for ky, kb, kr in YCBCR_TO_RGB])
    y = x + noise * scale
    return b.clip(y) if clip else y


def darken(x: Array, factor: float, *, gamma: float = 1.0) -> Array:
    """Deterministic darkening: ``factor * x ** gamma`` (``factor`` in (0, 1], ``gamma`` >= 1
    crushes the shadows further)."""
    x = _check(x)
    base = x if gamma == 1.0 else (x.clamp_min(0) if _is_torch(x) else np.maximum(x, 0)) ** gamma
    return base * float(factor)


def low_key(
    x: np.ndarray, median: float, *, min_upper: float = 0.3, min_highlight: float = 0.0, max_shadow_gamma: float = 1.0
) -> np.ndarray:
    """A low-key photo made from ``x`` ``(H, W, C)`` in [0, 1] (NumPy only): its black point raised to
    ``b``, ``clip((x - b) / (1 - b), 0, 1)``, so the shadows go black while the mid-tones and highlights
    keep their contrast, as a portrait on a black background or a sunlit field below a dark forest has.

    ``b`` is chosen so the median luminance comes out near ``median``, but no higher than keeps the
    upper quartile (75th percentile) of luminance at ``min_upper`` or above: a low-key photo has a
    well-exposed part, a dark photo has none.  Nor higher than keeps the highlight level
    (:func:`darkroom.exposure.highlight_level`) at ``min_highlight``, so a low-key scene, kept as it is,
    never looks like a darkened photo (as ``MixConfig.dim_min_highlight`` does for dim scenes).  A photo
    already darker than that is returned as it is.

    Most photos reach their upper-quartile floor before their median reaches ``median`` (on bsds400, at a
    median of 0.05 and a floor of 0.35, five in six stop above 0.08).  With ``max_shadow_gamma`` above 1
    such a photo's tones below its upper quartile are then bent down along a power curve
    (:func:`_deepen_shadows`, a power of at most ``max_shadow_gamma``) until the median reaches
    ``median``: half the photo near black but still textured, as a portrait on a black studio
    background is, the upper quartile and all above it unchanged."""
    x = _check(x)
    lum = _luminance(x)
    x_median, x_upper = (float(q) for q in np.quantile(lum, [0.5, 0.75]))
    b = min((x_median - median) / (1 - median), (x_upper - min_upper) / (1 - min_upper))
    if min_highlight > 0:
        b = min(b, (highlight_level(x) - min_highlight) / (1 - min_highlight))
    y = np.asarray(x, np.float32).copy() if b <= 0 else np.clip((x - np.float32(b)) / np.float32(1 - b), 0, 1)
    if max_shadow_gamma > 1 and x_upper >= min_upper:
        y = _deepen_shadows(y, median, max_shadow_gamma)
    return y.astype(np.float32)


def _deepen_shadows(y: np.ndarray, median: float, max_gamma: float) -> np.ndarray:
    """``y`` ``(H, W, C)`` in [0, 1] with each pixel whose luminance ``l`` is below the upper quartile
    ``q`` scaled to luminance ``q * (l / q) ** g`` (colours keep their ratios), ``g`` at most
    ``max_gamma`` and chosen so that the median luminance comes out at ``median``; ``y`` itself where
    its median is already that low."""
    lum = _luminance(y)
    y_median, upper = (float(q) for q in np.quantile(lum, [0.5, 0.75]))
    if y_median <= median or upper <= y_median:
        return y
    gamma = min(max_gamma, float(np.log(median / upper) / np.log(y_median / upper)))
    scale = np.where(lum < upper, (np.maximum(lum, 1e-6) / upper) ** np.float32(gamma - 1), 1).astype(np.float32)
    return np.clip(y * scale[..., None], 0, 1)


def night(x: np.ndarray, factor: float, *, gamma: float = 1.0, lights: float = 0.03, glow: float = 3.0) -> np.ndarray:
    """A night scene made from a well-lit photo ``x`` ``(H, W, 3)`` in [0, 1] (NumPy only): the
    photo darkened as :func:`darken` does, except its lights, kept as they are.

    The lights are the brightest ``lights`` fraction of the pixels by luminance, and only those at
    0.5 or above (a photo with nothing that bright comes out darkened as a whole).  A Gaussian glow
    of ``glow`` pixels spreads their light onto what is around them, as lamps do.  A photo darkened as
    a whole has no highlights, so a model trained only on those learns that a photo with bright
    lights was never darkened and leaves real night photos dark."""
    import cv2

    x = np.asarray(_check(x), np.float32)
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"night needs an (H, W, 3) image, got shape {x.shape}")
    luma = x @ np.asarray(REC601, np.float32)
    threshold = max(float(np.quantile(luma, 1.0 - float(lights))), 0.5)
    mask = (luma >= threshold).astype(np.float32)
    if glow > 0:
        mask = np.maximum(mask, np.minimum(1.0, 2.0 * cv2.GaussianBlur(mask, (0, 0), float(glow))))
    mask = mask[..., None]
    return (mask * x + (1.0 - mask) * darken(x, factor, gamma=gamma)).astype(np.float32)


def srgb_to_linear(x: Array) -> Array:
    """IEC 61966-2-1 sRGB decoding; input and output in [0, 1]."""
    x = _check(x)
    if _is_torch(x):
        import torch

        x = x.clamp(0, 1)
        return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: Array) -> Array:
    """IEC 61966-2-1 sRGB encoding; input and output in [0, 1]."""
    x = _check(x)
    if _is_torch(x):
        import torch

        x = x.clamp(0, 1)
        return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055)
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.maximum(x, 1e-12) ** (1 / 2.4) - 0.055).astype(np.float32)


def lowlight(
    x: Array,
    *,
    exposure: float = 0.05,
    photons: float = 2000.0,
    read_noise: float = 0.0005,
    rng: Rng = None,
) -> Array:
    """A short exposure as a camera would see it: to linear light, scale by ``exposure``, add
    Poisson shot noise (``photons`` at full scale) and Gaussian read noise, back to sRGB."""
    x = _check(x)
    b = _Backend(x, rng)
    e = srgb_to_linear(x) * float(exposure)
    n = b.poisson(e * float(photons)) / float(photons) + b.normal() * float(read_noise)
    return linear_to_srgb(b.clip(n))


def compose(*steps: Callable[[Array, Rng], Array]) -> Callable[[Array, Rng], Array]:
    """Chain degradations ``step(x, rng) -> y``; one generator feeds them all in order."""

    def run(x: Array, rng: Rng = None) -> Array:
        b = _Backend(_check(x), rng)
        for step in steps:
            x = step(x, b.gen)
        return x

    return run


# ----------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    """A named, fixed degradation used for training pairs and for benchmarks."""

    name: str
    description: str
    fn: Callable[[Array, Rng], Array]


def _p(name: str, description: str, fn: Callable[[Array, Rng], Array]) -> tuple[str, Preset]:
    return name, Preset(name, description, fn)


PRESETS: dict[str, Preset] = dict(
    [
        _p("identity", "y = x (a clean, well-exposed input)", lambda x, rng: _check(x) * 1),
        _p("gauss15", "x + N(0, (15/255)^2), unclipped", lambda x, rng: gaussian(x, 15 / 255, rng=rng)),
        _p("gauss25", "x + N(0, (25/255)^2), unclipped", lambda x, rng: gaussian(x, 25 / 255, rng=rng)),
        _p("gauss50", "x + N(0, (50/255)^2), unclipped", lambda x, rng: gaussian(x, 50 / 255, rng=rng)),
        _p(
            "grain25",
            "x + N(0, (25/255)^2), one draw for all channels (brightness grain), unclipped",
            lambda x, rng: correlated_gaussian(x, 25 / 255, blur=0.0, shared=1.0, rng=rng),
        ),
        _p(
            "jpeg10",
            "clip(x + N(0, (10/255)^2), 0, 1), saved as JPEG at quality 85 with 4:2:0 chroma",
            lambda x, rng: jpeg(gaussian(x, 10 / 255, clip=True, rng=rng), 85),
        ),
        _p(
            "jpeg25",
            "clip(x + N(0, (25/255)^2), 0, 1), saved as JPEG at quality 85 with 4:2:0 chroma",
            lambda x, rng: jpeg(gaussian(x, 25 / 255, clip=True, rng=rng), 85),
        ),
        _p("sp05", "salt-and-pepper, 5% of pixels", lambda x, rng: salt_pepper(x, 0.05, rng=rng)),
        _p("sp20", "salt-and-pepper, 20% of pixels", lambda x, rng: salt_pepper(x, 0.20, rng=rng)),
        _p("poisson30", "Poisson(30 x) / 30", lambda x, rng: poisson(x, 30, rng=rng)),
        _p("speckle10", "clip(x + x N(0, 0.1^2), 0, 1)", lambda x, rng: speckle(x, 0.1, rng=rng)),
        _p("dark-sp", "salt-and-pepper 5% on 0.35 x", lambda x, rng: salt_pepper(darken(x, 0.35), 0.05, rng=rng)),
        _p(
            "dark-gauss",
            "clip(0.35 x + N(0, (10/255)^2), 0, 1)",
            lambda x, rng: gaussian(darken(x, 0.35), 10 / 255, clip=True, rng=rng),
        ),
        _p("lowlight", "sRGB->linear, x0.05, Poisson(2000)+N(0,0.0005^2), ->sRGB", lambda x, rng: lowlight(x, rng=rng)),
        _p("mnist", "clip(x + 0.2 N(0, 1), 0, 1)", lambda x, rng: gaussian(x, 0.2, clip=True, rng=rng)),
    ]
)


def apply_preset(x: Array, name: str, *, rng: Rng = None) -> Array:
    """Degrade ``x`` with the named preset (see :data:`PRESETS`).  A grey NumPy photo ``(H, W, 3)``
    (:func:`is_grey`: a black-and-white photo read as RGB) is degraded as one channel, so its noise is
    grey, as the published grey benchmarks (BSD68, Set12) add it."""
    try:
        preset = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None
    x = _check(x)
    if not _is_torch(x) and is_grey(x):
        return np.repeat(preset.fn(x[..., :1], rng), 3, axis=-1)
    return preset.fn(x, rng)


# ----------------------------------------------------------------------------- random mix


@dataclass(frozen=True)
class MixConfig:
    """The blind random mix the flagship trains on: an exposure change, then one noise type.

    Probabilities and ranges are per image; ``p_clean`` images stay untouched so the model
    learns to leave a good photo alone.
    """

    p_clean: float = 0.08
    p_dark: float = 0.12
    p_lowlight: float = 0.1
    dark_factor: tuple[float, float] = (0.05, 0.5)
    """Darkening is clearly dark or absent: a photo darkened by 0.8 looks like an ordinary one, and
    training on such pairs teaches the model to brighten photos that need nothing."""
    dark_gamma: tuple[float, float] = (1.0, 1.8)
    lowlight_exposure: tuple[float, float] = (0.02, 0.3)
    lowlight_photons: tuple[float, float] = (300.0, 5000.0)
    gauss_sigma: tuple[float, float] = (0.0, 55 / 255)
    poisson_peak: tuple[float, float] = (10.0, 200.0)
    speckle_sigma: tuple[float, float] = (0.0, 0.25)
    sp_density: tuple[float, float] = (0.0, 0.25)
    noise_weights: tuple[float, float, float, float, float] = (0.5, 0.15, 0.1, 0.12, 0.13)
    """Chances of gaussian, poisson, speckle, salt-and-pepper, none."""
    p_dim: float = 0.0
    """Chance that the scene itself is dimmer, target and input alike (:func:`dim_scene`): a dim but
    well-exposed photo, which the model must denoise without brightening."""
    dim_factor: tuple[float, float] = (0.5, 1.0)
    dim_gamma: tuple[float, float] = (1.0, 1.0)
    """A dim scene's tone curve ``factor * x ** gamma``: a gamma above 1 makes a low-key photo, dark
    mid-tones with its highlights kept, which a dim but well-exposed photo usually has (a photo darkened
    as a whole has none)."""
    dim_min_highlight: float = 0.0
    """The lowest highlight level (:func:`darkroom.exposure.highlight_level`) a dim scene may have: where
    the drawn tone curve goes below it, its factor is raised to meet it (never above 1).  Darkened photos
    (``dark_factor`` at most 0.4, say) have highlight levels below 0.4, so dim scenes held at 0.5 or more
    never look like them; without this a low-key curve such as ``0.5 * x ** 1.8`` takes a photo's
    highlights of 0.8 down to 0.33 and teaches the model to leave darkened photos dark.  0 turns it off."""
    dim_min_median: float = 0.0
    """The lowest median luminance a dim scene may have (its factor is raised to meet it, never above 1):
    below the night check's line of 0.12 darkroom brightens by design, and a dim scene darker than that,
    left alone as its own target, would teach the opposite on the night photos with lights that crushed
    shadows teach it to brighten.  0 turns it off (older recipes make the same pairs)."""
    p_low_key: float = 0.0
    """Chance that the scene itself is low-key, target and input alike (:func:`low_key`, its median drawn
    from ``low_key_median``, its highlight level held at ``dim_min_highlight``): black shadows beside a
    well-exposed part, to be denoised and kept.  Without it the only training photos with a median below
    0.12 are nearly all darkened or crushed ones, and stage 12d brightened noisy low-key photos (CBSD68
    167062 and 302008 at sigma 25: a black forest and a black studio background lifted to a noisy
    grey-green).  Stage 12g (recipes/lumen-lowkey2.yaml, 0.15) kept them dark and lost no dark row, but
    kept the sky beside a real night photo's lamp dark too; stage 12h (lumen-lowkey3.yaml, 0.1 with
    ``low_key_min_upper`` 0.4) did not, but lost on low light and dim photos; the shipped stage 12i is
    their average.  0 draws no number, so older recipes make the same pairs."""
    low_key_median: tuple[float, float] = (0.02, 0.12)
    low_key_min_upper: float = 0.3
    """The lowest upper quartile (75th percentile of luminance) a low-key scene keeps.  Every one of
    lowlight-sci's 21 night photos with a median below 0.12 has an upper quartile of 0.23 or less."""
    low_key_shadow_gamma: float = 1.0
    """Above 1, a low-key scene whose black point alone cannot bring its median down to the drawn one gets
    its shadows bent down by a power of up to this (:func:`low_key`'s ``max_shadow_gamma``), so the mix can
    hold low-key scenes with a median near 0.05, which the shipped lumen brightens (the exposure check's
    ``deep-low-key`` case).  Stages 13f and 13g trained with 3 (``recipes/lumen-deepkey.yaml``,
    ``lumen-lightkey.yaml``): both learned to keep such scenes and lost 0.3-0.6 dB on darkened photos, so
    neither shipped.  1 leaves older recipes' scenes as they were."""
    low_key_light_noise: float = 0.0
    """Above 0, a scene that looks low-key (:func:`darkroom.advice.looks_low_key`: a median below 0.12
    beside an upper quartile of at least 0.35, made by ``p_low_key`` or a training photo that is so) is
    never darkened and gets only white or camera Gaussian noise of std up to this (none with the share
    ``noise_weights`` gives "none").  Meant to teach dark and clean as a photo to keep and dark with heavy
    or impulse noise as one to brighten; stage 13g (``recipes/lumen-lightkey.yaml``) showed it does not:
    a darkened photo with light noise looks like such a scene, and darkened Kodak24 photos lost more than
    under 13f (dark-sp -0.61 dB against -0.50).  Kept, off, so that recipe reruns.  0 draws no number, so
    older recipes make the same pairs."""
    p_night: float = 0.0
    """Chance, among the draws that are neither clean nor ``lowlight``, of a night scene
    (:func:`night`): darkened but for its lights, to be brightened back to the photo.  0 draws no
    number, so older recipes make the same pairs."""
    night_factor: tuple[float, float] = (0.02, 0.2)
    night_gamma: tuple[float, float] = (1.0, 1.5)
    night_lights: tuple[float, float] = (0.003, 0.08)
    """Range of the fraction of pixels kept as lights (drawn log-uniformly)."""
    night_glow: tuple[float, float] = (1.0, 6.0)
    p_crush: float = 0.0
    """Chance, among the draws that are neither clean, ``lowlight`` nor night scenes, of crushed
    shadows: ``factor * x ** gamma`` with a steep ``gamma`` (``crush_gamma``), which keeps the
    highlights bright and sinks everything else, as a night photo's single global tone curve does.
    0 draws no number, so older recipes make the same pairs."""
    crush_factor: tuple[float, float] = (0.7, 1.0)
    crush_gamma: tuple[float, float] = (2.5, 4.0)
    crush_max_median: float = 0.0
    """The highest median luminance crushed shadows may leave (the factor is lowered to meet it, which
    dims the highlights too): a bright
    photo crushed by ``x ** 2.5`` can come out as an ordinary, well-exposed one, and a pair that brightens an
    ordinary photo teaches the model to brighten photos that need nothing.  With 0.12, the night check's line,
    crushed shadows are always dark photos, as ``dim_min_median`` keeps dim scenes above it.  0 turns it off."""
    crush_max_mean: float = 0.0
    """The highest mean luminance crushed shadows may leave (lowered as ``crush_max_median`` is).  A photo
    whose median is low but whose mean is not, a third of it bright snow below a black forest, say, is a
    well-exposed photo that a crushed pair would teach the model to brighten once it is noisy: stage 12d
    lifted two such CBSD68 photos at sigma 25 (167062, mean 0.41; 302008, mean 0.22).  With 0.2 crushed
    shadows look like darkened photos, which are brightened anyway; stage 12e, trained so, won 167062 back but
    not 302008 and lost on darkened Kodak24 photos (recipes/lumen-crush4.yaml).  0 turns it off."""
    crush_max_upper: float = 0.0
    """The highest upper quartile (75th percentile of luminance) crushed shadows may leave (lowered as
    ``crush_max_median`` is): crushed shadows are then dark photos, three quarters of them dark, as the
    night photos they stand for are, and never look like the low-key scenes of ``p_low_key``, which have a
    well-exposed quarter and are kept.  Stage 12f, trained with 0.25 (recipes/lumen-lowkey.yaml), lost
    0.26 dB on darkened Kodak24 photos, brightened in blotches, as stage 12e did with ``crush_max_mean``;
    stage 12g, without it, did not.  0 turns it off."""
    p_correlated: float = 0.0
    """Chance that Gaussian noise is camera-like, correlated across pixels and channels
    (:func:`correlated_gaussian`, clipped as a camera's output is) instead of white."""
    correlated_sigma: tuple[float, float] = (1 / 255, 40 / 255)
    correlated_blur: tuple[float, float] = (0.3, 1.5)
    correlated_shared: tuple[float, float] = (0.0, 0.8)
    correlated_gain: tuple[float, float] = (0.7, 1.4)
    """Range of each channel's own noise scale (white balance)."""
    p_camera: float = 0.0
    """Chance that Gaussian noise not drawn as correlated is camera noise (:func:`camera_noise`: fine
    brightness grain, coarse colour blotches, a signal-dependent strength), clipped."""
    camera_sigma: tuple[float, float] = (1 / 255, 16 / 255)
    camera_luma_blur: tuple[float, float] = (0.3, 1.0)
    camera_chroma_blur: tuple[float, float] = (1.0, 2.5)
    camera_chroma: tuple[float, float] = (0.2, 0.7)
    """Colour noise relative to brightness noise.  Up to 1.2 (with blurs up to 3 px and sigma up to
    20/255) taught lumen to smooth colour: saturated edges bled and clean photos lost up to 3 dB."""
    camera_slope: tuple[float, float] = (-0.8, 0.8)
    p_shared: float = 0.0
    """Chance that white Gaussian noise (drawn neither as correlated nor as camera noise) shares a part
    of its variance across the colour channels, drawn from ``shared_range``: brightness grain, as film
    and cameras that smooth colour noise leave it.  Stage 12i, which never saw it, left grain shared by
    all three channels nearly untouched (Kodak24 at sigma 25: 20.42 dB in, 20.98 out, against 29.02 for
    the same noise drawn per channel).  0 draws no number, so older recipes make the same pairs."""
    shared_range: tuple[float, float] = (0.5, 1.0)
    p_jpeg: float = 0.0
    """Chance that a degraded photo (not a clean one) is then saved as JPEG (:func:`jpeg`) at a quality drawn
    from ``jpeg_quality``, as nearly every photo from a phone or a website is.  4:2:0 chroma takes most of the
    finest colour noise away, and stage 12i, which never saw it, removed little of what was left: on six Kodak24
    photos with sigma 10 saved at quality 85, 30.34 dB in and 30.77 out, where a bilateral filter gave 33.02.
    0 draws no number, so older recipes make the same pairs."""
    jpeg_quality: tuple[int, int] = (60, 95)
    """Range of the JPEG quality, both ends included."""
    p_grey: float = 0.0
    """Chance that the training photo is a black-and-white one (its Rec. 601 luminance in all three
    channels, :func:`dim_scene`); :func:`random_mix` degrades a grey photo as one channel, so its noise
    is grey too.  0 draws no number, so older recipes make the same pairs."""


def _luminance(x: np.ndarray) -> np.ndarray:
    """The Rec. 601 luminance ``(H, W)`` of ``x`` ``(H, W, C)`` (a one-channel image is its own)."""
    return x @ np.asarray(REC601, np.float32) if x.shape[-1] == 3 else x[..., 0]


def _median_luminance(x: np.ndarray) -> float:
    """The median Rec. 601 luminance of ``x`` ``(H, W, C)``."""
    return float(np.median(_luminance(x)))


def dim_scene(x: np.ndarray, rng: np.random.Generator, config: MixConfig) -> np.ndarray:
    """The clean image a training pair is made from: ``x`` ``(H, W, C)`` in [0, 1], or, with chance
    ``config.p_dim``, ``factor * x ** gamma`` with ``factor`` drawn from ``config.dim_factor`` and
    ``gamma`` from ``config.dim_gamma`` (drawn only when that range is not just 1, so older recipes
    make the same pairs).  Training photos are mostly well lit; without dim targets a model learns
    that every dim photo was darkened and brightens photos that were meant to be dim.

    With ``config.p_grey`` (drawn first, only when above 0) the photo is made black-and-white.  With
    ``config.p_low_key`` (drawn next, only when above 0) the scene is low-key instead of dim
    (:func:`low_key`)."""
    if config.p_grey > 0 and rng.random() < config.p_grey:
        x = np.repeat(_luminance(np.asarray(x, np.float32))[..., None], 3, axis=-1)
    if config.p_low_key > 0 and rng.random() < config.p_low_key:
        median = rng.uniform(*config.low_key_median)
        return low_key(
            x,
            median,
            min_upper=config.low_key_min_upper,
            min_highlight=config.dim_min_highlight,
            max_shadow_gamma=config.low_key_shadow_gamma,
        )
    if config.p_dim <= 0 or rng.random() >= config.p_dim:
        return x
    factor = np.float32(rng.uniform(*config.dim_factor))
    if tuple(config.dim_gamma) == (1.0, 1.0):
        curve = np.asarray(x, np.float32)
    else:
        curve = np.maximum(x, 0) ** np.float32(rng.uniform(*config.dim_gamma))
    if config.dim_min_highlight > 0:
        level = factor * highlight_level(curve)
        if level < config.dim_min_highlight:
            factor = np.float32(min(1.0, factor * config.dim_min_highlight / max(level, 1e-6)))
    if config.dim_min_median > 0:
        median = factor * _median_luminance(curve)
        if median < config.dim_min_median:
            factor = np.float32(min(1.0, factor * config.dim_min_median / max(median, 1e-6)))
    return (factor * curve).astype(np.float32)


def random_mix(x: np.ndarray, rng: Rng = None, config: MixConfig = MixConfig()) -> np.ndarray:
    """Degrade one NumPy image ``(H, W, C)`` in [0, 1] with a random draw from ``config``.  A grey
    photo (:func:`is_grey`) is degraded as one channel and stays grey, as a black-and-white photo's
    noise is."""
    return random_mix_with_exposure(x, rng, config)[0]


def random_mix_with_exposure(
    x: np.ndarray, rng: Rng = None, config: MixConfig = MixConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`random_mix`'s degraded image (the same pixels for the same ``rng``) and the clean image
    at the exposure it was given: darkened, crushed, night or low-light as the draw made it, with no
    noise and no JPEG.  That is the answer for a person who keeps the photo's exposure
    (``exposure="keep"``); ``x`` is the answer for one who lets the model brighten it.  Both
    ``(H, W, C)`` float32 in [0, 1] (the degraded image may leave it, for unclipped noise)."""
    x = _check(x)
    g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if is_grey(x):
        y, exposed = random_mix_with_exposure(x[..., :1], g, config)
        return np.repeat(y, 3, axis=-1), np.repeat(exposed, 3, axis=-1)
    if g.random() < config.p_clean:
        return x.copy(), x.copy()
    y, exposed = _degrade(x, g, config)
    if config.p_jpeg > 0 and g.random() < config.p_jpeg:
        y = jpeg(y, int(g.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1)))
    return y, np.asarray(exposed, np.float32).copy()


def _degrade(x: np.ndarray, g: np.random.Generator, config: MixConfig) -> tuple[np.ndarray, np.ndarray]:
    """The exposure change and the noise of :func:`random_mix`, for a photo not drawn to stay clean:
    the degraded image and the clean image after the exposure change alone."""
    if config.low_key_light_noise > 0 and looks_low_key(x):
        return _light_noise(x, g, config), x
    if g.random() < config.p_lowlight:
        exposure = float(np.exp(g.uniform(*np.log(config.lowlight_exposure))))
        photons = float(np.exp(g.uniform(*np.log(config.lowlight_photons))))
        y = lowlight(x, exposure=exposure, photons=photons, read_noise=g.uniform(0, 0.002), rng=g)
        return y, linear_to_srgb(np.clip(srgb_to_linear(x) * np.float32(exposure), 0, 1))
    y = x
    if config.p_night > 0 and g.random() < config.p_night and np.shape(x)[2:] == (3,):
        y = night(
            x,
            g.uniform(*config.night_factor),
            gamma=g.uniform(*config.night_gamma),
            lights=float(np.exp(g.uniform(*np.log(config.night_lights)))),
            glow=g.uniform(*config.night_glow),
        )
    elif config.p_crush > 0 and g.random() < config.p_crush:
        y = darken(y, g.uniform(*config.crush_factor), gamma=g.uniform(*config.crush_gamma))
        scale = 1.0
        if config.crush_max_median > 0:
            scale = min(scale, config.crush_max_median / max(_median_luminance(y), 1e-6))
        if config.crush_max_mean > 0:
            scale = min(scale, config.crush_max_mean / max(float(_luminance(y).mean()), 1e-6))
        if config.crush_max_upper > 0:
            scale = min(scale, config.crush_max_upper / max(float(np.quantile(_luminance(y), 0.75)), 1e-6))
        if scale < 1:
            y = (y * np.float32(scale)).astype(np.float32)
    elif g.random() < config.p_dark:
        y = darken(y, g.uniform(*config.dark_factor), gamma=g.uniform(*config.dark_gamma))
    return _noise(y, g, config), y


def _noise(y: np.ndarray, g: np.random.Generator, config: MixConfig) -> np.ndarray:
    """One noise type of :func:`random_mix`, drawn by ``config.noise_weights``, on ``y``."""
    kind = g.choice(5, p=np.asarray(config.noise_weights) / sum(config.noise_weights))
    if kind == 0 and config.p_correlated > 0 and g.random() < config.p_correlated:
        return _random_correlated(y, g, config)
    if kind == 0 and config.p_camera > 0 and g.random() < config.p_camera:
        return _random_camera(y, g, config)
    if kind == 0 and config.p_shared > 0 and g.random() < config.p_shared:
        sigma, shared = g.uniform(*config.gauss_sigma), g.uniform(*config.shared_range)
        return correlated_gaussian(y, sigma, blur=0.0, shared=shared, clip=g.random() < 0.5, rng=g)
    if kind == 0:
        return gaussian(y, g.uniform(*config.gauss_sigma), clip=g.random() < 0.5, rng=g)
    if kind == 1:
        return poisson(y, float(np.exp(g.uniform(*np.log(config.poisson_peak)))), rng=g)
    if kind == 2:
        return speckle(y, g.uniform(*config.speckle_sigma), rng=g)
    if kind == 3:
        return salt_pepper(y, g.uniform(*config.sp_density), rng=g)
    return np.asarray(y, np.float32).copy()


def _light_noise(x: np.ndarray, g: np.random.Generator, config: MixConfig) -> np.ndarray:
    """A low-key scene's degradation under ``config.low_key_light_noise``: no exposure change; with the
    share of ``noise_weights`` that is "none", no noise; else camera noise (with chance ``p_camera``) or
    white Gaussian noise, of std drawn up to ``low_key_light_noise``."""
    weights = np.asarray(config.noise_weights, np.float64)
    if g.random() < weights[4] / weights.sum():
        return np.asarray(x, np.float32).copy()
    sigma = g.uniform(0, config.low_key_light_noise)
    if config.p_camera > 0 and g.random() < config.p_camera:
        return _random_camera(x, g, replace(config, camera_sigma=(sigma, sigma)))
    return gaussian(x, sigma, clip=True, rng=g)


def _random_camera(y: np.ndarray, g: np.random.Generator, config: MixConfig) -> np.ndarray:
    """Camera noise with parameters drawn from ``config``'s ``camera_*`` ranges."""
    return camera_noise(
        y,
        g.uniform(*config.camera_sigma),
        luma_blur=g.uniform(*config.camera_luma_blur),
        chroma_blur=g.uniform(*config.camera_chroma_blur),
        chroma=g.uniform(*config.camera_chroma),
        slope=g.uniform(*config.camera_slope),
        clip=True,
        rng=g,
    )


def _random_correlated(y: np.ndarray, g: np.random.Generator, config: MixConfig) -> np.ndarray:
    """Camera-like noise with parameters drawn from ``config``'s ``correlated_*`` ranges."""
    sigma = g.uniform(*config.correlated_sigma)
    blur = g.uniform(*config.correlated_blur)
    shared = g.uniform(*config.correlated_shared)
    gain = g.uniform(*config.correlated_gain, size=y.shape[2]) if y.ndim == 3 else None
    return correlated_gaussian(y, sigma, blur=blur, shared=shared, channel_gain=gain, clip=True, rng=g)
