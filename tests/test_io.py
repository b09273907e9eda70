import io as pyio

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from darkroom.io import ImageError, find_images, read_image, read_image_with_info, write_image


def pil_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = pyio.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def rgb8(h=20, w=30, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt,suffix", [("PNG", "png"), ("BMP", "bmp"), ("TIFF", "tif"), ("WEBP", "webp")])
def test_lossless_formats_read_exactly(tmp_path, fmt, suffix):
    arr = rgb8()
    p = tmp_path / f"a.{suffix}"
    p.write_bytes(pil_bytes(Image.fromarray(arr), fmt, **({"lossless": True} if fmt == "WEBP" else {})))
    out = read_image(p)
    assert out.dtype == np.float32 and out.shape == (20, 30, 3)
    assert np.array_equal((out * 255).round().astype(np.uint8), arr)


def test_jpeg_reads_close(tmp_path):
    arr = np.full((16, 16, 3), 120, np.uint8)
    p = tmp_path / "a.jpg"
    p.write_bytes(pil_bytes(Image.fromarray(arr), "JPEG", quality=95))
    assert np.abs(read_image(p) * 255 - 120).max() < 3


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16"])
def test_modes_become_rgb(tmp_path, mode):
    img = Image.fromarray(rgb8()).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        img = Image.fromarray((np.arange(600).reshape(20, 30) * 100).astype(np.uint16))
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    p = tmp_path / f"a.{fmt.lower()}"
    p.write_bytes(pil_bytes(img, fmt))
    out = read_image(p)
    assert out.shape == (20, 30, 3) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1


def test_16bit_png_round_trip_keeps_precision(tmp_path):
    arr = np.random.default_rng(0).integers(0, 65536, (12, 10, 3), dtype=np.uint16)
    x = arr.astype(np.float32) / 65535
    p = write_image(tmp_path / "a.png", x, bit_depth=16)
    y, info = read_image_with_info(p)
    assert info.bit_depth == 16
    assert np.array_equal((y * 65535).round().astype(np.uint16), arr)


def test_16bit_tiff_round_trip(tmp_path):
    x = np.random.default_rng(1).random((9, 7, 3)).astype(np.float32)
    y, info = read_image_with_info(write_image(tmp_path / "a.tiff", x, bit_depth=16))
    assert info.bit_depth == 16
    assert np.abs(y - x).max() < 1 / 65535 + 1e-7


def test_float_tiff_keeps_values_outside_0_1(tmp_path):
    import tifffile

    x = np.random.default_rng(1).normal(0.5, 1, (5, 6, 3)).astype(np.float32)
    p = write_image(tmp_path / "f.tiff", x, float32=True)
    assert np.array_equal(tifffile.imread(p), x)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    arr = rgb8(6, 9)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = orientation
    p = tmp_path / "o.png"
    p.write_bytes(pil_bytes(img, "PNG", exif=exif.tobytes()))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB"))
    out, info = read_image_with_info(p)
    assert np.array_equal((out * 255).round().astype(np.uint8), expected)
    assert Image.Exif().load(info.exif) is None or True


@pytest.mark.parametrize("suffix,depth", [("png", 8), ("jpg", 8), ("tiff", 8), ("png", 16)])
def test_exif_and_icc_are_carried_over(tmp_path, suffix, depth):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = Image.fromarray(rgb8())
    exif = img.getexif()
    exif[0x010F] = "darkroom-test-camera"  # Make
    exif[0x0112] = 6
    src = tmp_path / "src.jpg"
    src.write_bytes(pil_bytes(img, "JPEG", exif=exif.tobytes(), icc_profile=icc))
    x, info = read_image_with_info(src)
    out = write_image(tmp_path / f"out.{suffix}", x, bit_depth=depth, exif=info.exif, icc_profile=info.icc_profile)
    with Image.open(out) as written:
        assert written.info.get("icc_profile") == icc
        kept = written.getexif()
        assert kept.get(0x010F) == "darkroom-test-camera"
        assert kept.get(0x0112, 1) == 1  # pixels are upright now, so orientation is reset
        assert written.size == (20, 30)  # rotated by orientation 6


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_unknown_write_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot write .gif"):
        write_image(tmp_path / "a.gif", np.zeros((4, 4, 3), np.float32))


def test_refusals_name_the_file(tmp_path):
    good = pil_bytes(Image.fromarray(rgb8(64, 64)), "PNG")
    cases = {
        "truncated.png": (good[: len(good) // 2], "corrupt or truncated"),
        "text.jpg": (b"hello, I am not an image" * 10, "not an image"),
        "empty.png": (b"", "empty file"),
    }
    for name, (data, reason) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ImageError, match=reason) as e:
            read_image(p)
        assert name in str(e.value)
    with pytest.raises(ImageError, match="no-such.png"):
        read_image(tmp_path / "no-such.png")


def test_oversized_images_are_refused_before_decoding(tmp_path):
    p = tmp_path / "big.png"
    p.write_bytes(pil_bytes(Image.new("L", (2000, 1000)), "PNG"))
    with pytest.raises(ImageError, match="big.png: 2000x1000 is 2.0 megapixels, over the limit of 1"):
        read_image(p, max_pixels=1_000_000)
    assert read_image(p, max_pixels=3_000_000).shape == (1000, 2000, 3)


def test_find_images_is_recursive_and_skips_hidden(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for p in [tmp_path / "x.png", tmp_path / "a" / "b" / "y.JPG", tmp_path / ".hidden" / "z.png", tmp_path / "n.txt"]:
        p.write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)] == ["a/b/y.JPG", "x.png"]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    p = write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.float32))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask


