"""exposure="keep": the model removes the noise, the photo keeps its brightness."""

import numpy as np
import pytest
import torch

from conftest import smooth_photo
from darkroom.engine import enhance
from darkroom.keep_exposure import keep_exposure
from darkroom.metrics import psnr


def lift(x: torch.Tensor) -> torch.Tensor:
    """Luminance to the power 0.4, hue and saturation kept: how a model brightens a dark photo."""
    lum = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]).clamp(min=1e-3)
    return x * lum**-0.6


class _Brightens(torch.nn.Module):
    """A stand-in for a model that judged the photo dark and brightened it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lift(x)


class _Smooths(torch.nn.Module):
    """A stand-in denoiser that also brightens: a 5x5 mean, then :func:`lift`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lift(torch.nn.functional.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False))


def dim_photo(seed: int = 0) -> np.ndarray:
    return (0.35 * smooth_photo(160, 192, seed=seed) ** 1.5).astype(np.float32)


def test_keep_brings_a_brightened_photo_back_to_its_brightness():
    photo = dim_photo()
    auto = enhance(photo, _Brightens())
    kept = enhance(photo, _Brightens(), exposure="keep")
    assert auto.mean() > 2 * photo.mean()  # the stand-in brightens a lot
    assert abs(kept.mean() - photo.mean()) < 0.02 * photo.mean()
    assert psnr(kept, photo) > 35  # and tone by tone, not only on average: dark and bright parts alike


def test_keep_leaves_the_model_s_denoising_in_place():
    photo = dim_photo(1)
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 0.02, photo.shape), 0, 1).astype(np.float32)
    kept = enhance(noisy, _Smooths(), exposure="keep")
    assert psnr(kept, photo) > psnr(noisy, photo) + 3  # cleaner than the input, at the input's brightness
    assert abs(kept.mean() - photo.mean()) < 0.05 * photo.mean()


def test_keep_changes_nothing_when_the_model_did_not_brighten():
    photo = dim_photo(2)
    out = enhance(photo, torch.nn.Identity(), exposure="keep")
    assert np.abs(out - photo).max() < 1e-5


class _BlackensShadows(torch.nn.Module):
    """A stand-in denoiser that takes the faintest shadows (below 2 of 255 levels) to black."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (x > 2 / 255)


def test_keep_leaves_black_shadows_and_their_lit_edges_alone():
    photo = dim_photo(3)
    photo[:, :64] = 0.0  # a black background...
    photo[:, 64:72] = 1 / 255  # ...a faint edge the stand-in turns black, then the lit subject
    out = enhance(photo, _BlackensShadows(), exposure="keep")
    expected = np.where(photo > 2 / 255, photo, 0)
    # black blocks have no gain to undo, so nothing beside them is blown out (the subject's darkest tones
    # move a little: the tone curve runs from the stripe, which did get darker, up to them)
    assert np.abs(out - expected).max() < 0.03
    assert np.abs(out - expected)[:, 72:].mean() < 1 / 255


def test_keep_works_on_photos_smaller_than_a_block_and_with_a_roi():
    tiny = dim_photo()[:5, :3]
    assert abs(enhance(tiny, _Brightens(), exposure="keep").mean() - tiny.mean()) < 0.01
    photo = dim_photo()
    out = enhance(photo, _Brightens(), exposure="keep", roi=(20, 30, 100, 80))
    assert np.array_equal(out[:30], photo[:30])  # outside the region: untouched
    assert abs(out[30:110, 20:120].mean() - photo[30:110, 20:120].mean()) < 0.02 * photo.mean()


def test_an_unknown_exposure_is_refused_by_name():
    with pytest.raises(ValueError, match="exposure must be one of auto, keep, got 'bright'"):
        enhance(dim_photo(), torch.nn.Identity(), exposure="bright")


def test_keep_exposure_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        keep_exposure(np.zeros((16, 16, 3), np.float32), np.zeros((16, 8, 3), np.float32))
