import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from darkroom import degrade as dg


def flat(value: float, h: int = 200, w: int = 200) -> np.ndarray:
    return np.full((h, w, 3), value, np.float32)


def tinted(value: float, h: int = 200, w: int = 200) -> np.ndarray:
    """A flat colour photo near ``value``: not grey, so the random mix degrades its channels apart."""
    return flat(value, h, w) + np.asarray([0.0, 0.01, -0.01], np.float32)


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


def _lag1_correlation(noise: np.ndarray) -> float:
    return float(np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_correlated_gaussian_has_the_asked_std_gains_and_correlations(backend):
    x = flat(0.5, 256, 256)
    gain = [1.4, 1.0, 0.8]
    if backend == "torch":
        y = dg.correlated_gaussian(
            torch.from_numpy(x).permute(2, 0, 1)[None], 0.02, blur=1.0, shared=0.5, channel_gain=gain, rng=0
        )
        noise = y[0].permute(1, 2, 0).numpy() - x
    else:
        noise = dg.correlated_gaussian(x, 0.02, blur=1.0, shared=0.5, channel_gain=gain, rng=0) - x
    np.testing.assert_allclose(noise.std(axis=(0, 1)), 0.02 * np.array(gain), rtol=0.1)
    # a Gaussian blur of std 1 px leaves neighbours correlated by exp(-1/4) = 0.78
    assert abs(_lag1_correlation(noise[..., 1]) - np.exp(-0.25)) < 0.05
    # half the variance is shared between channels
    assert abs(np.corrcoef(noise.reshape(-1, 3).T)[0, 2] - 0.5) < 0.06


def test_correlated_gaussian_with_no_blur_or_sharing_is_white_and_seeded():
    x = flat(0.5, 256, 256)
    noise = dg.correlated_gaussian(x, 0.05, blur=0.05, shared=0.0, rng=3) - x
    assert abs(_lag1_correlation(noise[..., 0])) < 0.03
    assert abs(np.corrcoef(noise.reshape(-1, 3).T)[0, 1]) < 0.03
    assert np.array_equal(dg.correlated_gaussian(x, 0.05, rng=3), dg.correlated_gaussian(x, 0.05, rng=3))


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), channels=st.sampled_from([0, 1, 3]), clip=st.booleans())
def test_correlated_gaussian_keeps_shape_on_tiny_images(h, w, channels, clip):
    x = np.full((h, w, channels) if channels else (h, w), 0.5, np.float32)
    y = dg.correlated_gaussian(x, 0.1, blur=1.5, clip=clip, rng=0)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert not clip or (y.min() >= 0 and y.max() <= 1)
    t = torch.from_numpy(x).movedim(-1, 0) if channels else torch.from_numpy(x)[None]
    assert dg.correlated_gaussian(t, 0.1, blur=1.5, rng=0).shape == t.shape


def test_correlated_gaussian_refuses_impossible_parameters():
    with pytest.raises(ValueError, match="channel_gain has 2 values for 3 channels"):
        dg.correlated_gaussian(flat(0.5, 8, 8), 0.1, channel_gain=[1, 1])
    with pytest.raises(ValueError, match="0 <= shared <= 1"):
        dg.correlated_gaussian(flat(0.5, 8, 8), 0.1, shared=1.5)


_RGB_TO_YCBCR = np.linalg.inv(np.asarray(dg.YCBCR_TO_RGB))


