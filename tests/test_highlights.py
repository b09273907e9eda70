"""The highlight guard: bright regions brightened far more than the photo's other bright parts are
toned down; uniform and tone-curve brightening, and dark regions, are left alone."""

import numpy as np
import pytest
import torch

from conftest import graded_scene, luminance
from darkroom.engine import enhance, load_enhancer
from darkroom.highlights import BLOCK, TOLERANCE, guard_highlights
from darkroom.models import get_spec


@pytest.mark.parametrize(
    "curve",
    [lambda x: np.clip(1.6 * x, 0, 1), lambda x: x**0.5, lambda x: x.copy()],
    ids=["uniform-gain", "gamma", "unchanged"],
)
def test_brightening_the_photo_as_a_whole_is_left_alone(curve):
    before = graded_scene()
    after = curve(before).astype(np.float32)
    expected = after.copy()
    out, scaled = guard_highlights(before, after)
    assert scaled == 0
    np.testing.assert_array_equal(out, expected)


def test_one_bright_region_lifted_alone_is_brought_back_to_the_photos_gain():
    before = graded_scene()
    after = before.copy()
    region = np.s_[32:64, 96:128]  # a bright part (luminance about 0.5-0.6) of an otherwise untouched photo
    after[region] = np.clip(before[region] * 1.6, 0, 1)
    out, scaled = guard_highlights(before, after.copy())
    assert scaled > 0
    inner = np.s_[32 + BLOCK : 64 - BLOCK, 96 + BLOCK : 128]
    gain = luminance(out[inner]).mean() / luminance(before[inner]).mean()
    assert gain <= TOLERANCE + 0.01
    assert luminance(after[inner]).mean() / luminance(before[inner]).mean() > 1.5
    far = np.s_[:, : 96 - BLOCK]  # the interpolated correction reaches at most one block beyond the region
    np.testing.assert_array_equal(out[far], after[far])
    assert out.min() >= 0 and out.max() <= 1


def _night_curve(x: np.ndarray) -> np.ndarray:
    """A steep tone curve, as a night photo is brightened: lum 0.05 gains 4.6x, 0.6 gains 1.4x."""
    return np.clip(x**0.35, 0, 1).astype(np.float32)


def test_a_steep_tone_curve_is_left_alone():
    """Its darker bright blocks gain far more than the median of the bright blocks, as a tone curve's
    do; capping them at the median drew dark rings round the lamps of night photos."""
    before = graded_scene(low=0.02, high=0.7)
    after = _night_curve(before)
    expected = after.copy()
    out, scaled = guard_highlights(before, after)
    assert scaled == 0
    np.testing.assert_array_equal(out, expected)


def test_a_region_lifted_alone_is_still_caught_on_top_of_a_tone_curve():
    before = graded_scene(low=0.01, high=0.25)
    after = _night_curve(before)
    region = np.s_[32:64, 96:120]  # bright columns (luminance 0.19-0.23), lifted 1.6x more than the curve lifts them
    after[region] = np.clip(after[region] * 1.6, 0, 1)
    out, scaled = guard_highlights(before, after.copy())
    assert scaled > 0
    inner = np.s_[32 + BLOCK : 64 - BLOCK, 96 + BLOCK : 120 - BLOCK]
    curve = luminance(_night_curve(before)[inner]).mean()
    assert luminance(after[inner]).mean() > 1.5 * curve
    assert luminance(out[inner]).mean() < 1.35 * curve  # held near the bright blocks' median gain


def test_dark_regions_may_be_lifted_freely():
    before = graded_scene()
    after = before.copy()
    after[:, :16] = np.clip(before[:, :16] * 4, 0, 1)  # the darkest columns (luminance about 0.05-0.12)
    expected = after.copy()
    out, scaled = guard_highlights(before, after)
    assert scaled == 0
    np.testing.assert_array_equal(out, expected)


def test_small_images_and_mismatched_shapes():
    tiny = np.full((8, 8, 3), 0.5, np.float32)
    np.testing.assert_array_equal(guard_highlights(tiny, tiny * 2)[0], tiny * 2)
    with pytest.raises(ValueError, match="differ in shape"):
        guard_highlights(tiny, np.zeros((8, 9, 3), np.float32))


class _LiftsOneCorner(torch.nn.Module):
    """Leaves a photo alone except the top quarter of its right half, brightened 1.6x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        h, w = x.shape[-2:]
        out[..., : h // 4, w // 2 :] *= 1.6
        return out


def test_the_engine_guards_when_asked_and_the_flagship_asks():
    photo = graded_scene(1)
    lifted = enhance(photo, _LiftsOneCorner(), guard=False)
    guarded = enhance(photo, _LiftsOneCorner(), guard=True)
    corner = np.s_[: 32 - BLOCK, 64 + BLOCK :]
    assert luminance(lifted[corner]).mean() > 1.5 * luminance(photo[corner]).mean()
    assert luminance(guarded[corner]).mean() < 1.25 * luminance(photo[corner]).mean()
    assert np.array_equal(enhance(photo, _LiftsOneCorner()), lifted)  # an unregistered module: off by default
    assert get_spec("lumen").guards_highlights
    assert load_enhancer("lumen", "torch").guards_highlights
