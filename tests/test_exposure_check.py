"""benchmarks/exposure_check.py: the photo that lost most is named, so one flipped photo shows."""

from conftest import load_benchmark


def report_of(per_model: dict[str, list[float]], check) -> dict:
    """A report in the script's shape where every case has the same per-photo scores."""
    names = ["a.jpg", "b.jpg", "c.jpg"]
    return {
        "photos": names,
        "models": {
            m: {case: {"per_photo": dict(zip(names, scores))} for case in check.CASES}
            for m, scores in per_model.items()
        },
    }


def test_the_photo_with_the_largest_drop_is_named_not_the_lowest_score():
    check = load_benchmark("exposure_check")
    # b.jpg has the lowest score in both, but c.jpg fell most (40 -> 30): that is the flip to show
    lines = check.lost_most(report_of({"old": [35.0, 20.0, 40.0], "new": [36.0, 19.0, 30.0]}, check))
    row = next(line for line in lines if line.startswith("| new |"))
    assert row.count("c.jpg: 40.00 -> 30.00") == len(check.CASES)


def test_one_model_has_nothing_to_lose_against():
    check = load_benchmark("exposure_check")
    assert check.lost_most(report_of({"old": [35.0, 20.0, 40.0]}, check)) == []


def test_low_key_dim_keeps_only_the_photos_that_are_dim_not_dark():
    import numpy as np

    check = load_benchmark("exposure_check")
    bright, dark = np.full((16, 16, 3), 0.8, np.float32), np.full((16, 16, 3), 0.2, np.float32)
    # low-key makes 0.9 x ** 1.8 plus noise: 0.8 -> 0.60 (dim), 0.2 -> 0.05 (dark, below 0.12)
    cases = check.make_cases(["bright", "dark"], [bright, dark], dark_median=0.12)
    assert [name for name, *_ in cases["low-key-dim"]] == ["bright"]
    assert [name for name, *_ in cases["low-key"]] == ["bright", "dark"]
    assert [name for name, *_ in cases["low-key-keep"]] == ["bright", "dark"]


def test_deep_low_key_photos_are_clean_their_own_reference_and_scored_twice():
    import numpy as np

    check = load_benchmark("exposure_check")
    ramp = np.repeat(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], 3, axis=2).repeat(64, axis=0)
    cases = check.make_cases(["ramp"], [ramp], dark_median=0.12)
    ((name, inp, ref),) = cases["deep-low-key"]
    assert inp is ref  # clean: the photo is to be left as it is
    assert abs(check.median_luminance(ref) - 0.05) < 0.01  # near black below a well-exposed quarter
    assert np.quantile(ref.mean(axis=-1), 0.75) >= 0.35
    assert cases["deep-low-key-keep"] == cases["deep-low-key"] and "deep-low-key-keep" in check.KEEP


def test_a_kept_dark_photo_is_scored_against_itself_darkened_without_noise():
    import numpy as np

    check = load_benchmark("exposure_check")
    photo = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    cases = check.make_cases(["p"], [photo], dark_median=0.12)
    ((_, brightened_in, brightened_ref),) = cases["dark-0.35"]
    ((_, kept_in, kept_ref),) = cases["dark-0.35-keep"]
    assert kept_in is brightened_in and brightened_ref is photo  # the same noisy input, two answers
    np.testing.assert_allclose(kept_ref, 0.35 * photo, atol=1e-6)
    assert "dark-0.35-keep" in check.KEEP and "dark-0.35" not in check.KEEP
