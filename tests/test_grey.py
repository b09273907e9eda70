import numpy as np
import pytest

from conftest import smooth_photo
from darkroom.engine import Enhancer, enhance
from darkroom.grey import GRAIN_BLOCK, back_to_grey, colour_the_noise, grain_sigma, grey_noise_sigma, is_grey


def grey_photo(h: int = 96, w: int = 128) -> np.ndarray:
    """A clean, smooth black-and-white photo ``(h, w, 3)`` with values in [0.3, 0.7]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grey = 0.3 + 0.25 * xx / w + 0.15 * (1 + np.sin(xx / 9 + yy / 13)) / 2
    return np.repeat(grey[..., None], 3, axis=-1).astype(np.float32)


def test_colour_the_noise_keeps_each_pixels_grey_value_and_spreads_the_channels_as_noise_drawn_apart_would():
    photo = grey_photo(200, 200)
    sigma = 0.05
    coloured = colour_the_noise(photo, sigma)
    np.testing.assert_allclose(coloured.mean(axis=-1), photo.mean(axis=-1), atol=1e-6)
    spread = coloured - coloured.mean(axis=-1, keepdims=True)
    # noise of std sqrt(3) sigma drawn per channel spreads each channel about the mean by std sqrt(2) sigma
    assert abs(spread.std() / (np.sqrt(2) * sigma) - 1) < 0.02
    assert not is_grey(coloured)
    assert np.array_equal(coloured, colour_the_noise(photo, sigma))  # a fixed seed: the same photo, the same noise
    assert np.array_equal(colour_the_noise(photo, 0.0), photo)


@pytest.mark.parametrize("sigma", [10 / 255, 25 / 255, 50 / 255])
def test_grey_noise_sigma_reads_the_noise_of_a_grey_photo(sigma):
    photo = grey_photo(256, 256)
    noise = np.random.default_rng(1).standard_normal(photo.shape[:2] + (1,)).astype(np.float32) * sigma
    assert abs(grey_noise_sigma(photo + noise) / sigma - 1) < 0.1
    assert grey_noise_sigma(photo) < 2 / 255


def test_wavelet_sigma_is_scikit_images_estimate():
    """The same number as :func:`skimage.restoration.estimate_sigma`, to the last bit, on noise, texture,
    odd sizes, a flat patch (all details zero but the edges) and float32 input."""
    from skimage.restoration import estimate_sigma

    from darkroom.grey import wavelet_sigma

    rng = np.random.default_rng(3)
    channels = [rng.normal(0.5, s, (h, w)) for s, h, w in [(0.02, 64, 64), (0.1, 33, 57), (0.0, 9, 300)]]
    channels += [smooth_photo(97, 130, seed=2)[..., 1], np.full((40, 40), 0.3), grey_photo(64, 80)[..., 0]]
    for channel in channels:
        assert wavelet_sigma(channel) == float(estimate_sigma(np.asarray(channel, np.float64)))


def test_a_large_grey_photo_has_its_noise_read_on_bands(monkeypatch):
    from darkroom import grey

    photo = np.repeat(smooth_photo(512, 300, seed=9)[..., :1], 3, axis=2)
    noisy = photo + np.repeat(np.random.default_rng(7).normal(0, 20 / 255, photo.shape[:2] + (1,)), 3, axis=2)
    whole = grey_noise_sigma(noisy)
    monkeypatch.setattr(grey, "GREY_BANDS_ABOVE", 100_000)
    monkeypatch.setattr(grey, "GREY_BAND", 16)
    banded = grey_noise_sigma(noisy)
    assert banded != whole  # read on bands, not the whole photo
    assert abs(banded / whole - 1) < 0.05 and abs(banded * 255 / 20 - 1) < 0.1


def test_back_to_grey_averages_the_channels():
    x = smooth_photo(20, 30)
    y = back_to_grey(x)
    assert is_grey(y) and y.shape == x.shape
    np.testing.assert_allclose(y[..., 0], x.mean(axis=-1), atol=1e-6)


def _recording(flag: bool) -> tuple[Enhancer, list[np.ndarray]]:
    """An identity model that keeps what it was shown."""
    seen: list[np.ndarray] = []

    def run(tile: np.ndarray, cue: np.ndarray | None) -> np.ndarray:
        seen.append(tile.copy())
        return tile

    return Enhancer("identity", run, 4, {}, tile=512, overlap=8, colours_grey_noise=flag), seen


def test_the_engine_shows_a_grey_photo_colour_noise_and_hands_back_grey():
    photo = grey_photo()
    noisy = photo + np.random.default_rng(0).standard_normal(photo.shape[:2] + (1,)).astype(np.float32) * 0.03
    asks, seen = _recording(True)
    out = enhance(noisy, asks, guard=False, ensemble=1)
    shown = seen[-1][0].transpose(1, 2, 0)[: photo.shape[0], : photo.shape[1]]
    assert not is_grey(shown)  # the model saw colour noise
    assert is_grey(out)  # and the output is grey again
    np.testing.assert_allclose(out, noisy, atol=1e-5)  # an identity model: the grey values are kept
    roi = enhance(noisy, asks, roi=(10, 20, 50, 40), guard=False, ensemble=1)
    assert is_grey(roi)
    # a model that does not ask for it, and a colour photo, are shown the photo as it is
    plain, plain_seen = _recording(False)
    enhance(noisy, plain, guard=False, ensemble=1)
    assert is_grey(plain_seen[-1][0].transpose(1, 2, 0))
    colour = smooth_photo(96, 128)
    same = dict(guard=False, ensemble=1)
    assert np.array_equal(enhance(colour, asks, **same), enhance(colour, plain, **same))


def textured_photo(h: int = 256, w: int = 256, *, detail: float = 12 / 255) -> np.ndarray:
    """A clean colour photo ``(h, w, 3)`` (even sides) with grey texture whose power falls as 1/f**2, as in natural
    photos, down to a period of 16 pixels, scaled so its finest-scale detail has std about ``detail``:
    texture that, measured at one scale only, looks like grain of std ``detail / sqrt(3)`` or more."""
    rng = np.random.default_rng(3)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    f = np.maximum(np.hypot(fy, fx), 1 / max(h, w))
    texture = np.fft.ifft2(np.fft.fft2(rng.standard_normal((h, w))) / f * (f >= 1 / 16)).real
    fine = (texture[0::2, 0::2] - texture[1::2, 0::2] - texture[0::2, 1::2] + texture[1::2, 1::2]) / 2
    texture *= detail / fine.std()
    assert texture.std() < 0.1  # texture, not a clipped mess
    return np.clip(smooth_photo(h, w) + texture[..., None], 0, 1).astype(np.float32)


def grainy(photo: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    """``photo`` with grey noise of std ``sigma``: one field for all three channels."""
    return photo + np.random.default_rng(seed).standard_normal(photo.shape[:2] + (1,)).astype(np.float32) * sigma


@pytest.mark.parametrize("sigma", [15 / 255, 25 / 255, 50 / 255])
@pytest.mark.parametrize("make", [smooth_photo, textured_photo], ids=["smooth", "textured"])
def test_grain_sigma_reads_grain_on_a_colour_photo(sigma, make):
    photo = make(256, 256)
    assert abs(grain_sigma(grainy(photo, sigma)) / sigma - 1) < 0.15


@pytest.mark.parametrize("make", [smooth_photo, textured_photo], ids=["smooth", "textured"])
def test_grain_sigma_finds_none_in_clean_photos_or_noise_drawn_per_channel(make):
    photo = make(256, 256)
    assert grain_sigma(photo) == 0
    for sigma in (10 / 255, 25 / 255, 50 / 255):
        apart = photo + np.random.default_rng(2).standard_normal(photo.shape).astype(np.float32) * sigma
        assert grain_sigma(apart) == 0


def test_grain_sigma_needs_one_whole_square():
    small = grainy(smooth_photo(GRAIN_BLOCK - 1, 300), 25 / 255)
    assert grain_sigma(small) == 0
    assert grain_sigma(grainy(smooth_photo(GRAIN_BLOCK, 300), 25 / 255)) > 0


def test_the_engine_shows_grain_on_a_colour_photo_as_colour_noise_and_keeps_its_colours():
    photo = smooth_photo(128, 160)
    noisy = grainy(photo, 25 / 255)
    asks, seen = _recording(True)
    out = enhance(noisy, asks, guard=False, ensemble=1)
    shown = seen[-1][0].transpose(1, 2, 0)[: photo.shape[0], : photo.shape[1]]
    # each pixel's brightness is kept and its colour gets noise; an identity model hands that back
    np.testing.assert_allclose(shown.mean(axis=-1), noisy.mean(axis=-1), atol=1e-5)
    assert np.abs(shown - noisy).mean() > 10 / 255
    np.testing.assert_allclose(out, np.clip(shown, 0, 1), atol=1e-6)
    # the same photo with noise drawn per channel is shown as it is
    apart = photo + np.random.default_rng(2).standard_normal(photo.shape).astype(np.float32) * 25 / 255
    enhance(apart, asks, guard=False, ensemble=1)
    np.testing.assert_array_equal(seen[-1][0].transpose(1, 2, 0)[: photo.shape[0], : photo.shape[1]], apart)