def _lag_correlation(noise: np.ndarray, lag: int) -> float:
    return float(np.corrcoef(noise[:, :-lag].ravel(), noise[:, lag:].ravel())[0, 1])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_camera_noise_is_fine_in_brightness_and_blotchy_in_colour(backend):
    x = flat(0.5, 256, 256)
    kwargs = dict(luma_blur=1.0, chroma_blur=2.5, chroma=0.5, clip=False, rng=0)
    if backend == "torch":
        y = dg.camera_noise(torch.from_numpy(x).permute(2, 0, 1)[None], 0.02, **kwargs)
        noise = y[0].permute(1, 2, 0).numpy() - x
    else:
        noise = dg.camera_noise(x, 0.02, **kwargs) - x
    luma, cb, cr = np.moveaxis(noise @ _RGB_TO_YCBCR.T, -1, 0)
    assert luma.std() == pytest.approx(0.02, rel=0.1)
    assert cb.std() == pytest.approx(0.01, rel=0.15) and cr.std() == pytest.approx(0.01, rel=0.15)
    # a blur of std b px leaves pixels `lag` apart correlated by exp(-lag^2 / (4 b^2))
    assert _lag_correlation(luma, 1) == pytest.approx(np.exp(-1 / 4), abs=0.05)
    assert _lag_correlation(luma, 3) == pytest.approx(np.exp(-9 / 4), abs=0.05)
    assert _lag_correlation(cb, 3) == pytest.approx(np.exp(-9 / 25), abs=0.08)
    assert abs(np.corrcoef(luma.ravel(), cb.ravel())[0, 1]) < 0.05  # the three fields are independent


def test_camera_noise_strength_follows_the_signal_when_asked():
    ramp = np.repeat(np.linspace(0, 1, 256, dtype=np.float32)[None, :, None], 256, axis=0).repeat(3, axis=2)
    for slope, shadows_noisier in ((-0.8, True), (0.8, False)):
        noise = dg.camera_noise(ramp, 0.02, slope=slope, clip=False, rng=1) - ramp
        shadows, highlights = noise[:, :64].std(), noise[:, -64:].std()
        assert (shadows > 1.3 * highlights) if shadows_noisier else (highlights > 1.3 * shadows)
    flat_noise = dg.camera_noise(ramp, 0.02, slope=0.0, clip=False, rng=1) - ramp
    assert flat_noise[:, :64].std() == pytest.approx(flat_noise[:, -64:].std(), rel=0.1)


def test_camera_noise_is_seeded_clipped_and_keeps_grey_shapes():
    x = flat(0.98, 32, 48)
    y = dg.camera_noise(x, 0.1, rng=4)
    assert np.array_equal(y, dg.camera_noise(x, 0.1, rng=4)) and y.max() <= 1.0
    assert dg.camera_noise(x[..., 0], 0.1, rng=0).shape == (32, 48)
    assert dg.camera_noise(x[..., :1], 0.1, rng=0).shape == (32, 48, 1)
    with pytest.raises(ValueError, match="camera_noise"):
        dg.camera_noise(x, -0.1)


def test_random_mix_draws_camera_like_noise_only_when_asked():
    x = tinted(0.5, 64, 64)
    white_only = dg.MixConfig(p_clean=0, p_dark=0, p_lowlight=0, noise_weights=(1, 0, 0, 0, 0))
    camera = dg.MixConfig(p_clean=0, p_dark=0, p_lowlight=0, noise_weights=(1, 0, 0, 0, 0), p_correlated=1.0)
    white = [_lag1_correlation((dg.random_mix(x, s, white_only) - x)[..., 0]) for s in range(10)]
    correlated = [_lag1_correlation((dg.random_mix(x, s, camera) - x)[..., 0]) for s in range(10)]
    assert max(abs(c) for c in white) < 0.1
    assert np.median(correlated) > 0.3  # blurs of 0.3-1.5 px: the narrowest are nearly white
    # p_correlated = 0 and p_camera = 0 draw nothing extra: an old recipe's pairs are unchanged
    assert np.array_equal(
        dg.random_mix(x, 7, white_only),
        dg.random_mix(
            x,
            7,
            dg.MixConfig(
                p_clean=0, p_dark=0, p_lowlight=0, noise_weights=(1, 0, 0, 0, 0), p_correlated=0.0, p_camera=0.0
            ),
        ),
    )
    blotchy = dg.MixConfig(p_clean=0, p_dark=0, p_lowlight=0, noise_weights=(1, 0, 0, 0, 0), p_camera=1.0)
    chroma_lag3 = []
    for s in range(10):
        cb = ((dg.random_mix(x, s, blotchy) - x) @ _RGB_TO_YCBCR.T)[..., 1]
        chroma_lag3.append(_lag_correlation(cb, 3))
    assert np.median(chroma_lag3) > 0.3  # chroma blurs of 1-3 px


