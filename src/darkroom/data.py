"""Image sources and torch datasets of (input, target) pairs.

Sources: a folder of images (recursive), a ZIP file (read in memory; escaping paths, links and
zip bombs refused), paired low/high folders (LOL layout or any two folders matched by file
stem), and MNIST IDX files (gzipped or raw).

Datasets yield ``(input, target)`` float32 tensors ``(3, P, P)`` in [0, 1] (or ``(784,)`` for
MNIST); :class:`SyntheticPairs` and :class:`PairedPatches` can add the whole photo's exposure
cue as a third item.  Sample ``i`` draws all its randomness from
``numpy.random.default_rng([seed, i])``, so the same index gives the same pair in any process, in
any order, after any resume.
"""

from __future__ import annotations

import gzip
import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from . import degrade as dg
from .exposure import CUE_SIZES, FULL_CUE_SIZE, exposure_cue
from .io import READ_SUFFIXES, ImageError, find_images, read_image

Degrader = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class DataError(ValueError):
    """A data source that cannot be used: the message names the file and the reason."""


# ----------------------------------------------------------------------------- sources


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    return (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)


def _resize(arr: np.ndarray, size: int | None) -> np.ndarray:
    if not size:
        return arr
    from PIL import Image

    return np.asarray(Image.fromarray(arr).resize((size, size), Image.Resampling.BICUBIC))


def load_folder(root: str | os.PathLike, *, resize: int | None = None, limit: int | None = None) -> list[np.ndarray]:
    """Every readable image under ``root`` as uint8 RGB ``(H, W, 3)``; unreadable files are
    skipped with a warning naming them.  ``resize`` makes each ``resize x resize``."""
    paths = find_images(root)
    if not paths:
        raise DataError(f"{root}: no images found")
    images = []
    for p in paths[:limit]:
        try:
            images.append(_resize(_to_uint8(read_image(p)), resize))
        except ImageError as e:
            print(f"warning: skipped {e}")
    return images


@dataclass(frozen=True)
class ZipLimits:
    """Bounds that make a hostile ZIP fail fast instead of filling memory."""

    max_members: int = 100_000
    max_total_bytes: int = 4 * 2**30
    max_member_bytes: int = 512 * 2**20
    max_ratio: float = 200.0


def _check_member(zip_path: str, info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    name = info.filename
    if not name:  # a corrupt central directory can leave a member without a name
        raise DataError(f"{zip_path}: a member has an empty name; refused")
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"{zip_path}: member {name!r} has an absolute path; refused")
    if ".." in p.parts:
        raise DataError(f"{zip_path}: member {name!r} escapes the archive with '..'; refused")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise DataError(f"{zip_path}: member {name!r} is a symbolic link; refused")
    if info.file_size > limits.max_member_bytes:
        raise DataError(f"{zip_path}: member {name!r} unpacks to {info.file_size} bytes, over the limit")
    if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
        raise DataError(
            f"{zip_path}: member {name!r} has compression ratio "
            f"{info.file_size / info.compress_size:.0f}:1, a zip bomb; refused"
        )


def read_zip_members(zip_path: str | os.PathLike, *, limits: ZipLimits = ZipLimits()) -> list[tuple[str, bytes]]:
    """The image members of a ZIP as ``(name, bytes)``, sorted by name, never touching disk.

    The whole archive is checked before anything is read: absolute paths, ``..``, links,
    too many members, and sizes or ratios over ``limits`` are refused with a :class:`DataError`.
    Reads are capped at the declared size, so a lying header cannot inflate memory.
    """
    zip_path = str(zip_path)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as e:
        raise DataError(f"{zip_path}: not a readable ZIP file ({e})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise DataError(f"{zip_path}: {len(infos)} members, over the limit of {limits.max_members}")
        total = 0
        for info in infos:
            _check_member(zip_path, info, limits)
            total += info.file_size
        if total > limits.max_total_bytes:
            raise DataError(f"{zip_path}: unpacks to {total} bytes, over the limit of {limits.max_total_bytes}")
        members = []
        for info in sorted(infos, key=lambda i: i.filename):
            name = info.filename
            if info.is_dir() or PurePosixPath(name).suffix.lower() not in READ_SUFFIXES:
                continue
            if any(part.startswith(("__MACOSX", ".")) for part in PurePosixPath(name).parts):
                continue
            try:
                with zf.open(info) as f:
                    data = f.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, zlib.error) as e:
                # RuntimeError: encrypted member; zlib.error: corrupt deflate stream
                raise DataError(f"{zip_path}: member {name!r} cannot be read ({e})") from None
            if len(data) > info.file_size:
                raise DataError(f"{zip_path}: member {name!r} is larger than its header says; refused")
            members.append((name, data))
    return members


