"""Image files in and out: float32 RGB in [0, 1], channels last, with metadata kept.

Reading applies the EXIF orientation, turns grey, grey+alpha, RGBA, palette and CMYK into RGB
(alpha is dropped), keeps 16-bit precision, and refuses corrupt, truncated, non-image and
oversized files with an :class:`ImageError` that names the file and the reason.

Writing goes to a temporary file in the target folder and is renamed into place, so a reader
never sees half an image; EXIF (orientation reset, since the pixels are already upright) and
the ICC profile are carried over; a 16-bit source gives a 16-bit PNG or TIFF.
"""

from __future__ import annotations

import contextlib
import io as _io
import os
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 100_000_000
"""Images with more pixels than this are refused unless the caller raises the limit."""

READ_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"})
WRITE_FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "tiff": ".tiff", "tif": ".tiff"}
_ORIENTATION = 0x0112
_UMASK = os.umask(0o022)
os.umask(_UMASK)
DEFAULT_FILE_MODE = 0o666 & ~_UMASK
"""The mode a plain ``open(path, "w")`` would give a new file under this process's umask."""


class ImageError(ValueError):
    """A file that is not a usable image: the message names the file and the reason."""


@dataclass
class ImageInfo:
    """What :func:`read_image_with_info` learned of a file besides its pixels."""

    path: str
    format: str | None
    bit_depth: int
    exif: bytes | None
    icc_profile: bytes | None


def _fail(path: str | os.PathLike, reason: str) -> ImageError:
    return ImageError(f"{path}: {reason}")


def read_image(
    source: str | os.PathLike | bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> np.ndarray:
    """Read an image as float32 RGB ``(H, W, 3)`` in [0, 1].

    ``source`` is a path or the file's bytes (then ``name`` labels it in errors).
    """
    return read_image_with_info(source, max_pixels=max_pixels, name=name)[0]


def read_image_with_info(
    source: str | os.PathLike | bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> tuple[np.ndarray, ImageInfo]:
    """Like :func:`read_image`, also returning the file's :class:`ImageInfo` (for writing)."""
    label = name or (str(source) if not isinstance(source, (bytes, bytearray)) else "<bytes>")
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise _fail(label, f"cannot read file ({e.strerror or e})") from None
    if not data:
        raise _fail(label, "empty file")
    if Image.MAX_IMAGE_PIXELS and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own bomb error fires at twice this
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(_io.BytesIO(data))
        w, h = img.size
        if w * h > max_pixels:
            raise _fail(label, f"{w}x{h} is {w * h / 1e6:.1f} megapixels, over the limit of {max_pixels / 1e6:g}")
        if w == 0 or h == 0:
            raise _fail(label, "image has no pixels")
        rawmode = _rawmode(img)  # before getexif(), which may load the image and clear its tiles
        exif = img.getexif()
        orientation = int(exif.get(_ORIENTATION, 1) or 1)
        icc = img.info.get("icc_profile")
        fmt = img.format
        sixteen = img.mode in ("I;16", "I;16B", "I;16L", "I") or ";16" in rawmode or rawmode.endswith("16")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if sixteen and img.mode not in ("I;16", "I;16B", "I;16L", "I"):
                arr = _decode_16bit_colour(data, label)
            else:
                img.load()
                arr = _to_rgb_float(img, sixteen)
    except ImageError:
        raise
    except Image.DecompressionBombError as e:
        raise _fail(label, f"refused as a decompression bomb ({e})") from None
    except UnidentifiedImageError:
        raise _fail(label, "not an image, or a format darkroom cannot read") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, MemoryError) as e:
        raise _fail(label, f"corrupt or truncated image ({e})") from None
    if orientation != 1:
        arr = _apply_orientation(arr, orientation)
    exif_bytes = None
    if exif:
        exif[_ORIENTATION] = 1
        try:
            exif_bytes = exif.tobytes()
        except (KeyError, ValueError, TypeError, struct.error, OSError) as e:  # a tag Pillow read but cannot write
            note = f"{label}: unreadable EXIF metadata ({type(e).__name__}: {e}); the output will not carry it"
            warnings.warn(note, stacklevel=2)
    info = ImageInfo(label, fmt, 16 if sixteen else 8, exif_bytes, icc)
    return np.ascontiguousarray(arr, dtype=np.float32), info


def _rawmode(img: Image.Image) -> str:
    """The decoder's raw mode (e.g. ``RGB;16B`` for a 16-bit PNG), or ``""``."""
    if not img.tile:
        return ""
    args = img.tile[0][3]
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return args if isinstance(args, str) else ""


def _decode_16bit_colour(data: bytes, label: str) -> np.ndarray:
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise _fail(label, "corrupt or truncated 16-bit image")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB)
    else:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    return arr.astype(np.float32) / scale