def test_low_key_dim_scenes_darken_mid_tones_and_keep_highlights():
    ramp = np.linspace(0, 1, 256, dtype=np.float32)[None, :, None].repeat(3, axis=2)
    config = dg.MixConfig(p_dim=1.0, dim_factor=(1.0, 1.0), dim_gamma=(1.5, 2.0))
    for seed in range(5):
        y = dg.dim_scene(ramp, np.random.default_rng(seed), config)
        assert y[0, -1, 0] == pytest.approx(1.0)  # the highlight stays
        assert 0.5**2.0 <= y[0, 128, 0] <= 0.51**1.5  # mid-grey (128/255) sinks to x ** gamma
    # the default gamma range (1, 1) draws nothing extra: older recipes make the same pairs
    plain = dg.MixConfig(p_dim=1.0, dim_factor=(0.5, 0.8))
    a = dg.dim_scene(ramp, np.random.default_rng(1), plain)
    b = np.random.default_rng(1)
    b.random()
    np.testing.assert_array_equal(a, ramp * np.float32(b.uniform(0.5, 0.8)))


def test_dim_scenes_can_be_kept_above_a_highlight_level():
    from darkroom.exposure import highlight_level

    photo = np.linspace(0, 0.8, 64, dtype=np.float32)[None, :, None].repeat(64, 0).repeat(3, 2)  # highlights 0.79
    config = dg.MixConfig(p_dim=1.0, dim_factor=(0.3, 0.5), dim_gamma=(1.5, 2.0), dim_min_highlight=0.5)
    free = dg.MixConfig(p_dim=1.0, dim_factor=(0.3, 0.5), dim_gamma=(1.5, 2.0))
    for seed in range(5):
        held = dg.dim_scene(photo, np.random.default_rng(seed), config)
        assert highlight_level(held) == pytest.approx(0.5, abs=1e-3)  # raised to the floor, no further
        loose = dg.dim_scene(photo, np.random.default_rng(seed), free)
        assert highlight_level(loose) < 0.45  # the same draw without the floor sinks below it
        np.testing.assert_allclose(held / held.max(), loose / loose.max(), atol=1e-5)  # same curve, new factor
    # the factor is never raised above 1: a photo too dark for the floor keeps its tone curve only
    dark = photo * np.float32(0.5)
    y = dg.dim_scene(dark, np.random.default_rng(1), config)
    assert highlight_level(y) < 0.5
    assert y.max() <= dark.max() + 1e-6


def test_dim_scenes_can_be_kept_above_a_median():
    photo = np.linspace(0, 0.8, 64, dtype=np.float32)[None, :, None].repeat(64, 0).repeat(3, 2)  # median 0.4
    config = dg.MixConfig(p_dim=1.0, dim_factor=(0.2, 0.35), dim_gamma=(1.5, 2.0), dim_min_median=0.12)
    free = dg.MixConfig(p_dim=1.0, dim_factor=(0.2, 0.35), dim_gamma=(1.5, 2.0))
    for seed in range(5):
        held = dg.dim_scene(photo, np.random.default_rng(seed), config)
        assert np.median(held @ np.float32([0.299, 0.587, 0.114])) == pytest.approx(0.12, abs=2e-3)
        loose = dg.dim_scene(photo, np.random.default_rng(seed), free)
        assert np.median(loose @ np.float32([0.299, 0.587, 0.114])) < 0.1  # the same draw sinks below it
        np.testing.assert_allclose(held / held.max(), loose / loose.max(), atol=1e-5)  # same curve, new factor
    grey = dg.dim_scene(photo[:, :, :1], np.random.default_rng(0), config)  # one channel: its own luminance
    assert np.median(grey) == pytest.approx(0.12, abs=2e-3)


