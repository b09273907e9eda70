"""Inference on photos of any size: padding, tiles blended without seams, ROI, ONNX Runtime.

:func:`enhance` takes and returns float32 RGB ``(H, W, 3)`` in [0, 1].  Large images are cut into
tiles whose origins sit on the model's downsampling grid, as few as memory allows
(:func:`tile_grid`: no tile, whatever its shape, holds more pixels than a square ``tile`` with its
context); each tile sees ``overlap`` pixels of real context on every side, and neighbouring tiles
are blended with short linear ramps inside that context.  Once the context left after the ramp
covers the model's receptive field, tiled and whole-image results agree to float rounding.  A
model that reads the exposure cue (:mod:`darkroom.exposure`) gets the one computed from the whole
photo (or the whole ROI) with every tile.  A model that asks for it (the flagship) gets the photo
with its salt-and-pepper impulses filled in first (:mod:`darkroom.impulse`), grey noise (a
black-and-white photo's, or grain on a colour photo) shown to it as colour noise
(:mod:`darkroom.grey`), its output's bright regions held to the gain of the photo's bright parts
as a whole (:mod:`darkroom.highlights`), equally bright parts given the same gain
(:mod:`darkroom.even_gain`), and on small photos several passes averaged (:func:`auto_ensemble`).
Memory is bounded by the tile size, not the photo size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .even_gain import even_out_gain
from .grey import back_to_grey, colour_the_noise, grain_sigma, is_grey
from .highlights import guard_highlights
from .impulse import fill_impulses
from .keep_exposure import keep_exposure

DEFAULT_MODEL = "lumen"
BACKENDS = ("auto", "torch", "onnx")
"""``auto``: ONNX Runtime (1.1-3x faster than PyTorch on these CPUs, see benchmarks/results/speed.md)
for a model that exports, PyTorch otherwise."""
FADE = 32
"""Pixels over which neighbouring tiles are blended."""
DEFAULT_TILE = 2048
"""Tile core size for models without their own (registered models bring theirs)."""
DEFAULT_OVERLAP = 192
"""Context per tile side: the ramp takes the inner 32 px, leaving 160 px of real surroundings,
more than lumen's receptive field reaches (152 px each side, measured by back-propagation).  Less
context is not safe: on a dark photo the deep quarter- and sixteenth-resolution features carry
brightness from far away, and 128 px of overlap already changed pixels by up to 5/255."""
ENGINE_STEPS = ("fills_impulses", "guards_highlights", "evens_gain", "colours_grey_noise", "self_ensemble")
"""The engine steps a model can ask for: boolean fields of :class:`Enhancer`, of
:class:`~darkroom.models.registry.ModelSpec` and (as ``darkroom_<step>``) of an exported ONNX file's metadata."""
Runner = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]
"""``(1, 3, h, w)`` float32 with h, w multiples of the model's grid, and the exposure cue
``(1, 5)`` float32 or ``None`` -> ``(1, 3, h, w)``."""


@dataclass
class Enhancer:
    """A loaded model ready for inference: a runner plus the grid its inputs must fit."""

    name: str
    run: Runner
    multiple: int
    card: dict
    uses_cue: bool = False
    """Whether ``run`` wants the whole-image exposure cue with every tile."""
    tile: int = DEFAULT_TILE
    """Default tile size, which bounds memory: no tile holds more pixels than a square core of this side
    with its context (see :func:`tile_grid` and :class:`~darkroom.models.registry.ModelSpec`)."""
    overlap: int = DEFAULT_OVERLAP
    """Default context per tile side: covers the receptive field."""
    fills_impulses: bool = False
    """Whether salt-and-pepper impulses are filled in before the model runs (see :mod:`darkroom.impulse`)."""
    guards_highlights: bool = False
    """Whether bright regions brightened far more than the rest are toned down (see :mod:`darkroom.highlights`)."""
    evens_gain: bool = False
    """Whether equally bright parts of a photo get the same gain (see :mod:`darkroom.even_gain`)."""
    colours_grey_noise: bool = False
    """Whether grey noise (a black-and-white photo's, grain on a colour one) is shown to the model as colour noise
    (see :mod:`darkroom.grey`)."""
    self_ensemble: bool = False
    """Whether ``ensemble="auto"`` averages several passes on small photos (see :func:`auto_ensemble`)."""

    def __call__(self, image: np.ndarray, **kwargs: Any) -> np.ndarray:
        return enhance(image, self, **kwargs)