def _to_rgb_float(img: Image.Image, sixteen: bool) -> np.ndarray:
    if sixteen:
        arr = np.asarray(img, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(arr, 0, 1)[:, :, None], 3, axis=2)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        return np.repeat(np.clip(arr, 0, 1)[:, :, None], 3, axis=2)
    if img.mode != "RGB":
        img = img.convert("RGBA" if img.mode == "P" and "transparency" in img.info else img.mode)
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.float32) / 255.0


def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip an ``(H, W, C)`` array so it is upright (EXIF orientation 2-8)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return op(arr) if op else arr


# ----------------------------------------------------------------------------- writing


def to_uint(arr: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """Float image in [0, 1] (clipped) to uint8 or uint16, rounding to nearest."""
    top = 65535 if bit_depth == 16 else 255
    out = np.clip(np.asarray(arr, np.float32), 0, 1) * top + 0.5
    return out.astype(np.uint16 if bit_depth == 16 else np.uint8)


def output_suffix(fmt: str) -> str:
    """File suffix for a format name (``png``, ``jpg``, ``tiff``)."""
    try:
        return WRITE_FORMATS[fmt.lower()]
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r}; choose png, jpg or tiff") from None


def write_image(
    path: str | os.PathLike,
    arr: np.ndarray,
    *,
    bit_depth: int = 8,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
    quality: int = 95,
    float32: bool = False,
) -> Path:
    """Write ``arr`` (``(H, W, 3)`` or ``(H, W)``, float in [0, 1]) to ``path`` atomically.

    The format follows the suffix (.png, .jpg/.jpeg, .tif/.tiff).  ``bit_depth=16`` writes a
    16-bit PNG or TIFF (JPEG is 8-bit only); ``float32=True`` writes an unclipped float32 TIFF.
    """
    path = Path(path)
    try:
        data = encode_image(
            arr, path.suffix, bit_depth=bit_depth, exif=exif, icc_profile=icc_profile, quality=quality, float32=float32
        )
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    atomic_write_bytes(path, data)
    return path


def encode_image(
    arr: np.ndarray,
    suffix: str,
    *,
    bit_depth: int = 8,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
    quality: int = 95,
    float32: bool = False,
) -> bytes:
    """The bytes of an image file for ``suffix`` (.png, .jpg/.jpeg, .tif/.tiff); see :func:`write_image`."""
    suffix = suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        raise ValueError(f"cannot write {suffix or 'files without a suffix'}; use .png, .jpg or .tiff")
    arr = np.asarray(arr, np.float32)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return _encode(arr, suffix, bit_depth, exif, icc_profile, quality, float32)


def _encode(
    arr: np.ndarray, suffix: str, bit_depth: int, exif: bytes | None, icc: bytes | None, quality: int, float32: bool
) -> bytes:
    buf = _io.BytesIO()
    if suffix in (".tif", ".tiff") and (float32 or bit_depth == 16):
        import tifffile

        pixels = arr if float32 else to_uint(arr, 16)
        extras = {"iccprofile": icc} if icc else {}
        tifffile.imwrite(buf, pixels, photometric="rgb" if pixels.ndim == 3 else "minisblack", **extras)
        return buf.getvalue()
    if suffix == ".png" and bit_depth == 16:
        import cv2

        pixels = to_uint(arr, 16)
        if pixels.ndim == 3:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
        ok, enc = cv2.imencode(".png", pixels)
        if not ok:
            raise OSError("PNG encoding failed")
        return _png_add_chunks(enc.tobytes(), exif, icc)
    img = Image.fromarray(to_uint(arr, 8))
    kwargs: dict = {}
    if exif:
        kwargs["exif"] = exif
    if icc:
        kwargs["icc_profile"] = icc
    if suffix in (".jpg", ".jpeg"):
        img.save(buf, format="JPEG", quality=quality, **kwargs)
    elif suffix == ".png":
        img.save(buf, format="PNG", **kwargs)
    else:
        img.save(buf, format="TIFF", compression="tiff_deflate", **kwargs)
    return buf.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_add_chunks(png: bytes, exif: bytes | None, icc: bytes | None) -> bytes:
    """Insert iCCP and eXIf chunks right after IHDR (PNG spec: both before IDAT)."""
    ihdr_end = 8 + 4 + 4 + 13 + 4
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    return png[:ihdr_end] + extra + png[ihdr_end:]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, DEFAULT_FILE_MODE)  # mkstemp makes 0600; give the file the mode open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def find_images(root: str | os.PathLike) -> list[Path]:
    """Image files under ``root`` (recursive), sorted; hidden files and folders are skipped."""
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in READ_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