def _lamp_scene() -> np.ndarray:
    """A mid-grey photo (0.4) with one bright lamp (0.95, 8x8 pixels) in its middle."""
    x = np.full((64, 64, 3), 0.4, np.float32)
    x[28:36, 28:36] = 0.95
    return x


def test_night_keeps_the_lights_and_darkens_the_rest():
    from darkroom.exposure import highlight_level

    x = _lamp_scene()
    y = dg.night(x, 0.1, lights=0.02, glow=1.0)
    np.testing.assert_allclose(y[30:34, 30:34], 0.95, atol=1e-6)  # the lamp is kept as it is
    np.testing.assert_allclose(y[:8, :8], 0.04, atol=1e-6)  # far from it: 0.1 x
    assert 0.04 < y[27, 31, 0] < 0.95  # its glow lights the pixels beside it
    assert highlight_level(y) > 0.9  # a photo darkened as a whole would have lost this
    assert y.dtype == np.float32 and np.array_equal(x, _lamp_scene())  # the input is untouched
    # nothing at 0.5 or above: the photo is darkened as a whole, whatever fraction is asked for
    np.testing.assert_allclose(dg.night(x * 0.5, 0.1, lights=0.05), dg.darken(x * 0.5, 0.1), atol=1e-7)
    with pytest.raises(ValueError, match="H, W, 3"):
        dg.night(x[..., 0], 0.1)


def test_random_mix_draws_night_scenes_only_when_asked():
    x = _lamp_scene()
    x[..., 2] -= 0.01  # a colour photo: a grey one is degraded as one channel, and night scenes need RGB
    quiet = dict(p_clean=0, p_lowlight=0, noise_weights=(0, 0, 0, 0, 1))
    nights = [dg.random_mix(x, s, dg.MixConfig(p_night=1.0, p_dark=0, **quiet)) for s in range(5)]
    for y in nights:
        assert y[31, 31, 0] == pytest.approx(0.95) and y[0, 0, 0] <= 0.2 * 0.4 + 1e-6
    grey = x[..., :1]  # night scenes are made from RGB photos only: a grey one passes through
    assert np.array_equal(dg.random_mix(grey, 0, dg.MixConfig(p_night=1.0, p_dark=0, **quiet)), grey)
    # p_night = 0 draws nothing extra: an older recipe's pairs are unchanged
    old, new = dg.MixConfig(p_dark=0.5, **quiet), dg.MixConfig(p_dark=0.5, p_night=0, **quiet)
    for s in range(5):
        assert np.array_equal(dg.random_mix(x, s, old), dg.random_mix(x, s, new))


def test_random_mix_crushes_shadows_and_keeps_highlights_only_when_asked():
    ramp = np.linspace(0, 1, 256, dtype=np.float32)[None, :, None].repeat(8, 0).repeat(3, 2)
    quiet = dict(p_clean=0, p_lowlight=0, noise_weights=(0, 0, 0, 0, 1))
    for s in range(5):
        y = dg.random_mix(ramp, s, dg.MixConfig(p_crush=1.0, p_dark=0, **quiet))
        assert y[0, -1, 0] >= 0.7 - 1e-6  # the highlight stays bright...
        assert y[0, 102, 0] <= 0.4**2.5 + 1e-6  # ...and a mid-tone of 0.4 sinks to 0.1 or below
    old, new = dg.MixConfig(p_dark=0.5, **quiet), dg.MixConfig(p_dark=0.5, p_crush=0, **quiet)
    for s in range(5):  # p_crush = 0 draws nothing extra: an older recipe's pairs are unchanged
        assert np.array_equal(dg.random_mix(ramp, s, old), dg.random_mix(ramp, s, new))


