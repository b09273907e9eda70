"""Even gain: parts of a photo equally bright before come out equally brightened; a photo
brightened as a whole, by a tone curve or not at all keeps its gains."""

import numpy as np
import pytest

from conftest import graded_scene, luminance
from darkroom.engine import enhance, load_enhancer
from darkroom.even_gain import BLOCK, even_out_gain, gain_curve
from darkroom.models import get_spec


def _even_scene(seed: int = 0, size: int = 128) -> np.ndarray:
    """A textured photo whose brightness runs from about 0.03 to 0.6 across its width."""
    return graded_scene(seed, size, low=0.03, high=0.6, noise=0.01)


@pytest.mark.parametrize(
    "curve",
    [lambda x: 1.5 * x, lambda x: x**0.6, lambda x: x.copy()],
    ids=["uniform-gain", "tone-curve", "unchanged"],
)
def test_brightening_that_follows_brightness_is_kept(curve):
    before = _even_scene()
    after = np.clip(curve(before), 0, 1).astype(np.float32)
    expected = after.copy()
    out, moved = even_out_gain(before, after)
    np.testing.assert_allclose(out[:, 2 * BLOCK : -2 * BLOCK], expected[:, 2 * BLOCK : -2 * BLOCK], atol=0.003)
    # at the ends a curve is carried on (darkest) or held (brightest), which a steep one outruns a little
    np.testing.assert_allclose(out, expected, rtol=0.03, atol=0.003)
    assert moved <= 1 / 16  # at most one of the 16 columns of blocks


def test_a_blown_out_light_keeps_its_brightness():
    """A night photo lifted 3x in its shadows, less and less towards its brightest parts, with a white
    street lamp the network left white: a gain that falls fast near the top must not be carried on."""
    before = _even_scene(3) * 0.5
    before[40:56, 40:56] = 1.0
    gain = np.interp(before, [0.0, 0.15, 0.3, 1.0], [3.0, 3.0, 1.2, 1.0])
    after = np.clip(before * gain, 0, 1).astype(np.float32)
    out, _ = even_out_gain(before, after.copy())
    assert out[44:52, 44:52].min() > 0.98


def test_a_blotch_brightened_unlike_its_equals_is_evened_out():
    """A quarter of the photo brightened 2.5x, the rest 1.2x: a network's local decision that flipped."""
    before = _even_scene(1) * 0.5  # brightness 0.015-0.3, so neither decision clips
    after = before * 1.2
    after[:32] = before[:32] * 2.5
    out, moved = even_out_gain(before, after.copy())
    assert moved > 0.2
    blotch, rest = np.s_[: 32 - BLOCK], np.s_[32 + BLOCK :]  # the correction fades over one block
    gain_blotch = luminance(out[blotch]).mean() / luminance(before[blotch]).mean()
    gain_rest = luminance(out[rest]).mean() / luminance(before[rest]).mean()
    assert abs(gain_blotch - 1.2) < 0.05 and abs(gain_rest - 1.2) < 0.02  # the photo's typical gain
    np.testing.assert_allclose(out[rest], after[rest], atol=0.005)  # what agreed with it is kept
    assert out.min() >= 0 and out.max() <= 1


def test_the_gain_curve_reads_the_median_gain_at_each_brightness():
    lum_in = np.repeat(np.linspace(0.05, 0.5, 10), 40).reshape(20, 20)  # 10 brightness levels of 40 blocks
    lum_out = lum_in * np.where(lum_in < 0.25, 3.0, 1.5)
    lum_out[0, :3] *= 10  # three outliers do not move the median
    curve = gain_curve(lum_in, lum_out, bins=10, monotone=False)
    np.testing.assert_allclose(curve(np.array([0.05, 0.1, 0.2, 0.25, 0.45, 0.5])), [3.0, 3.0, 3.0, 1.5, 1.5, 1.5])
    np.testing.assert_allclose(curve(np.array([0.0, 1.0])), [3.0, 1.5])  # held beyond the ends