def load_zip(zip_path: str | os.PathLike, *, resize: int | None = None, limit: int | None = None) -> list[np.ndarray]:
    """The images inside a ZIP as uint8 RGB arrays (see :func:`read_zip_members`)."""
    images = []
    for name, data in read_zip_members(zip_path)[:limit]:
        try:
            images.append(_resize(_to_uint8(read_image(data, name=f"{zip_path}:{name}")), resize))
        except ImageError as e:
            print(f"warning: skipped {e}")
    if not images:
        raise DataError(f"{zip_path}: no readable images inside")
    return images


def load_images(source: str | os.PathLike, *, resize: int | None = None, limit: int | None = None) -> list[np.ndarray]:
    """Clean images from a folder or a ``.zip`` file."""
    if str(source).lower().endswith(".zip"):
        return load_zip(source, resize=resize, limit=limit)
    if not Path(source).exists():
        raise DataError(f"{source}: no such file or folder")
    return load_folder(source, resize=resize, limit=limit)


@dataclass
class Pairing:
    """Matched ``(low, high)`` paths and the files that had no partner."""

    pairs: list[tuple[Path, Path]]
    unmatched_low: list[Path]
    unmatched_high: list[Path]


def pair_folders(low_dir: str | os.PathLike, high_dir: str | os.PathLike | None = None) -> Pairing:
    """Match images of two folders by file stem.

    With one argument, ``low_dir`` is a dataset root in LOL's layout: the first folders named
    ``low`` and ``high`` (case-insensitive) beneath it, e.g. ``our485/low`` + ``our485/high``.
    """
    if high_dir is None:
        root = Path(low_dir)
        lows = sorted(p for p in root.rglob("*") if p.is_dir() and p.name.lower() == "low")
        for low in lows:
            high = next((q for q in low.parent.iterdir() if q.is_dir() and q.name.lower() == "high"), None)
            if high is not None:
                low_dir, high_dir = low, high
                break
        else:
            raise DataError(f"{root}: no 'low' and 'high' folders side by side (the LOL layout)")
    lows_by_stem = {p.stem: p for p in find_images(low_dir)}
    highs_by_stem = {p.stem: p for p in find_images(high_dir)}
    common = sorted(set(lows_by_stem) & set(highs_by_stem))
    if not common:
        raise DataError(f"{low_dir} and {high_dir}: no images share a file name")
    return Pairing(
        [(lows_by_stem[s], highs_by_stem[s]) for s in common],
        [lows_by_stem[s] for s in sorted(set(lows_by_stem) - set(highs_by_stem))],
        [highs_by_stem[s] for s in sorted(set(highs_by_stem) - set(lows_by_stem))],
    )


