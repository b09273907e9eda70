import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from darkroom.losses import charbonnier, get_loss, ms_ssim, msssim_l1, msssim_weights, psnr_loss, ssim_loss
from darkroom.metrics import psnr


def test_charbonnier_reference_value():
    out, target = torch.zeros(1, 1, 2, 2), torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])
    expected = (2 * np.sqrt(1e-6) + 2 * np.sqrt(1 + 1e-6)) / 4
    assert float(charbonnier(out, target)) == pytest.approx(expected, rel=1e-6)


def test_ssim_loss_matches_scikit_image():
    rng = np.random.default_rng(0)
    a = rng.random((48, 48)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    t = lambda x: torch.from_numpy(x)[None, None]  # noqa: E731
    assert 1 - float(ssim_loss(t(a), t(b))) == pytest.approx(ref, abs=2e-3)


def test_msssim_l1_is_zero_for_identical_and_positive_otherwise():
    x = torch.rand(2, 3, 128, 128)
    assert float(msssim_l1(x, x)) == pytest.approx(0, abs=1e-5)
    assert float(msssim_l1(x * 0.5, x)) > 0.05


def test_msssim_scales_shrink_for_small_images():
    assert len(msssim_weights(256, 256)) == 5
    assert len(msssim_weights(96, 96, win_size=7)) == 4
    assert sum(msssim_weights(40, 40)) == pytest.approx(1)
    x = torch.rand(1, 3, 40, 40)
    assert float(ms_ssim(x, x)) == pytest.approx(1, abs=1e-5)


def test_losses_by_name():
    for name in ("mse", "l1", "charbonnier", "ssim", "msssim_l1"):
        x = torch.rand(1, 3, 64, 64, requires_grad=True)
        loss = get_loss(name)(x, torch.rand(1, 3, 64, 64))
        loss.backward()
        assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss("nope")


def test_ms_ssim_matches_pytorch_msssim_at_five_scales():
    from pytorch_msssim import ms_ssim as reference

    torch.manual_seed(0)
    x = torch.rand(2, 3, 200, 200)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    assert float(ms_ssim(x, y)) == pytest.approx(float(reference(x, y, data_range=1.0)), abs=1e-4)


def test_psnr_loss_is_minus_the_mean_per_image_psnr_over_ten():
    rng = np.random.default_rng(0)
    target = rng.random((3, 784)).astype(np.float32)
    output = np.clip(target + rng.normal(0, [[0.01], [0.1], [0.3]], target.shape), 0, 1).astype(np.float32)
    expected = -np.mean([psnr(o, t) for o, t in zip(output, target)]) / 10
    assert float(psnr_loss(torch.from_numpy(output), torch.from_numpy(target))) == pytest.approx(expected, rel=1e-4)
    assert get_loss("psnr") is psnr_loss