def test_the_gain_curve_never_makes_a_brighter_part_darker():
    """Blocks at 0.2 lifted 3x come out at 0.6, above blocks at 0.25 lifted 1.5x (0.375): the
    monotone curve pools the quantiles that cross, and leaves the ends that do not alone."""
    lum_in = np.repeat(np.linspace(0.05, 0.5, 10), 40).reshape(20, 20)
    lum_out = lum_in * np.where(lum_in < 0.25, 3.0, 1.5)
    levels = np.linspace(0.05, 0.5, 10)
    out_levels = levels * gain_curve(lum_in, lum_out, bins=10)(levels)
    assert np.all(np.diff(out_levels) >= -1e-9)
    np.testing.assert_allclose(out_levels[[0, 1, -1]], [0.15, 0.3, 0.75])  # no crossing: kept
    raw = levels * gain_curve(lum_in, lum_out, bins=10, monotone=False)(levels)
    assert raw[3] > raw[4]  # what the network did


def test_keeping_the_order_is_the_weighted_isotonic_fit_scipy_makes():
    """Pool-adjacent-violators written out agrees with scipy's on gains that cross, ties, runs
    already in order and runs in reverse, with unequal weights."""
    from scipy.optimize import isotonic_regression

    from darkroom.even_gain import _keep_order

    rng = np.random.default_rng(0)
    cases = [rng.normal(0, 1, n) for n in (1, 2, 5, 32) for _ in range(25)]
    cases += [np.linspace(0, 1, 8), np.linspace(1, 0, 8), np.array([0.3, 0.3, 0.1, 0.1, 0.5])]
    for levels in cases:
        centres = np.sort(rng.uniform(-7, 0, levels.size))
        weights = rng.integers(32, 400, levels.size).astype(np.float64)
        ours = _keep_order(centres, levels - centres, weights)
        theirs = isotonic_regression(levels, weights=weights, increasing=True).x - centres
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
        assert np.all(np.diff(ours + centres) >= -1e-12)


def test_a_sky_lifted_in_one_band_comes_out_in_order():
    """A smooth grey sky (brightness 0.2-0.33 from left to right) whose middle band the network lifted
    2.9x and whose brighter right quarter it left alone, as it did with a low-key photo of an
    overcast sky: after even gain no column of blocks comes out darker than one left of it (away
    from the band's edges, where the scale, interpolated between block centres, meets a sharp step)."""
    ramp = np.linspace(0.2, 0.33, 128, dtype=np.float32)
    before = np.repeat(np.repeat(ramp[None, :, None], 128, 0), 3, 2)
    after = before.copy()
    after[:, 64:96] *= 2.9
    columns = lambda x: luminance(x).reshape(128, 16, BLOCK).mean((0, 2))  # noqa: E731
    assert np.diff(columns(after)).min() < -0.3  # what the network did
    out, _ = even_out_gain(before, after.copy())
    away = np.r_[0:7, 9:11, 13:16]
    assert np.diff(columns(out)[away]).min() > -0.005
    assert columns(out)[-1] > 0.4  # the brighter quarter is raised to the band, not the band cut to it


def test_small_images_and_mismatched_shapes():
    tiny = np.full((32, 32, 3), 0.2, np.float32)  # 16 blocks: too few to read a curve from
    np.testing.assert_array_equal(even_out_gain(tiny, tiny * 2)[0], tiny * 2)
    with pytest.raises(ValueError, match="differ in shape"):
        even_out_gain(tiny, np.zeros((32, 33, 3), np.float32))


def test_the_flagship_asks_for_even_gain_and_guard_false_turns_it_off(monkeypatch):
    import darkroom.engine as engine

    calls = []
    monkeypatch.setattr(engine, "even_out_gain", lambda before, after: calls.append(1) or (after, 0.0))
    enh = load_enhancer("lumen", "torch")
    assert get_spec("lumen").evens_gain and enh.evens_gain
    photo = _even_scene(2, 64)
    enhance(photo, enh)
    enhance(photo, enh, roi=(8, 8, 40, 40))
    assert len(calls) == 2
    enhance(photo, enh, guard=False)
    assert len(calls) == 2