def load_pairs(pairing: Pairing, *, resize: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Read matched pairs as uint8 arrays; pairs whose sizes differ are refused."""
    out = []
    for low_path, high_path in pairing.pairs:
        low, high = _to_uint8(read_image(low_path)), _to_uint8(read_image(high_path))
        if low.shape != high.shape and not resize:
            raise DataError(f"{low_path} is {low.shape[:2]} but {high_path} is {high.shape[:2]}")
        out.append((_resize(low, resize), _resize(high, resize)))
    return out


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (MNIST's format), gzipped or raw, as a uint8 array ``(N, ...)``."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: corrupt gzip ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(dims)):
        raise DataError(f"{path}: size does not match its declared shape {dims}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


# ----------------------------------------------------------------------------- degradation choice


def make_degrader(presets: Sequence[str] | str | None = None, *, mix: dg.MixConfig | None = None) -> Degrader:
    """A function ``(x, rng) -> y``: one of ``presets`` chosen at random per image, or the
    flagship's random mix when ``presets`` is ``None`` or ``"mix"``."""
    if presets is None or presets == "mix" or list(presets) == ["mix"]:
        config = mix or dg.MixConfig()
        return lambda x, rng: dg.random_mix(x, rng, config)
    names = [presets] if isinstance(presets, str) else list(presets)
    for name in names:
        if name not in dg.PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {', '.join(dg.PRESETS)} or 'mix'")
    return lambda x, rng: dg.apply_preset(x, names[int(rng.integers(len(names)))], rng=rng)


# ----------------------------------------------------------------------------- datasets


def _augment(arrays: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    out = []
    for a in arrays:
        a = np.rot90(a, k)
        out.append(a[:, ::-1] if flip else a)
    return out


def _crop_box(shape: tuple[int, ...], patch: int, rng: np.random.Generator) -> tuple[int, int]:
    h, w = shape[:2]
    if h < patch or w < patch:
        raise DataError(f"an image of {w}x{h} is smaller than the patch size {patch}")
    return int(rng.integers(h - patch + 1)), int(rng.integers(w - patch + 1))


def _check_cue_size(cue_size: int) -> None:
    if cue_size not in (0, *CUE_SIZES):
        raise ValueError(f"cue_size must be 0 (no cue) or one of {CUE_SIZES}, not {cue_size}")


def _photo_cue(photo: np.ndarray, cue_size: int, keep: bool = False):
    """The exposure cue of a whole ``(H, W, 3)`` photo in [0, 1], as a float32 tensor ``(cue_size,)``;
    with ``cue_size`` 7 its last number is the intent, 1 with ``keep``."""
    import torch

    cue = exposure_cue(photo.transpose(2, 0, 1)[None], cue_size, keep=keep)[0]  # a view: the cue only samples it
    return torch.from_numpy(cue.astype(np.float32))


def _chw(a: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))


class SyntheticPairs:
    """Random patches of clean images, degraded on the fly: ``(input, target)`` tensors
    ``(3, patch, patch)`` in [0, 1] (the input may leave [0, 1] for unclipped noise).

    ``length`` is virtual: index ``i`` picks an image, crop, flip, rotation and degradation
    from ``default_rng([seed, i])``.  ``scene(clean, rng)``, if given, changes the clean patch
    itself before it is degraded (the target changes with it; see :func:`degrade.dim_scene`).

    With ``cue_size`` 5, 6 or 7 the whole photo is changed and degraded, its exposure cue
    (:func:`darkroom.exposure.exposure_cue`) is computed, and only then is the patch cut out: an
    item is ``(input, target, cue)`` with ``cue`` ``(cue_size,)``, the numbers the engine gives a
    model for every tile of that photo.  A patch's own cue can say "dark" where its photo says "dim".

    With ``keep_share`` above 0 (and ``cue_size`` 7, whose last number is the person's intent),
    ``degrader`` must return ``(degraded, exposed)`` as :func:`darkroom.degrade.random_mix_with_exposure`
    does, and that share of items asks to keep the exposure: their cue's intent is 1 and their
    target is ``exposed``, the clean photo as dark as it was made, so one network learns both answers
    for the same dark photo and is told which one the person wants.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        degrader: Degrader,
        *,
        patch_size: int = 96,
        seed: int = 0,
        length: int = 10**9,
        augment: bool = True,
        scene: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        cue_size: int = 0,
        keep_share: float = 0.0,
    ) -> None:
        if not images:
            raise DataError("no training images")
        _check_cue_size(cue_size)
        if keep_share and cue_size != FULL_CUE_SIZE:
            raise ValueError(
                f"keep_share needs a model that reads the intent (cue_size {FULL_CUE_SIZE}), not {cue_size}"
            )
        self.images, self.degrader, self.patch, self.seed = list(images), degrader, patch_size, seed
        self.length, self.augment, self.scene, self.cue_size = length, augment, scene, cue_size
        self.keep_share = keep_share

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        rng = np.random.default_rng([self.seed, int(i)])
        img = self.images[int(rng.integers(len(self.images)))]
        y, x = _crop_box(img.shape, self.patch, rng)
        if self.cue_size:
            return self._photo_item(img, y, x, rng)
        clean = img[y : y + self.patch, x : x + self.patch]
        if self.augment:
            (clean,) = _augment([clean], rng)
        clean = clean.astype(np.float32) / 255.0
        if self.scene is not None:
            clean = self.scene(clean, rng)
        return _chw(self.degrader(clean, rng)), _chw(clean)

    def _photo_item(self, img: np.ndarray, y: int, x: int, rng: np.random.Generator):
        """Change and degrade the whole photo, take its cue, then cut and augment the patch."""
        clean = img.astype(np.float32) / 255.0
        if self.scene is not None:
            clean = self.scene(clean, rng)
        keep = False
        if self.keep_share:
            noisy, exposed = self.degrader(clean, rng)
            keep = bool(rng.random() < self.keep_share)
            clean = exposed if keep else clean
        else:
            noisy = self.degrader(clean, rng)
        crops = [a[y : y + self.patch, x : x + self.patch] for a in (noisy, clean)]
        if self.augment:
            crops = _augment(crops, rng)
        return _chw(crops[0]), _chw(crops[1]), _photo_cue(noisy, self.cue_size, keep)


class PairedPatches:
    """Aligned random patches of ``(low, high)`` uint8 image pairs, as tensors ``(3, P, P)``;
    with ``cue_size`` 5, 6 or 7 an item also carries the whole low photo's exposure cue
    ``(cue_size,)`` (see :class:`SyntheticPairs`)."""

    def __init__(
        self,
        pairs: Sequence[tuple[np.ndarray, np.ndarray]],
        *,
        patch_size: int = 96,
        seed: int = 0,
        length: int = 10**9,
        cue_size: int = 0,
    ) -> None:
        if not pairs:
            raise DataError("no training pairs")
        _check_cue_size(cue_size)
        self.pairs, self.patch, self.seed, self.length = list(pairs), patch_size, seed, length
        self.cues = [_photo_cue(low.astype(np.float32) / 255.0, cue_size) for low, _ in self.pairs] if cue_size else []

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        rng = np.random.default_rng([self.seed, int(i)])
        k = int(rng.integers(len(self.pairs)))
        low, high = self.pairs[k]
        y, x = _crop_box(low.shape, self.patch, rng)
        crops = [a[y : y + self.patch, x : x + self.patch] for a in (low, high)]
        low_crop, high_crop = _augment(crops, rng)
        item = _chw(low_crop.astype(np.float32) / 255.0), _chw(high_crop.astype(np.float32) / 255.0)
        return (*item, self.cues[k]) if self.cues else item


class FlatDigits:
    """MNIST digits ``(N, 28, 28)`` uint8 served as flat ``(784,)`` float vectors ``(noisy, clean)`` in
    [0, 1], noise from ``degrader``.  Augmentation, for when only a few thousand digits train:
    ``shift`` moves each digit by up to that many pixels, ``rotate`` turns it by up to that many
    degrees, ``zoom`` scales it by up to that fraction (bilinear, about the centre), and ``elastic``
    bends it by a smooth random displacement field of that strength (Simard et al. 2003: a
    Gaussian-blurred, sigma 4 px, field of uniform [-1, 1] displacements times ``elastic``)."""

    def __init__(
        self,
        digits: np.ndarray,
        degrader: Degrader,
        *,
        seed: int = 0,
        length: int | None = None,
        shift: int = 0,
        rotate: float = 0.0,
        zoom: float = 0.0,
        elastic: float = 0.0,
    ) -> None:
        self.digits = digits.astype(np.float32) / 255.0
        self.degrader, self.seed = degrader, seed
        self.shift, self.rotate, self.zoom, self.elastic = shift, rotate, zoom, elastic
        self._grid_y, self._grid_x = np.mgrid[0:28, 0:28].astype(np.float32)  # for the elastic remap
        self.length = length or 10**9

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        import torch

        rng = np.random.default_rng([self.seed, int(i)])
        clean = self.digits[int(rng.integers(len(self.digits)))]
        if self.rotate or self.zoom:
            angle = rng.uniform(-self.rotate, self.rotate)
            scale = 1 + rng.uniform(-self.zoom, self.zoom)
            matrix = cv2.getRotationMatrix2D((13.5, 13.5), angle, scale)
            clean = np.clip(cv2.warpAffine(clean, matrix, (28, 28), flags=cv2.INTER_LINEAR), 0, 1)
        if self.elastic:
            field = rng.uniform(-1, 1, (2, 28, 28)).astype(np.float32)
            dx, dy = (cv2.GaussianBlur(f, (0, 0), 4) * self.elastic for f in field)
            clean = np.clip(cv2.remap(clean, self._grid_x + dx, self._grid_y + dy, cv2.INTER_LINEAR), 0, 1)
        if self.shift:  # digits sit on an empty border, so a small roll is a clean translation
            dy, dx = rng.integers(-self.shift, self.shift + 1, size=2)
            clean = np.roll(clean, (int(dy), int(dx)), axis=(0, 1))
        clean = clean.reshape(-1)
        return torch.from_numpy(np.asarray(self.degrader(clean, rng), np.float32)), torch.from_numpy(clean)