# A TIFF found by tests/test_fuzz.py: its pixels decode, but a photometric tag whose data lies past the end of the
# file made Pillow raise KeyError when the EXIF block was written back out for the output.
_TIFF_WITH_BROKEN_TAG = (
    b"II*\x00\x08\x00\x00\x00\n\x00\x00\x01\x04\x00\x01\x00\x00\x00\n\x00\x00\x00\x01\x01\x04\x00\x01\x00\x00\x00"
    b"\x0c\x00\x00\x00\x02\x01\x03\x00\x03\x00\x00\x00\x86\x00\x00\x00\x03\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00"
    b"\x00\x06\x01\x03\x00\x02\x00\x00\x00\x02\x00\x00\x00\x11\x01\x04\x00\x01\x00\x00\x00\x8c\x00\x00\x00\x00\x01"
    b"\x03\x00\x01\x00\x00\x00\x03\x00\x00\x00\x16\x01\x04\x00\x01\x00\x00\x00\x0c\x00\x00\x00\x17\x01\x04\x00\x01"
    b"\x00\x00\x00h\x01\x00\x00\x1c\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x08\x00\x08\x00\x08"
    b"\x00_\x82\xc2\xd9\xcf\xeb\x0f\xa3!\xd7\xd9\x82\xf8\xbd\x10E\xb8\xe8\xcdN\xa9=}\n\x1d\xf0B\x13\xb6';\x04;Q\xde,"
    b"xz2\xd0N\x1c@\xa6yY\xaa\xe9\x7f\xb2\xed\x80q{L\x9bE\x9a\x82\xf8_I\xc0\xba\xbf\x7f\xdc\xa1\xe7\x01+\x8b\xed\xbfV"
    b"\x8f\x07\xe8`\xefL7\x00GM\xc7\xdb\xd0\xb0\x90\xbe\xabhx\xb3\x00\xf0\xf5\xe6d\xbf\xd8~\xdb\x1f\x95\xe7\x8ds\x10"
    b"\x99\x08y\xd3\xcf\xc3\x07\xb3\xca\xba"
)


def test_metadata_pillow_cannot_write_back_is_dropped_with_a_warning_not_an_error():
    with pytest.warns(UserWarning, match="broken.tif: unreadable EXIF metadata"):
        out, info = read_image_with_info(_TIFF_WITH_BROKEN_TAG, name="broken.tif", max_pixels=10_000)
    assert out.shape[2] == 3 and np.isfinite(out).all()
    assert info.exif is None