def test_crushed_shadows_can_be_kept_below_a_median():
    """A bright photo crushed by x ** 2.5 can come out looking well exposed; held below 0.12 it is a dark one."""
    bright = np.linspace(0.5, 1, 256, dtype=np.float32)[None, :, None].repeat(8, 0).repeat(3, 2)  # median 0.75
    quiet = dict(p_clean=0, p_lowlight=0, p_dark=0, p_crush=1.0, noise_weights=(0, 0, 0, 0, 1))
    for s in range(5):
        free = dg.random_mix(bright, s, dg.MixConfig(**quiet))
        held = dg.random_mix(bright, s, dg.MixConfig(crush_max_median=0.12, **quiet))
        assert np.median(free[..., 0]) > 0.12  # crushed, yet brighter than the line
        assert np.median(held[..., 0]) == pytest.approx(0.12, abs=1e-3)
        np.testing.assert_allclose(held / held.max(), free / free.max(), atol=1e-5)  # the same curve, scaled


def _upper_quartile(x: np.ndarray) -> float:
    return float(np.quantile(x, 0.75))


@pytest.mark.parametrize(
    "bound, value, statistic",
    [("crush_max_mean", 0.2, np.mean), ("crush_max_upper", 0.25, _upper_quartile)],
)
def test_crushed_shadows_can_be_held_below_a_second_bound(bound, value, statistic):
    """A photo 40% bright snow, 60% black forest: median low, mean and upper quartile not.  Crushed, it
    still looks well exposed; held below a mean of 0.2 it looks darkened, and held at an upper quartile
    of 0.25 it is dark in three quarters of it, as the night photos crushed pairs stand for are."""
    snow = np.zeros((30, 30, 3), np.float32)
    snow[:12] = 0.95
    snow[12:] = 0.03
    quiet = dict(p_clean=0, p_lowlight=0, p_dark=0, p_crush=1.0, noise_weights=(0, 0, 0, 0, 1))
    for s in range(5):
        free = dg.random_mix(snow, s, dg.MixConfig(crush_max_median=0.12, **quiet))
        held = dg.random_mix(snow, s, dg.MixConfig(crush_max_median=0.12, **{bound: value}, **quiet))
        assert np.median(free[..., 0]) < 0.12 and statistic(free[..., 0]) > value  # the median bound lets it through
        assert statistic(held[..., 0]) == pytest.approx(value, abs=1e-3)
        np.testing.assert_allclose(held / held.max(), free / free.max(), atol=1e-5)  # the same curve, scaled
        assert np.array_equal(free, dg.random_mix(snow, s, dg.MixConfig(crush_max_median=0.12, **{bound: 0}, **quiet)))


def test_low_key_blackens_shadows_and_keeps_a_bright_quarter():
    ramp = np.linspace(0, 1, 201, dtype=np.float32)[None, :, None].repeat(4, 0).repeat(3, 2)  # median 0.5
    for median in (0.02, 0.05, 0.1):
        y = dg.low_key(ramp, median, min_upper=0.3)
        lum = y[..., 0]
        assert np.quantile(lum, 0.75) >= 0.3 - 1e-3  # a well-exposed quarter is left
        assert np.median(lum) == pytest.approx(median, abs=0.01)
        assert y.min() == 0 and y.max() == pytest.approx(1)  # black shadows, highlights kept
        assert np.all(np.diff(lum[0]) >= 0)  # a tone curve: order kept
    # the black point stops where the upper quartile would fall below min_upper
    y = dg.low_key(ramp, 0.02, min_upper=0.6)
    assert np.quantile(y[..., 0], 0.75) == pytest.approx(0.6, abs=1e-2)
    dark = ramp * 0.2  # already dark: nothing to lower
    np.testing.assert_array_equal(dg.low_key(dark, 0.05, min_upper=0.3), dark)


def test_low_key_scenes_are_drawn_only_when_asked():
    photo = np.linspace(0, 1, 256, dtype=np.float32)[None, :, None].repeat(8, 0).repeat(3, 2)
    on = dg.MixConfig(p_dim=0.3, p_low_key=1.0)
    for s in range(3):
        scene = dg.dim_scene(photo, np.random.default_rng(s), on)
        assert np.median(scene[..., 0]) < 0.125 and np.quantile(scene[..., 0], 0.75) >= 0.3 - 1e-3
    for s in range(5):  # p_low_key = 0 draws nothing: an older recipe's scenes and random stream are unchanged
        rng = np.random.default_rng(s)
        before = rng.bit_generator.state
        assert dg.dim_scene(photo, rng, dg.MixConfig(p_dim=0, p_low_key=0)) is photo
        assert rng.bit_generator.state == before


