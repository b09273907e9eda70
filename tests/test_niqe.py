import numpy as np
import pytest
from scipy.stats import gennorm

from conftest import smooth_photo
from darkroom.niqe import fit_aggd, fit_ggd, niqe


@pytest.mark.parametrize("alpha", [0.8, 1.0, 2.0])
def test_ggd_fit_recovers_the_shape_of_generalised_gaussian_samples(alpha):
    x = gennorm.rvs(alpha, size=200_000, random_state=np.random.default_rng(0))
    assert fit_ggd(x)[0] == pytest.approx(alpha, rel=0.05)


def test_aggd_fit_sees_asymmetry():
    rng = np.random.default_rng(0)
    # an AGGD puts mass on each side in proportion to that side's scale
    x = np.concatenate([-np.abs(rng.normal(0, 1, 100_000)), np.abs(rng.normal(0, 2, 200_000))])
    alpha, mean, left_var, right_var = fit_aggd(x)
    assert alpha == pytest.approx(2, rel=0.1) and right_var > 3 * left_var and mean > 0


def _textured(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = smooth_photo(288, 384, seed=seed)
    from scipy.ndimage import gaussian_filter

    texture = gaussian_filter(rng.standard_normal((288, 384)), 1.2)[:, :, None] * 0.08
    return np.clip(base + texture, 0, 1).astype(np.float32)


def test_noise_and_blur_raise_niqe():
    from scipy.ndimage import gaussian_filter

    clean = _textured()
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 0.1, clean.shape), 0, 1)
    blurred = gaussian_filter(clean, (3, 3, 0))
    assert niqe(noisy) > niqe(clean) + 2
    assert niqe(blurred) > niqe(clean)


def test_too_small_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 96x96"):
        niqe(np.zeros((50, 50, 3), np.float32))
