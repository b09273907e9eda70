import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from darkroom import degrade as dg


def flat(value: float, h: int = 200, w: int = 200) -> np.ndarray:
    return np.full((h, w, 3), value, np.float32)


@pytest.mark.parametrize("name,sigma", [("gauss15", 15), ("gauss25", 25), ("gauss50", 50)])
def test_gaussian_presets_have_the_published_sigma_and_are_unclipped(name, sigma):
    x = flat(0.5)
    y = dg.apply_preset(x, name, rng=1)
    assert abs((y - x).std() * 255 - sigma) < 0.02 * sigma
    assert abs((y - x).mean()) < 0.01
    x0 = flat(0.0)
    assert dg.apply_preset(x0, name, rng=1).min() < 0  # unclipped, as in the published protocol


@pytest.mark.parametrize("name,density", [("sp05", 0.05), ("sp20", 0.20)])
def test_salt_pepper_hits_whole_pixels_half_white_half_black(name, density):
    x = flat(0.5)
    y = dg.apply_preset(x, name, rng=2)
    changed = np.any(y != 0.5, axis=2)
    assert abs(changed.mean() - density) < 0.01
    hit = y[changed]
    assert np.all((hit == 0).all(axis=1) | (hit == 1).all(axis=1))  # all channels of a pixel together
    assert abs((hit[:, 0] == 1).mean() - 0.5) < 0.05


def test_poisson30_mean_and_variance():
    x = flat(0.4)
    y = dg.apply_preset(x, "poisson30", rng=3)
    assert abs(y.mean() - 0.4) < 0.005
    assert abs(y.var() - 0.4 / 30) < 0.05 * 0.4 / 30


def test_speckle10_scales_with_the_signal_and_is_clipped():
    y = dg.apply_preset(flat(0.5), "speckle10", rng=4)
    assert abs((y - 0.5).std() - 0.05) < 0.002
    assert y.min() >= 0 and y.max() <= 1


def test_dark_presets_darken_to_035():
    x = flat(0.8)
    y = dg.apply_preset(x, "dark-gauss", rng=5)
    assert abs(y.mean() - 0.28) < 0.003
    assert abs(y.std() * 255 - 10) < 0.3
    sp = dg.apply_preset(x, "dark-sp", rng=5)
    untouched = np.all(np.isclose(sp, 0.28), axis=2)
    assert abs(untouched.mean() - 0.95) < 0.01


def test_lowlight_matches_its_formula_statistically():
    x = flat(0.5)
    y = dg.apply_preset(x, "lowlight", rng=6)
    e = 0.05 * ((0.5 + 0.055) / 1.055) ** 2.4
    expected = 1.055 * e ** (1 / 2.4) - 0.055
    assert abs(np.median(y) - expected) < 0.02
    assert y.min() >= 0 and y.max() <= 1


def test_mnist_preset_is_clipped_gaussian_02():
    y = dg.apply_preset(flat(0.5), "mnist", rng=7)
    assert y.min() >= 0 and y.max() <= 1
    assert abs((y - 0.5).std() - 0.2) < 0.01


def test_identity_returns_a_copy():
    x = flat(0.3)
    y = dg.apply_preset(x, "identity")
    assert np.array_equal(x, y) and y is not x


def test_srgb_round_trip():
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    assert np.abs(dg.linear_to_srgb(dg.srgb_to_linear(x)) - x).max() < 1e-5


@pytest.mark.parametrize("name", list(dg.PRESETS))
def test_same_seed_same_pixels_and_input_untouched(name, photo):
    before = photo.copy()
    a = dg.apply_preset(photo, name, rng=42)
    b = dg.apply_preset(photo, name, rng=np.random.default_rng(42))
    assert np.array_equal(a, b)
    assert np.array_equal(photo, before)
    assert a.shape == photo.shape and a.dtype == np.float32


@pytest.mark.parametrize("name", list(dg.PRESETS))
def test_presets_work_on_torch_batches(name):
    x = torch.rand(2, 3, 16, 16)
    a, b = dg.apply_preset(x, name, rng=9), dg.apply_preset(x, name, rng=9)
    assert isinstance(a, torch.Tensor) and a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)


def test_torch_salt_pepper_hits_all_channels_of_a_pixel():
    y = dg.salt_pepper(torch.full((4, 3, 32, 32), 0.5), 0.3, rng=0)
    hit = (y != 0.5).any(dim=1)
    assert ((y == 0).all(dim=1) | (y == 1).all(dim=1))[hit].all()


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        dg.apply_preset(flat(0.1, 4, 4), "nope")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 24), w=st.integers(1, 24))
def test_random_mix_keeps_shape_dtype_and_is_seeded(seed, h, w):
    x = np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)
    a, b = dg.random_mix(x, seed), dg.random_mix(x, seed)
    assert a.shape == x.shape and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.isfinite(a).all()


def test_compose_chains_steps_with_one_generator(photo):
    run = dg.compose(lambda x, r: dg.darken(x, 0.5), lambda x, r: dg.gaussian(x, 0.1, rng=r))
    assert np.array_equal(run(photo, 3), run(photo, 3))
    assert abs(run(photo, 3).mean() - photo.mean() * 0.5) < 0.01
