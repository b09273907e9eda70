import numpy as np
import pytest

from conftest import smooth_photo
from darkroom import impulse
from darkroom.baselines import median3
from darkroom.degrade import darken, gaussian, salt_pepper
from darkroom.engine import Enhancer, enhance
from darkroom.impulse import fill_impulses
from darkroom.metrics import psnr


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - b) ** 2))


@pytest.mark.parametrize("density", [0.02, 0.05, 0.2])
def test_impulses_are_filled_far_better_than_a_median_filter(density):
    clean = smooth_photo(96, 128, seed=1)
    noisy = salt_pepper(clean, density, rng=np.random.default_rng(0))
    filled = fill_impulses(noisy)
    assert filled is not noisy
    assert psnr(filled, clean) > psnr(median3(noisy), clean) + 5
    hit = np.any(noisy != clean, axis=2)
    assert np.array_equal(filled[~hit], noisy[~hit])  # only impulses change


def test_per_channel_impulses_are_filled_too():
    clean = smooth_photo(96, 128, seed=2)
    rng = np.random.default_rng(1)
    u = rng.random(clean.shape)
    noisy = np.where(u < 0.03, 0.0, np.where(u > 0.97, 1.0, clean)).astype(np.float32)
    assert psnr(fill_impulses(noisy), clean) > psnr(noisy, clean) + 15


def test_dark_photo_with_impulses_is_filled():
    clean = darken(smooth_photo(96, 128, seed=3), 0.35)
    noisy = salt_pepper(clean, 0.05, rng=np.random.default_rng(2))
    assert psnr(fill_impulses(noisy), clean) > psnr(noisy, clean) + 15


def test_clean_photo_with_saturated_and_black_regions_is_passed_as_is():
    photo = smooth_photo(96, 128, seed=4)
    photo[10:40, 20:70] = 1.0  # a blown-out sky
    photo[60:90, 90:120] = 0.0  # a black shadow
    photo[50, 5:60] = 1.0  # a thin saturated wire
    assert fill_impulses(photo) is photo


@pytest.mark.parametrize("sigma", [50, 80])
def test_clipped_gaussian_noise_does_not_open_the_gate(sigma):
    """Clipping makes many values 0 or 1, but among neighbours as noisy as they are: not impulses."""
    clean = smooth_photo(128, 128, seed=5)
    noisy = np.clip(gaussian(clean, sigma / 255, rng=np.random.default_rng(3)), 0, 1)
    assert ((noisy == 0) | (noisy == 1)).mean() > impulse.GATE  # the cheap exit does not decide it
    assert fill_impulses(noisy) is noisy


def test_strips_leave_no_seams(monkeypatch):
    noisy = salt_pepper(smooth_photo(100, 90, seed=6), 0.2, rng=np.random.default_rng(4))
    whole = fill_impulses(noisy)
    monkeypatch.setattr(impulse, "STRIP", 7)
    assert np.array_equal(fill_impulses(noisy), whole)


def test_sampled_bands_of_a_large_photo_decide_as_the_whole_photo_does(monkeypatch):
    """Above PROBE values the evident impulses are first counted on bands of SAMPLE rows; the
    fill is then finished strip by strip, so the output is the same as without the bands."""
    noisy = salt_pepper(smooth_photo(100, 90, seed=7), 0.05, rng=np.random.default_rng(5))
    dark = np.clip(gaussian(darken(smooth_photo(100, 90, seed=8), 0.1), 20 / 255, rng=np.random.default_rng(6)), 0, 1)
    assert (dark == 0).mean() > impulse.GATE  # clipped to black: past the cheap exit
    whole = fill_impulses(noisy)
    monkeypatch.setattr(impulse, "PROBE", 0)
    monkeypatch.setattr(impulse, "STRIP", 16)
    monkeypatch.setattr(impulse, "SAMPLE", 4)
    assert np.array_equal(fill_impulses(noisy), whole) and not np.array_equal(whole, noisy)
    counted = []
    real_fill_strip = impulse._fill_strip
    monkeypatch.setattr(impulse, "_fill_strip", lambda *a: counted.append(a[2]) or real_fill_strip(*a))
    assert fill_impulses(dark) is dark
    assert {rows.stop - rows.start for rows in counted} == {4}  # settled on the bands alone