def _torch_runner(model) -> Runner:
    import torch

    def run(x: np.ndarray, cue: np.ndarray | None = None) -> np.ndarray:
        with torch.inference_mode():
            if cue is None:
                return model(torch.from_numpy(x)).numpy()
            return model(torch.from_numpy(x), cue=torch.from_numpy(cue)).numpy()

    return run


@functools.lru_cache(maxsize=4)
def load_enhancer(name_or_path: str = DEFAULT_MODEL, backend: str = "auto") -> Enhancer:
    """Load a shipped model name, a ``.safetensors`` file or a run folder, to run with PyTorch
    (``backend="torch"``), ONNX Runtime (``"onnx"``: exported once into a cache folder; an
    ``.onnx`` file is used as is) or the faster of the two that works (``"auto"``).  With ONNX
    Runtime, weights exported before and unchanged since load without importing PyTorch."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend != "torch" and not str(name_or_path).endswith(".onnx"):
        exported = _exported_before(str(name_or_path), keep_card=backend == "auto")
        if exported is not None:
            return exported
    from .models import get_spec

    if backend == "onnx" or (backend == "auto" and str(name_or_path).endswith(".onnx")):
        from .onnx_backend import onnx_enhancer

        return onnx_enhancer(str(name_or_path))
    from .checkpoint import load_model

    model, card = load_model(name_or_path)
    spec = get_spec(card["arch"])
    if spec.kind != "image":
        raise ValueError(f"{name_or_path}: {card['arch']} works on {spec.kind} inputs, not photos")
    uses_cue = bool(getattr(model, "uses_cue", False))
    enh = Enhancer(
        str(name_or_path),
        _torch_runner(model),
        max(1, spec.multiple),
        card,
        uses_cue=uses_cue,
        tile=spec.tile,
        overlap=spec.overlap,
        **{step: getattr(spec, step) for step in ENGINE_STEPS},
    )
    if backend == "auto":
        from .onnx_backend import onnx_enhancer

        try:
            fast = onnx_enhancer(str(name_or_path))
        except Exception as e:  # an export or runtime failure must not stop the photo: fall back
            warnings.warn(f"{name_or_path}: ONNX Runtime unavailable ({e}); running with PyTorch", stacklevel=2)
            return enh
        return replace(fast, card=card | fast.card)
    return enh


def _exported_before(name_or_path: str, keep_card: bool) -> Enhancer | None:
    """ONNX Runtime on the export that :func:`~darkroom.onnx_backend.cached_export` made of these
    very weights and code, found by its receipt without importing PyTorch; ``None`` where there is
    none or it does not run (then the full lookup decides).  The model card joins the export's
    when ``keep_card``, as ``backend="auto"`` gives it."""
    from .onnx_backend import onnx_enhancer, receipted_export

    found = receipted_export(name_or_path)
    if found is None:
        return None
    onnx, card = found
    try:
        enh = onnx_enhancer(str(onnx))
    except Exception:  # a damaged export: the full lookup exports it again or falls back
        return None
    return replace(enh, name=name_or_path, card=card | enh.card if keep_card else enh.card)


def _as_enhancer(model: str | os.PathLike | Enhancer | Any, backend: str) -> Enhancer:
    if isinstance(model, Enhancer):
        return model
    if isinstance(model, tuple) and len(model) == 2 and hasattr(model[0], "forward") and isinstance(model[1], dict):
        module, card = model  # what darkroom.load_model returns
        return replace(_as_enhancer(module, backend), card=card)
    if hasattr(model, "forward"):  # a torch module
        from .models import find_spec

        spec = find_spec(model)
        multiple = spec.multiple if spec else 16  # an unregistered module: pad to a safe common grid
        uses_cue = bool(getattr(model, "uses_cue", False))
        tile, overlap = (spec.tile, spec.overlap) if spec else (DEFAULT_TILE, DEFAULT_OVERLAP)
        return Enhancer(
            type(model).__name__,
            _torch_runner(model.eval()),
            max(1, multiple),
            {},
            uses_cue=uses_cue,
            tile=tile,
            overlap=overlap,
            **{step: bool(spec and getattr(spec, step)) for step in ENGINE_STEPS},
        )
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(
            f"model must be a model name, a weights path, a torch module, an Enhancer or what "
            f"darkroom.load_model returns, not {type(model).__name__}"
        )
    return load_enhancer(str(model), backend)


def image_cue(enh: Enhancer, x: np.ndarray, keep: bool = False) -> np.ndarray | None:
    """The full exposure cue ``(1, 7)`` of an ``(H, W, 3)`` image, its last number the intent (1 with
    ``keep``), or ``None`` for models without one.  Each model reads as many numbers as it was built
    for: one that reads fewer than 7 is not told the intent."""
    if not enh.uses_cue:
        return None
    from .exposure import FULL_CUE_SIZE, exposure_cue

    cue = exposure_cue(x.transpose(2, 0, 1)[None], FULL_CUE_SIZE, keep=keep)
    return np.ascontiguousarray(cue, dtype=np.float32)


def _run_padded(enh: Enhancer, x: np.ndarray, cue: np.ndarray | None) -> np.ndarray:
    """Run on ``(H, W, 3)``: reflect-pad to the grid, run, crop, return ``(H, W, 3)``."""
    h, w = x.shape[:2]
    m = enh.multiple
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "edge"
        x = np.pad(x, ((0, ph), (0, pw), (0, 0)), mode=mode)
    out = enh.run(np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32), cue)
    return out[0].transpose(1, 2, 0)[:h, :w]


def _ramp(n: int, lo_fade: int, hi_fade: int) -> np.ndarray:
    """Weights along one axis of a window: rising over ``lo_fade``, falling over ``hi_fade``."""
    w = np.ones(n, np.float32)
    if lo_fade:
        w[:lo_fade] = (np.arange(lo_fade, dtype=np.float32) + 0.5) / lo_fade
    if hi_fade:
        w[n - hi_fade :] = np.minimum(w[n - hi_fade :], (np.arange(hi_fade, 0, -1, dtype=np.float32) - 0.5) / hi_fade)
    return w


def _windows(size: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """``(start, stop, fade_lo, fade_hi)`` of each window along one axis: a core of ``tile``
    pixels widened by ``overlap`` pixels of context on each side where the image allows.  Its
    weight fades to zero over the inner ``FADE`` pixels of the context (at most half of it) and is
    zero beyond, so every prediction that counts saw at least ``overlap - FADE`` pixels of real
    surroundings."""
    out = []
    for core in range(0, size, tile):
        start, stop = max(0, core - overlap), min(size, core + tile + overlap)
        out.append((start, stop, core - start, stop - min(size, core + tile)))
    return out


def _axis_plans(size: int, tile: int, multiple: int, overlap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ways to cut one axis of ``size`` pixels into cores of equal length on the model's grid, no
    shorter than a quarter ``tile`` (or ``multiple``): ``(core, longest window, summed window lengths)``,
    one entry per distinct core length, longest core (fewest tiles) first."""
    most = -(-size // max(multiple, tile // 4))
    shares = {-(-size // n) for n in range(1, most + 1)}  # ceil(size / n) for n cores
    cores = sorted({-(-share // multiple) * multiple for share in shares}, reverse=True)
    spans = [[stop - start for start, stop, _, _ in _windows(size, core, overlap)] for core in cores]
    return np.array(cores), np.array([max(s) for s in spans]), np.array([sum(s) for s in spans])


def tile_grid(h: int, w: int, tile: int, overlap: int, multiple: int = 1) -> tuple[int, int]:
    """Core height and width of the tiles for an ``h`` x ``w`` photo: the cut into equal cores on the
    ``multiple`` grid that runs the model over the fewest pixels, context included, while no window
    (core plus context) holds more pixels than a square core of ``tile`` with its context on every side,
    which is what bounds memory.  Each cut adds ``2 * overlap`` pixels of context across the photo, so
    the fewest cuts win: a 4000 x 3000 photo under 1600 px tiles is cut once each way (2 x 2 windows of
    about 2200 x 1700) rather than into 3 x 2 squares, 8% fewer pixels for the same memory."""
    budget = (tile + 2 * overlap) ** 2
    row_cores, row_longest, row_sums = _axis_plans(h, tile, multiple, overlap)
    col_cores, col_longest, col_sums = _axis_plans(w, tile, multiple, overlap)
    fits = row_longest[:, None] * col_longest[None, :] <= budget
    pixels = np.where(fits, row_sums[:, None] * col_sums[None, :], np.inf)
    i, j = np.unravel_index(np.argmin(pixels), pixels.shape)  # the first of equals: the fewest tiles
    return int(row_cores[i]), int(col_cores[j])


def _window_weights(n: int, context_lo: int, context_hi: int) -> np.ndarray:
    """Weights along one axis of a window with the given context widths (see :func:`_windows`)."""
    w = np.ones(n, np.float32)
    for context, side in ((context_lo, slice(None)), (context_hi, slice(None, None, -1))):
        if context:
            fade = max(1, min(FADE, context // 2))
            ramp = np.zeros(context, np.float32)
            ramp[context - fade :] = (np.arange(fade, dtype=np.float32) + 0.5) / fade
            w[side][:context] = ramp
    return w


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library is not glibc."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Hand memory freed by the last tile back to the system.  glibc keeps freed tile buffers in
    its heap, so without this a 12 MP photo's peak RSS with PyTorch varied from 1.6 to 2.1 GB from
    run to run (1.4-1.65 GB with it, for 1-2 s more of 20; benchmarks/speed.py).  Does nothing off glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def run_tiled(
    enh: Enhancer,
    x: np.ndarray,
    *,
    tile: int | None = None,
    overlap: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cue: np.ndarray | None = None,
) -> np.ndarray:
    """Enhance ``(H, W, 3)`` tile by tile (see the module docstring); ``tile`` and ``overlap``
    (by default the model's own) are rounded up to the model's grid.  ``progress(done, total)``
    is called after each tile.  ``cue``: the exposure cue to give every tile; by default that of ``x``."""
    if cue is None:
        cue = image_cue(enh, x)
    h, w = x.shape[:2]
    m = enh.multiple
    tile = max(m, -(-(tile or enh.tile) // m) * m)
    overlap = -(-(enh.overlap if overlap is None else overlap) // m) * m
    core_h, core_w = tile_grid(h, w, tile, overlap, m)
    if core_h >= h and core_w >= w:
        out = _run_padded(enh, x, cue)
        if progress:
            progress(1, 1)
        return out
    acc = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w, 1), np.float32)
    rows, cols = _windows(h, core_h, overlap), _windows(w, core_w, overlap)
    total, done = len(rows) * len(cols), 0
    for y0, y1, cy0, cy1 in rows:
        wy = _window_weights(y1 - y0, cy0, cy1)
        for x0, x1, cx0, cx1 in cols:
            out = _run_padded(enh, x[y0:y1, x0:x1], cue)
            wgt = (wy[:, None] * _window_weights(x1 - x0, cx0, cx1)[None, :])[:, :, None]
            acc[y0:y1, x0:x1] += out * wgt
            weight[y0:y1, x0:x1] += wgt
            del out, wgt
            release_freed_memory()
            done += 1
            if progress:
                progress(done, total)
    acc /= weight  # in place: at 12 megapixels every full-size copy costs 144 MB
    return acc


ENSEMBLES = (1, 2, 4, 8)
"""How many of a tile's eight flips and quarter turns :func:`enhance` can average the model over."""
ENSEMBLE_CHOICES = ("auto", *(str(n) for n in ENSEMBLES))
"""What ``ensemble`` may be, as text (the CLI's ``--ensemble``, the web app's field): see :func:`parse_ensemble`."""
AUTO_ENSEMBLE = ((1_000_000, 4), (2_000_000, 2))
"""``(most pixels, passes)``: what ``ensemble="auto"`` runs for a model that asks for it (the flagship).
Four passes up to 1 megapixel (lumen, 1000x1000 px: 1.6 s instead of 0.4 on two cores) and two up
to 2: +0.3 dB on CBSD68's Gaussian rows and +0.4 on clean photos (`benchmarks/ensemble_check.py`)
where the time is short anyway.  Larger photos get one pass, so the 12-megapixel time is unchanged."""


def auto_ensemble(enh: Enhancer, pixels: int) -> int:
    """How many passes ``ensemble="auto"`` averages for ``pixels`` pixels: one for a model that does
    not ask for it, else as :data:`AUTO_ENSEMBLE` says."""
    if enh.self_ensemble:
        for most, passes in AUTO_ENSEMBLE:
            if pixels <= most:
                return passes
    return 1


def _passes(enh: Enhancer, ensemble: int | str, pixels: int) -> int:
    """The number of passes ``ensemble`` (``"auto"`` or a number) asks for on ``pixels`` pixels."""
    return auto_ensemble(enh, pixels) if ensemble == "auto" else int(ensemble)


def parse_ensemble(value: int | str) -> int | str:
    """``"auto"`` or one of :data:`ENSEMBLES` (as an int or its text) -> ``"auto"`` or that int."""
    if value == "auto":
        return value
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = None
    if n not in ENSEMBLES:
        raise ValueError(f"ensemble must be auto or one of {', '.join(map(str, ENSEMBLES))}, got {value!r}")
    return n


def _orient(t: np.ndarray, k: int) -> np.ndarray:
    """The ``k``-th (0-7) of the eight flips and quarter turns of ``(..., H, W)``; 0 leaves it as it is."""
    if k & 1:
        t = t[..., ::-1]
    if k & 2:
        t = np.rot90(t, axes=(-2, -1))
    if k & 4:
        t = t[..., ::-1, :]
    return t


def _unorient(t: np.ndarray, k: int) -> np.ndarray:
    """Undo :func:`_orient` ``k``."""
    if k & 4:
        t = t[..., ::-1, :]
    if k & 2:
        t = np.rot90(t, -1, axes=(-2, -1))
    if k & 1:
        t = t[..., ::-1]
    return t


def with_ensemble(enh: Enhancer, ensemble: int) -> Enhancer:
    """``enh`` whose runner averages the model over the first ``ensemble`` (1, 2, 4 or 8) flips and
    quarter turns of each tile, each output turned back: a geometric self-ensemble, ``ensemble``
    times the work for less of the network's own noise (`benchmarks/ensemble_check.py`).  Done tile
    by tile, so memory stays what one pass takes; every orientation gets the tile's cue.  The
    tile's sides are multiples of the model's grid, so a quarter turn keeps them so."""
    if ensemble not in ENSEMBLES:
        raise ValueError(f"ensemble must be one of {', '.join(map(str, ENSEMBLES))}, got {ensemble!r}")
    if ensemble == 1:
        return enh
    run = enh.run

    def averaged(tile: np.ndarray, cue: np.ndarray | None) -> np.ndarray:
        total = run(tile, cue).astype(np.float32, copy=True)
        for k in range(1, ensemble):
            total += _unorient(run(np.ascontiguousarray(_orient(tile, k)), cue), k)
        return total / ensemble

    return replace(enh, run=averaged)


def parse_roi(text: str) -> tuple[int, int, int, int]:
    """``"X,Y,W,H"`` -> a tuple of four non-negative ints (W and H positive)."""
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"ROI {text!r} must be four integers X,Y,W,H") from None
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise ValueError(f"ROI {text!r}: X and Y must be >= 0, W and H > 0")
    return x, y, w, h


def _feather_mask(h: int, w: int, feather: int) -> np.ndarray:
    """``(h, w, 1)``: 1 inside, falling linearly to near 0 over ``feather`` pixels at the edge."""
    f = min(feather, h // 2, w // 2)
    return (_ramp(h, f, f)[:, None] * _ramp(w, f, f)[None, :])[:, :, None]


EXPOSURES = ("auto", "keep")
"""``auto``: the model brightens the photo as it judges; ``keep``: denoise only, the photo keeps
its brightness (:mod:`darkroom.keep_exposure`)."""


def _check_brightening(
    enh: Enhancer, guard: bool | None, exposure: str, before: np.ndarray, after: np.ndarray
) -> np.ndarray:
    """The highlight guard, then even gain, on the model's output ``after`` (changed in place) of
    ``before``, both ``(H, W, 3)`` in [0, 1]: each where the model asks for it, or as ``guard`` says;
    then, for ``exposure="keep"``, the brightening divided out."""
    if enh.guards_highlights if guard is None else guard:
        after = guard_highlights(before, after)[0]
    if enh.evens_gain if guard is None else guard:
        after = even_out_gain(before, after)[0]
    if exposure == "keep":
        after = keep_exposure(before, after)
    return after


def _show_grey_noise(enh: Enhancer, photo: np.ndarray) -> tuple[np.ndarray, bool]:
    """What the model is shown of ``photo`` ``(H, W, 3)``, and whether its output goes back to grey: for a
    model that asks for it, a black-and-white photo, or a colour photo with grain (:func:`grain_sigma`),
    with its grey noise shown as colour noise (:mod:`darkroom.grey`); otherwise the photo as it is."""
    if not enh.colours_grey_noise:
        return photo, False
    if is_grey(photo):
        return colour_the_noise(photo), True
    sigma = grain_sigma(photo)
    return (colour_the_noise(photo, sigma) if sigma > 0 else photo), False


def enhance(
    image: np.ndarray,
    model: str | os.PathLike | Enhancer | Any = DEFAULT_MODEL,
    *,
    roi: tuple[int, int, int, int] | None = None,
    feather: int = 16,
    tile: int | None = None,
    overlap: int | None = None,
    backend: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    guard: bool | None = None,
    exposure: str = "auto",
    ensemble: int | str = "auto",
) -> np.ndarray:
    """Enhance a photo: float32 RGB ``(H, W, 3)`` in [0, 1] -> the same shape, in [0, 1].

    ``model``: a shipped name, a weights path, an :class:`Enhancer`, a torch module or the
    ``(module, card)`` pair :func:`darkroom.load_model` returns.
    ``tile`` and ``overlap`` default to the model's own (1024 and 192 px for lumen, 1600 px tiles
    under ONNX Runtime; 512 and 64 for the full-resolution originals), which keep 12 megapixels
    under 2 GB.
    ``roi=(x, y, w, h)`` enhances only that rectangle (clipped to the image) and blends it in
    with a ``feather``-pixel edge; every pixel outside the rectangle is returned unchanged.
    ``guard`` turns the checks on how the model brightened the photo on or off: the highlight
    guard (:mod:`darkroom.highlights`) and even gain (:mod:`darkroom.even_gain`); by default each
    is the model's own choice (both on for lumen).
    ``exposure="keep"`` removes noise but keeps the photo's brightness, for a photo meant to be
    dark (a low-key portrait, a night scene); ``"auto"`` lets the model brighten it as it judges.
    ``ensemble`` (1, 2, 4 or 8) averages the model over that many flips and quarter turns of each
    tile (:func:`with_ensemble`): that many times slower, a little cleaner; ``"auto"`` does so on
    small photos for a model that asks for it (:func:`auto_ensemble`: 4 passes up to 1 megapixel and
    2 up to 2 for lumen, counting the pixels the model sees), one pass otherwise.
    A black-and-white photo (three equal channels) given to a model that asks for it (lumen) has its
    noise shown to the model as colour noise and comes back black-and-white; so has grain on a colour
    photo, when it is found, and the photo keeps its colours (:mod:`darkroom.grey`).
    The input array is never modified.

    >>> import numpy as np, torch
    >>> out = enhance(np.zeros((40, 30, 3), np.float32), torch.nn.Identity())
    >>> out.shape
    (40, 30, 3)
    """
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    if exposure not in EXPOSURES:
        raise ValueError(f"exposure must be one of {', '.join(EXPOSURES)}, got {exposure!r}")
    ensemble = parse_ensemble(ensemble)
    enh = _as_enhancer(model, backend)
    prepare = fill_impulses if enh.fills_impulses else (lambda x: x)
    if roi is None:
        enh = with_ensemble(enh, _passes(enh, ensemble, image.shape[0] * image.shape[1]))
        seen = prepare(image)
        fed, grey = _show_grey_noise(enh, seen)
        cue = image_cue(enh, fed, keep=exposure == "keep")
        out = run_tiled(enh, fed, tile=tile, overlap=overlap, progress=progress, cue=cue)
        out = np.clip(out, 0, 1, out=out)
        return _check_brightening(enh, guard, exposure, seen, back_to_grey(out) if grey else out)
    h, w = image.shape[:2]
    x, y, rw, rh = roi
    x1, y1 = min(w, x + rw), min(h, y + rh)
    if x >= w or y >= h or x1 <= x or y1 <= y:
        raise ValueError(f"ROI {roi} lies outside the {w}x{h} image")
    m, reach = enh.multiple, enh.overlap if overlap is None else overlap
    cy0, cx0 = max(0, (y - reach) // m * m), max(0, (x - reach) // m * m)
    cy1, cx1 = min(h, y1 + reach), min(w, x1 + reach)
    enh = with_ensemble(enh, _passes(enh, ensemble, (cy1 - cy0) * (cx1 - cx0)))
    context = prepare(image[cy0:cy1, cx0:cx1])
    inside = (slice(y - cy0, y1 - cy0), slice(x - cx0, x1 - cx0))
    fed, grey = _show_grey_noise(enh, context)
    cue = image_cue(enh, fed[inside], keep=exposure == "keep")  # the ROI is brightened as a photo of its own
    region = np.clip(run_tiled(enh, fed, tile=tile, overlap=overlap, progress=progress, cue=cue)[inside], 0, 1)
    region = _check_brightening(enh, guard, exposure, context[inside], back_to_grey(region) if grey else region)
    mask = _feather_mask(y1 - y, x1 - x, feather)
    out = image.copy()
    out[y:y1, x:x1] = region * mask + image[y:y1, x:x1] * (1 - mask)
    return out


def enhance_file(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    model: str | os.PathLike | Enhancer = DEFAULT_MODEL,
    *,
    max_pixels: int | None = None,
    on_result: Callable[[np.ndarray, np.ndarray], object] | None = None,
    **kwargs: Any,
) -> Path:
    """Read ``src``, enhance it, write ``dst`` atomically with EXIF, ICC and bit depth kept.

    Refuses to write over ``src``.  ``kwargs`` go to :func:`enhance`.  ``on_result``, if given, is
    called with the photo read and its enhancement (both ``(H, W, 3)`` float32 in [0, 1]) once ``dst``
    is written.
    """
    from .io import DEFAULT_MAX_PIXELS, read_image_with_info, write_image

    src, dst = Path(src), Path(dst)
    if dst.resolve() == src.resolve():
        raise ValueError(f"{dst}: refusing to overwrite the original; choose another output folder")
    image, info = read_image_with_info(src, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
    out = enhance(image, model, **kwargs)
    depth = 16 if info.bit_depth == 16 and dst.suffix.lower() in (".png", ".tif", ".tiff") else 8
    written = write_image(dst, out, bit_depth=depth, exif=info.exif, icc_profile=info.icc_profile)
    if on_result is not None:
        on_result(image, out)
    return written