def test_low_key_keeps_a_highlight_level_when_asked():
    """A photo 70% at 0.5 and 30% at 0.6: a black point of 0.49 takes its highlights to 0.22, the level of
    a darkened photo; held at a highlight level of 0.42 the black point stops at 0.31."""
    photo = np.full((40, 40, 3), 0.5, np.float32)
    photo[:12] = 0.6
    free = dg.low_key(photo, 0.02, min_upper=0.1)
    held = dg.low_key(photo, 0.02, min_upper=0.1, min_highlight=0.42)
    assert dg.highlight_level(free) < 0.42 <= dg.highlight_level(held) + 0.01
    assert np.median(held[..., 0]) > np.median(free[..., 0])


def _photo(h: int = 48, w: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


def test_is_grey_tells_black_and_white_photos_from_colour_ones():
    colour = _photo()
    grey = np.repeat(colour[..., :1], 3, axis=-1)
    assert dg.is_grey(grey) and not dg.is_grey(colour) and not dg.is_grey(colour[..., :1])


@pytest.mark.parametrize("name", ["gauss25", "grain25", "lowlight", "sp20", "dark-sp", "poisson30", "speckle10"])
def test_grey_photos_get_grey_noise_as_the_published_grey_benchmarks_add_it(name):
    grey = np.repeat(_photo()[..., :1], 3, axis=-1)
    y = dg.apply_preset(grey, name, rng=3)
    assert y.shape == grey.shape and dg.is_grey(y)
    if name != "grain25":  # the same draw as degrading the one channel
        assert np.array_equal(y[..., 0], dg.apply_preset(grey[..., :1], name, rng=3)[..., 0])


def test_grain25_is_one_noise_field_for_all_channels():
    x = flat(0.5)
    noise = dg.apply_preset(x, "grain25", rng=2) - x
    assert abs(noise.std() * 255 - 25) < 0.5
    assert np.abs(noise[..., 0] - noise[..., 1]).max() < 1e-6 and np.abs(noise[..., 1] - noise[..., 2]).max() < 1e-6
    assert abs(_lag1_correlation(noise[..., 0])) < 0.05  # white across pixels


def test_random_mix_shares_white_noise_across_channels_only_when_asked():
    x = tinted(0.5, 64, 64)
    base = dict(p_clean=0, p_dark=0, p_lowlight=0, noise_weights=(1, 0, 0, 0, 0))
    per_channel = dg.MixConfig(**base)
    shared = dg.MixConfig(**base, p_shared=1.0, shared_range=(1.0, 1.0))
    for s in range(5):
        own = dg.random_mix(x, s, per_channel) - x
        y = dg.random_mix(x, s, shared)
        assert abs(np.corrcoef(own[..., 0].ravel(), own[..., 1].ravel())[0, 1]) < 0.1 or own.std() < 1e-3
        inside = ((y > 0) & (y < 1)).all(axis=-1)  # half the draws are clipped, as a camera's output is
        assert np.abs((y - x)[..., 0] - (y - x)[..., 2])[inside].max() < 1e-6
    # p_shared = 0 draws nothing: an older recipe's pairs are unchanged
    assert np.array_equal(dg.random_mix(x, 7, per_channel), dg.random_mix(x, 7, dg.MixConfig(**base, p_shared=0.0)))


def test_grey_scenes_stay_grey_through_every_degradation_of_the_mix():
    config = dg.MixConfig(
        p_grey=1.0, p_dim=0.3, p_low_key=0.1, p_night=0.2, p_crush=0.1, p_correlated=0.3, p_camera=0.5
    )
    photo = _photo(40, 40, seed=1)
    for s in range(60):
        rng = np.random.default_rng(s)
        scene = dg.dim_scene(photo, rng, config)
        assert dg.is_grey(scene)
        degraded = dg.random_mix(scene, rng, config)
        assert degraded.shape == photo.shape and dg.is_grey(degraded) and np.isfinite(degraded).all()
    rng = np.random.default_rng(0)  # p_grey = 0 draws nothing
    before = rng.bit_generator.state
    assert dg.dim_scene(photo, rng, dg.MixConfig(p_grey=0.0)) is photo and rng.bit_generator.state == before


def test_jpeg_keeps_the_photo_and_loses_fine_colour_first(photo):
    """JPEG with 4:2:0 chroma keeps a photo close and takes more of its colour noise than of its brightness noise."""
    noisy = dg.gaussian(photo, 25 / 255, clip=True, rng=0)
    saved = dg.jpeg(noisy, 85)
    assert saved.shape == noisy.shape and saved.dtype == np.float32
    assert np.abs(saved - noisy).mean() < 0.1
    assert np.array_equal(saved, dg.jpeg(noisy, 85))

    def residual_std_along(axis: np.ndarray, img: np.ndarray) -> float:
        return float(((img - photo) @ axis).std())

    bright, colour = np.ones(3) / np.sqrt(3), np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    kept_bright = residual_std_along(bright, saved) / residual_std_along(bright, noisy)
    kept_colour = residual_std_along(colour, saved) / residual_std_along(colour, noisy)
    assert kept_colour < kept_bright
    grey = dg.jpeg(photo[..., :1], 90)
    assert grey.shape == photo[..., :1].shape
    with pytest.raises(ValueError, match="quality"):
        dg.jpeg(photo, 0)


def test_random_mix_saves_noisy_photos_as_jpeg_only_when_asked():
    x = _photo(48, 64, seed=3)
    base = dict(p_clean=0, p_dark=0, p_lowlight=0, noise_weights=(1, 0, 0, 0, 0))
    plain, saved = dg.MixConfig(**base), dg.MixConfig(**base, p_jpeg=1.0, jpeg_quality=(70, 70))
    for s in range(3):
        # the same noise, then JPEG at quality 70: a JPEG file's own values
        assert np.array_equal(dg.random_mix(x, s, saved), dg.jpeg(dg.random_mix(x, s, plain), 70))
    clean = dg.MixConfig(p_clean=1.0, p_jpeg=1.0)
    assert np.array_equal(dg.random_mix(x, 0, clean), x)  # a clean pair stays clean
    grey = np.repeat(x[..., :1], 3, axis=-1)
    assert dg.is_grey(dg.random_mix(grey, 1, saved))
    # p_jpeg = 0 draws nothing: an older recipe's pairs are unchanged
    assert np.array_equal(dg.random_mix(x, 7, plain), dg.random_mix(x, 7, dg.MixConfig(**base, p_jpeg=0.0)))


def test_low_key_bends_shadows_down_to_the_median_only_when_asked_and_keeps_the_bright_quarter():
    photo = np.repeat(np.linspace(0, 1, 101, dtype=np.float32)[None, :, None], 3, axis=2).repeat(8, axis=0)
    flat = dg.low_key(photo, 0.05, min_upper=0.6)  # the upper-quartile floor stops the black point first
    deep = dg.low_key(photo, 0.05, min_upper=0.6, max_shadow_gamma=4.0)
    lum = lambda y: y[0, :, 0]  # noqa: E731 (grey: every channel is the luminance)

    assert np.median(lum(flat)) > 0.15 and abs(np.median(lum(deep)) - 0.05) < 0.01
    upper = np.quantile(lum(flat), 0.75)
    assert np.quantile(lum(deep), 0.75) == pytest.approx(upper, abs=1e-3)
    bright = lum(flat) >= upper + 1e-3
    np.testing.assert_array_equal(lum(deep)[bright], lum(flat)[bright])
    assert np.all(np.diff(lum(deep)) >= 0)  # still in order of brightness
    shadows = lum(deep)[(lum(flat) > 0) & (lum(flat) < upper)]
    assert shadows.min() > 0 and np.all(np.diff(shadows) > 0)  # near black, not clipped: texture stays
    gentle = dg.low_key(photo, 0.05, min_upper=0.6, max_shadow_gamma=1.5)  # the bend is capped
    assert np.median(lum(gentle)) > 0.1
    np.testing.assert_array_equal(dg.low_key(photo, 0.05, min_upper=0.6, max_shadow_gamma=1.0), flat)


def test_low_key_scenes_get_only_light_noise_when_asked_and_other_photos_are_unchanged():
    ramp = np.repeat(np.linspace(0, 1, 96, dtype=np.float32)[None, :, None], 3, axis=2).repeat(64, axis=0)
    scene = dg.low_key(ramp, 0.05, min_upper=0.35, max_shadow_gamma=4.0)  # dark half, bright quarter
    plain = dg.MixConfig(p_clean=0.0, p_dark=0.9, p_lowlight=0.3, p_camera=0.5)
    light = dg.MixConfig(p_clean=0.0, p_dark=0.9, p_lowlight=0.3, p_camera=0.5, low_key_light_noise=8 / 255)
    darkened = 0
    for seed in range(40):
        y = dg.random_mix(scene, seed, light)
        assert abs(float(y.mean() - scene.mean())) < 2 / 255  # never darkened
        assert float(np.std(y - scene)) < 9 / 255  # noise of std at most 8/255 (clipped at black)
        assert np.all((y >= 0) & (y <= 1))
        darkened += float(dg.random_mix(scene, seed, plain).mean()) < float(scene.mean()) - 0.05
    assert darkened > 10  # without it the same scene is darkened most of the time
    photo = _photo(seed=3)  # not low-key: the same pairs, the same random stream
    for seed in range(5):
        np.testing.assert_array_equal(dg.random_mix(photo, seed, light), dg.random_mix(photo, seed, plain))


def test_the_mix_gives_the_clean_photo_at_the_exposure_it_drew():
    """``random_mix_with_exposure``: the same degraded pixels as ``random_mix``, and the keep answer: the
    clean photo as dark as the draw made it, without its noise."""
    x = np.random.default_rng(3).random((48, 64, 3), dtype=np.float32)
    dark = dg.MixConfig(p_clean=0.0, p_lowlight=0.0, p_dark=1.0, dark_factor=(0.2, 0.3), dark_gamma=(1.0, 1.0))
    lowlight = dg.MixConfig(p_clean=0.0, p_lowlight=1.0, lowlight_exposure=(0.05, 0.05), lowlight_photons=(1e4, 1e4))
    for seed in range(8):
        y, exposed = dg.random_mix_with_exposure(x, seed, dark)
        np.testing.assert_array_equal(y, dg.random_mix(x, seed, dark))
        ratio = exposed / np.maximum(x, 1e-6)
        assert 0.2 - 1e-4 <= ratio[x > 0.05].min() and ratio.max() <= 0.3 + 1e-4  # darkened by one factor
        assert np.ptp(ratio[x > 0.05]) < 1e-4
        assert np.abs(y - exposed).mean() > 0 or np.array_equal(y, exposed)  # noise, or the "none" draw
        y, exposed = dg.random_mix_with_exposure(x, seed, lowlight)
        assert abs(float(exposed.mean()) - float(y.mean())) < 0.02  # the noisy short exposure, denoised
        assert float(exposed.mean()) < 0.5 * float(x.mean())
    clean = dg.MixConfig(p_clean=1.0)
    y, exposed = dg.random_mix_with_exposure(x, 0, clean)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(exposed, x)
    grey = np.repeat(x[..., :1], 3, axis=-1)
    y, exposed = dg.random_mix_with_exposure(grey, 1, dark)
    assert dg.is_grey(exposed) and exposed.shape == grey.shape