def test_engine_fills_impulses_only_for_models_that_ask(photo):
    noisy = salt_pepper(photo, 0.1, rng=np.random.default_rng(5))
    identity = lambda x, cue=None: x  # noqa: E731
    filling = Enhancer("fills", identity, 1, {}, fills_impulses=True)
    plain = Enhancer("plain", identity, 1, {})
    assert np.array_equal(enhance(noisy, plain), noisy)
    assert np.allclose(enhance(noisy, filling), fill_impulses(noisy))
    assert _mse(enhance(noisy, filling), photo) < _mse(noisy, photo) / 20
    roi = enhance(noisy, filling, roi=(10, 10, 30, 20), feather=4)
    outside = np.ones(photo.shape[:2], bool)
    outside[10:30, 10:40] = False
    assert np.array_equal(roi[outside], noisy[outside])  # an ROI still leaves the rest alone
    assert _mse(roi[14:26, 14:36], photo[14:26, 14:36]) < _mse(noisy[14:26, 14:36], photo[14:26, 14:36]) / 20


def test_the_flagship_fills_impulses():
    from darkroom.models import get_spec

    assert get_spec("lumen").fills_impulses
    assert not get_spec("dncnn").fills_impulses  # the originals run as they were built


def test_the_row_median_is_numpys_nanmedian():
    rng = np.random.default_rng(7)
    values = rng.random((500, 8)).astype(np.float32)
    values[rng.random(values.shape) < 0.4] = np.nan
    values[:5] = np.nan  # rows with no value at all give NaN, as NumPy does (with a warning)
    with pytest.warns(RuntimeWarning):
        expected = np.nanmedian(values, axis=1)
    assert np.allclose(impulse._nan_median(values), expected, equal_nan=True)


def _evident(x: np.ndarray) -> int:
    """The evident impulses of the whole photo, counted with the medians."""
    return impulse._fill_strip(x, impulse._extreme(x), slice(0, x.shape[0]), x.copy())


@pytest.mark.parametrize(
    "case",
    ["sp", "sp-dark", "per-channel", "clipped", "dark-clipped", "unclipped", "below-zero", "uniform", "saturated"],
)
def test_possible_impulses_bound_the_evident_ones(case):
    """The count taken without medians is never below the count with them, so the gate it shuts
    could not have opened, and the output is what the medians alone would give."""
    rng = np.random.default_rng(11)
    photo = smooth_photo(64, 80, seed=12)
    x = {
        "sp": lambda: salt_pepper(photo, 0.1, rng=rng),
        "sp-dark": lambda: salt_pepper(darken(photo, 0.2), 0.05, rng=rng),
        "per-channel": lambda: np.where(rng.random(photo.shape) < 0.05, 1.0, photo).astype(np.float32),
        "clipped": lambda: np.clip(gaussian(photo, 80 / 255, rng=rng), 0, 1),
        "dark-clipped": lambda: np.clip(gaussian(darken(photo, 0.05), 15 / 255, rng=rng), 0, 1),
        "unclipped": lambda: gaussian(darken(photo, 0.05), 50 / 255, rng=rng),
        "below-zero": lambda: np.where(rng.random(photo.shape) < 0.05, 0.0, -0.4).astype(np.float32),
        "uniform": lambda: rng.random(photo.shape).astype(np.float32),
        "saturated": lambda: np.where(photo > 0.6, 1.0, photo).astype(np.float32),
    }[case]()
    evident = _evident(x)
    assert case not in ("sp", "below-zero") or evident > 0  # the cases that have some do
    assert impulse._possible_impulses(x, 0, x.shape[0]) >= evident
    assert sum(impulse._possible_impulses(x, top, 7) for top in range(0, x.shape[0], 7)) >= evident  # strips too


def test_a_dark_photo_is_settled_without_a_median(monkeypatch):
    dark = np.clip(gaussian(darken(smooth_photo(100, 90, seed=8), 0.05), 15 / 255, rng=np.random.default_rng(6)), 0, 1)
    assert impulse._extreme(dark).mean() > impulse.GATE  # past the cheap exit
    monkeypatch.setattr(impulse, "_fill_strip", lambda *a: pytest.fail("a median was taken"))
    assert fill_impulses(dark) is dark
