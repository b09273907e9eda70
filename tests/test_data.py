import gzip
import io as pyio
import stat
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from darkroom import data as dt


def png_bytes(seed: int = 0, size: int = 40) -> bytes:
    buf = pyio.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def make_zip(path, members: dict[str, bytes], link: str | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_zip_images_are_read_in_memory_sorted(tmp_path):
    z = make_zip(tmp_path / "set.zip", {"b/2.png": png_bytes(2), "a.png": png_bytes(1), "notes.txt": b"hi"})
    images = dt.load_zip(z)
    assert len(images) == 2 and images[0].dtype == np.uint8 and images[0].shape == (40, 40, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set.zip"]  # nothing extracted


@pytest.mark.parametrize(
    "members,link,reason",
    [
        ({"../evil.png": b"x"}, None, "escapes the archive"),
        ({"/etc/evil.png": b"x"}, None, "absolute path"),
        ({"ok.png": b"x"}, "link.png", "symbolic link"),
        ({"bomb.png": b"\0" * 5_000_000}, None, "zip bomb"),
    ],
)
def test_hostile_zips_are_refused_with_the_file_named(tmp_path, members, link, reason):
    z = make_zip(tmp_path / "bad.zip", members, link)
    with pytest.raises(dt.DataError, match=reason) as e:
        dt.read_zip_members(z)
    assert "bad.zip" in str(e.value)


def test_zip_total_size_limit(tmp_path):
    z = make_zip(tmp_path / "big.zip", {f"{i}.png": png_bytes(i) for i in range(3)})
    with pytest.raises(dt.DataError, match="over the limit"):
        dt.read_zip_members(z, limits=dt.ZipLimits(max_total_bytes=100))


def test_not_a_zip_is_a_clear_error(tmp_path):
    p = tmp_path / "fake.zip"
    p.write_bytes(b"not a zip")
    with pytest.raises(dt.DataError, match="fake.zip: not a readable ZIP"):
        dt.read_zip_members(p)


def test_zip_of_an_unsupported_version_is_a_clear_error(tmp_path):
    z = make_zip(tmp_path / "future.zip", {"a.png": png_bytes(0)})
    data = bytearray(z.read_bytes())
    central = data.index(b"PK\x01\x02")  # the central directory entry; its "version needed" follows at +6
    data[central + 6] = 64  # version 6.4, which zipfile refuses with NotImplementedError
    z.write_bytes(bytes(data))
    with pytest.raises(dt.DataError, match="future.zip: not a readable ZIP.*version 6.4"):
        dt.read_zip_members(z)


def test_lol_layout_and_unmatched_files(tmp_path):
    for sub in ("low", "high"):
        (tmp_path / "our485" / sub).mkdir(parents=True)
    for name in ("1", "2", "3"):
        (tmp_path / "our485" / "low" / f"{name}.png").write_bytes(png_bytes(int(name)))
    for name in ("1", "2", "4"):
        (tmp_path / "our485" / "high" / f"{name}.png").write_bytes(png_bytes(int(name) + 10))
    pairing = dt.pair_folders(tmp_path)
    assert [(a.stem, b.stem) for a, b in pairing.pairs] == [("1", "1"), ("2", "2")]
    assert [p.name for p in pairing.unmatched_low] == ["3.png"]
    assert [p.name for p in pairing.unmatched_high] == ["4.png"]
    pairs = dt.load_pairs(pairing)
    ds = dt.PairedPatches(pairs, patch_size=16, seed=1)
    low, high = ds[5]
    assert low.shape == high.shape == (3, 16, 16)
    assert all(a.equal(b) for a, b in zip(ds[5], dt.PairedPatches(pairs, patch_size=16, seed=1)[5]))


def test_no_lol_layout_is_a_clear_error(tmp_path):
    with pytest.raises(dt.DataError, match="no 'low' and 'high' folders"):
        dt.pair_folders(tmp_path)


def test_digit_augmentation_moves_the_digit_and_keeps_noisy_and_clean_aligned():
    digits = np.zeros((3, 28, 28), np.uint8)
    digits[:, 8:20, 12:16] = 255  # a bar: a "1"
    plain = dt.FlatDigits(digits, lambda x, rng: x + 0.0, seed=3)
    warped = dt.FlatDigits(digits, lambda x, rng: x + 0.0, seed=3, shift=2, rotate=15, zoom=0.1, elastic=34)
    moved = 0
    for i in range(8):
        noisy, clean = warped[i]
        assert clean.shape == (784,) and 0 <= clean.min() and clean.max() <= 1
        assert np.array_equal(noisy.numpy(), clean.numpy())  # the degrader sees the warped digit
        assert np.array_equal(clean.numpy(), warped[i][1].numpy())  # reproducible per index
        moved += not np.allclose(clean.numpy(), plain[i][1].numpy())
        assert 30 < float(clean.sum()) < 70  # 48 px of ink: moved, scaled by up to 1.1 squared, never lost
    assert moved >= 6


@pytest.mark.parametrize("compress", [True, False])
def test_idx_reader(tmp_path, compress):
    digits = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    raw = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in digits.shape) + digits.tobytes()
    p = tmp_path / ("d.idx.gz" if compress else "d.idx")
    p.write_bytes(gzip.compress(raw) if compress else raw)
    assert np.array_equal(dt.read_idx(p), digits)
    p.write_bytes(raw[:-3])
    with pytest.raises(dt.DataError, match="does not match"):
        dt.read_idx(p)


def test_synthetic_pairs_are_deterministic_by_index():
    images = [np.random.default_rng(i).integers(0, 256, (50, 60, 3), dtype=np.uint8) for i in range(3)]
    ds = dt.SyntheticPairs(images, dt.make_degrader(["gauss25", "sp05"]), patch_size=32, seed=3)
    a, b = ds[7], dt.SyntheticPairs(images, dt.make_degrader(["gauss25", "sp05"]), patch_size=32, seed=3)[7]
    assert a[0].shape == (3, 32, 32) and a[0].equal(b[0]) and a[1].equal(b[1])
    assert not ds[8][1].equal(a[1])
    assert 0 <= float(a[1].min()) and float(a[1].max()) <= 1


def test_mix_degrader_and_resize(tmp_path):
    (tmp_path / "x.png").write_bytes(png_bytes(0, 50))
    images = dt.load_images(tmp_path, resize=32)
    assert images[0].shape == (32, 32, 3)
    ds = dt.SyntheticPairs(images, dt.make_degrader("mix"), patch_size=32)
    assert ds[0][0].shape == (3, 32, 32)


def test_patch_larger_than_image_is_a_clear_error():
    ds = dt.SyntheticPairs([np.zeros((10, 10, 3), np.uint8)], dt.make_degrader("identity"), patch_size=32)
    with pytest.raises(dt.DataError, match="smaller than the patch size"):
        ds[0]


def test_corrupt_deflate_stream_is_a_data_error_not_a_crash(tmp_path):
    """Found by the fuzz suite: zlib.error used to escape."""
    z = make_zip(tmp_path / "c.zip", {"a.png": png_bytes(0, 64)})
    raw = bytearray(z.read_bytes())
    start = raw.index(b"a.png") + len("a.png")  # the compressed data follows the local header's name
    raw[start + 10 : start + 40] = b"\xff" * 30
    z.write_bytes(bytes(raw))
    with pytest.raises(dt.DataError, match="c.zip: member 'a.png' cannot be read"):
        dt.read_zip_members(z)


def test_zip_member_without_a_name_is_refused(tmp_path):
    """A corrupt central directory can name a member with zero bytes (zipfile itself then fails
    with an IndexError); it is refused like any other hostile archive."""
    import struct

    z = make_zip(tmp_path / "noname.zip", {"a": b"x"})
    data = bytearray(z.read_bytes())
    cd = data.index(b"PK\x01\x02")
    data[cd + 28 : cd + 30] = struct.pack("<H", 0)  # file name length
    del data[cd + 46]  # the name itself
    eocd = data.index(b"PK\x05\x06")
    size = struct.unpack("<I", data[eocd + 12 : eocd + 16])[0]
    data[eocd + 12 : eocd + 16] = struct.pack("<I", size - 1)
    z.write_bytes(bytes(data))
    with pytest.raises(dt.DataError, match="empty name") as e:
        dt.read_zip_members(z)
    assert "noname.zip" in str(e.value)


def test_dim_scenes_dim_the_target_with_the_input():
    """A dim but well-exposed photo keeps its dim target: the model must not learn to brighten it."""
    import functools

    from darkroom.degrade import MixConfig, dim_scene

    rng = np.random.default_rng(0)
    images = [(rng.random((40, 40, 3)) * 255).astype(np.uint8) for _ in range(3)]
    plain = dt.SyntheticPairs(images, lambda x, r: x, patch_size=16, seed=1)
    config = MixConfig(p_dim=0.5, dim_factor=(0.5, 0.8))
    scene = functools.partial(dim_scene, config=config)
    dim = dt.SyntheticPairs(images, lambda x, r: x, patch_size=16, seed=1, scene=scene)
    ratios = []
    for i in range(40):
        (_, t0), (x1, t1) = plain[i], dim[i]
        assert np.array_equal(x1.numpy(), t1.numpy())  # input and target dimmed alike
        ratios.append(float(t1.mean() / t0.mean()))
    dimmed = np.array([r for r in ratios if r < 0.99])
    assert 10 < len(dimmed) < 30  # about half the scenes (p_dim 0.5)
    assert np.all((dimmed > 0.49) & (dimmed < 0.801))  # each by a factor from dim_factor


def _bright_corner_photo(size: int = 64) -> np.ndarray:
    """A dark photo with one bright corner: most 16 px patches hold no highlight at all."""
    photo = np.full((size, size, 3), 20, np.uint8)
    photo[:8, :8] = 250
    return photo


def test_a_patch_gets_its_whole_photos_cue_not_its_own():
    """The engine gives every tile the cue of the whole photo, so training gives every patch the same."""
    from darkroom.exposure import exposure_cue

    photo = _bright_corner_photo()
    halve = lambda x, rng: 0.5 * x  # noqa: E731  (a degradation whose whole-photo result is known)
    ds = dt.SyntheticPairs([photo], halve, patch_size=16, seed=2, cue_size=6)
    whole = exposure_cue((0.5 * photo.astype(np.float32) / 255).transpose(2, 0, 1)[None], 6)[0]
    patch_cues = []
    for i in range(20):
        x, y, cue = ds[i]
        assert cue.shape == (6,) and cue.dtype == torch.float32
        np.testing.assert_allclose(cue.numpy(), whole, atol=1e-6)
        np.testing.assert_allclose(x.numpy(), 0.5 * y.numpy(), atol=1e-6)  # the patch is the degraded photo's
        patch_cues.append(exposure_cue(x.numpy()[None], 6)[0])
    assert max(abs(c[5] - whole[5]) for c in patch_cues) > 0.3  # a patch's own highlight level can be far off
    again = dt.SyntheticPairs([photo], halve, patch_size=16, seed=2, cue_size=6)
    assert all(a.equal(b) for a, b in zip(ds[3], again[3]))
    with pytest.raises(ValueError, match="cue_size must be 0"):
        dt.SyntheticPairs([photo], halve, cue_size=4)


def test_paired_patches_carry_the_whole_low_photos_cue():
    from darkroom.exposure import exposure_cue

    low, high = _bright_corner_photo(), np.full((64, 64, 3), 128, np.uint8)
    x, y, cue = dt.PairedPatches([(low, high)], patch_size=16, seed=0, cue_size=5)[4]
    assert x.shape == y.shape == (3, 16, 16) and cue.shape == (5,)
    np.testing.assert_allclose(cue.numpy(), exposure_cue((low / 255.0).transpose(2, 0, 1)[None])[0], atol=1e-6)
    assert len(dt.PairedPatches([(low, high)], patch_size=16)[4]) == 2  # no cue asked for, none given


def test_a_share_of_pairs_asks_to_keep_the_exposure():
    """With ``keep_share``, the cue's seventh number says which answer the target is: 1, the photo kept
    as dark as it was made; 0, the clean photo."""
    photo = (np.random.default_rng(0).random((48, 48, 3)) * 255).astype(np.uint8)
    halve = lambda x, rng: (0.5 * x + 0.01, 0.5 * x)  # noqa: E731  (degraded, exposed)
    ds = dt.SyntheticPairs([photo], halve, patch_size=16, seed=1, cue_size=7, keep_share=0.5)
    intents = []
    for i in range(40):
        x, y, cue = ds[i]
        assert cue.shape == (7,)
        intents.append(float(cue[6]))
        expected = x - 0.01 if cue[6] == 1 else 2 * (x - 0.01)  # the exposed photo, or the clean one
        np.testing.assert_allclose(y.numpy(), expected.numpy(), atol=1e-5)
    assert set(intents) == {0.0, 1.0} and 8 < sum(intents) < 32
    with pytest.raises(ValueError, match="cue_size 7"):
        dt.SyntheticPairs([photo], halve, cue_size=6, keep_share=0.5)
