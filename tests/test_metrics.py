import json
import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from conftest import smooth_photo
from darkroom import metrics as mt
from darkroom.baselines import BASELINES
from darkroom.cli import main as cli
from darkroom.io import write_image


def test_psnr_hand_computed():
    a = np.zeros((4, 4, 3))
    b = np.full((4, 4, 3), 0.1)
    assert mt.psnr(b, a) == pytest.approx(20.0)
    assert mt.psnr(a, a) == math.inf
    assert mt.psnr(np.full((2, 2), 1.7), np.ones((2, 2))) == math.inf  # outputs are clipped to [0, 1]


@pytest.mark.parametrize("shape", [(64, 72, 3), (37, 50, 3), (48, 40), (33, 29, 1)])
def test_ssim_equals_scikit_image_reference(shape):
    rng = np.random.default_rng(0)
    x = smooth_photo(shape[0], shape[1])[:, :, : shape[2] if len(shape) == 3 else 1]
    x = x if len(shape) == 3 else x[:, :, 0]
    x[: shape[0] // 3] *= 0.05  # a dark, flat band as well
    y = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1)
    channel_axis = 2 if x.ndim == 3 else None
    ref = structural_similarity(
        y, x, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=channel_axis
    )
    assert abs(mt.ssim(y, x) - ref) < 1e-6


def test_gt_mean_scales_brightness_and_is_reported_beside_plain():
    x = smooth_photo(64, 64)
    dim = x * 0.5
    scores = mt.full_reference(dim, x)
    assert scores["psnr_gtmean"] > scores["psnr"] + 5
    assert mt.gt_mean_scale(dim, x).mean() == pytest.approx(x.mean(), rel=1e-3)


def test_ms_ssim_is_one_for_identical_and_none_for_tiny_images():
    x = smooth_photo(96, 96)
    assert mt.ms_ssim(x, x) == pytest.approx(1, abs=1e-5)
    assert mt.ms_ssim(x[:20, :20], x[:20, :20]) is None


def test_loe_is_zero_for_monotone_brightening_and_positive_for_inversion():
    x = smooth_photo(60, 60)
    assert mt.loe(np.sqrt(x.astype(np.float64)), x) == 0  # float64: no ties created by rounding
    assert mt.loe(1 - x, x) > 100


@pytest.mark.parametrize("name", list(BASELINES))
def test_baselines_return_float_rgb_in_range(name):
    x = smooth_photo(40, 48) * 0.3
    out = BASELINES[name](x + np.random.default_rng(0).normal(0, 0.05, x.shape).astype(np.float32))
    assert out.shape == x.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_gamma_brightens_dark_images_and_leaves_bright_ones():
    dark = smooth_photo(32, 32) * 0.2
    assert BASELINES["gamma"](dark).mean() > 0.35
    bright = smooth_photo(32, 32)
    assert np.array_equal(BASELINES["gamma"](bright), bright)


def test_median3_removes_salt_and_pepper():
    from darkroom.degrade import apply_preset

    x = smooth_photo(64, 64)
    y = apply_preset(x, "sp05", rng=0)
    assert mt.psnr(BASELINES["median3"](y), x) > mt.psnr(y, x) + 8


def test_evaluate_end_to_end_same_inputs_json_schema_and_figure(tmp_path, capsys):
    for i in range(3):
        write_image(tmp_path / "clean" / f"im{i}.png", smooth_photo(48, 64, seed=i))
    base = [
        "evaluate",
        str(tmp_path / "clean"),
        "--preset",
        "dark-gauss",
        "--method",
        "identity",
        "--method",
        "gamma+median3",
        "-q",
        "--seed",
        "4",
    ]
    assert (
        cli(
            [
                *base,
                "--json",
                str(tmp_path / "r.json"),
                "--markdown",
                str(tmp_path / "r.md"),
                "--figure",
                str(tmp_path / "r.png"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report) == {"preset", "dataset", "n", "methods"} and report["n"] == 3
    assert report["preset"] == "dark-gauss" and report["dataset"] == "clean"
    for m in report["methods"]:
        assert {
            "method",
            "psnr",
            "ssim",
            "msssim",
            "psnr_gtmean",
            "ssim_gtmean",
            "seconds_per_megapixel",
            "images",
        } <= set(m)
        assert [im["name"] for im in m["images"]] == ["im0", "im1", "im2"]
    identity = report["methods"][0]
    assert identity["psnr"] < report["methods"][1]["psnr"]
    assert cli([*base, "--json", str(tmp_path / "again.json")]) == 0
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["methods"][0]["images"] == identity["images"]  # the same degraded inputs each time
    assert "| identity |" in (tmp_path / "r.md").read_text()
    assert (tmp_path / "r.png").stat().st_size > 10_000
    capsys.readouterr()


def test_unpaired_mode_reports_no_reference_scores(tmp_path):
    write_image(tmp_path / "dark" / "a.png", smooth_photo(48, 64) * 0.2)
    assert (
        cli(
            [
                "evaluate",
                "--unpaired",
                str(tmp_path / "dark"),
                "--method",
                "gamma",
                "--json",
                str(tmp_path / "u.json"),
                "-q",
            ]
        )
        == 0
    )
    m = json.loads((tmp_path / "u.json").read_text())["methods"][0]
    assert m["brightness"] > 0.3 and m["loe"] is not None and m.get("psnr") is None


@pytest.mark.parametrize("name", list(BASELINES))
def test_baselines_keep_grey_shapes(name):
    x = smooth_photo(30, 30)[:, :, :1]
    assert BASELINES[name](x).shape == (30, 30, 1)


def test_reuse_keeps_baseline_scores_only_for_the_very_same_inputs(tmp_path, capsys):
    for i in range(2):
        write_image(tmp_path / "clean" / f"im{i}.png", smooth_photo(48, 64, seed=i))
    base = ["evaluate", str(tmp_path / "clean"), "--preset", "dark-gauss", "-q", "--method", "identity"]
    base += ["--method", "gamma+median3"]
    old = tmp_path / "old.json"
    assert cli([*base, "--json", str(old)]) == 0
    report = json.loads(old.read_text())
    report["methods"][1]["psnr"] = 99.0  # a mark that only a reused row can carry
    old.write_text(json.dumps(report))

    assert (
        cli([*base, "--reuse", str(old), "--json", str(tmp_path / "same.json"), "--figure", str(tmp_path / "f.png")])
        == 0
    )
    same = json.loads((tmp_path / "same.json").read_text())
    assert same["methods"][1]["psnr"] == 99.0 and (tmp_path / "f.png").stat().st_size > 10_000

    assert cli([*base, "--seed", "1", "--reuse", str(old), "--json", str(tmp_path / "other.json")]) == 0
    other = json.loads((tmp_path / "other.json").read_text())
    assert other["methods"][1]["psnr"] != 99.0  # other inputs: everything recomputed
    capsys.readouterr()


def test_reuse_keeps_a_model_row_only_while_its_weights_are_unchanged(tmp_path, capsys):
    import torch

    from darkroom.checkpoint import save_model
    from darkroom.models import create_model

    tiny = {"width": 8, "enc_blocks": [1], "mid_blocks": 1, "dec_blocks": [1], "unshuffle": 4}
    weights = tmp_path / "m.safetensors"
    torch.manual_seed(0)
    save_model(weights, create_model("lumen", **tiny), "lumen", tiny)
    write_image(tmp_path / "clean" / "im0.png", smooth_photo(48, 64))
    base = ["evaluate", str(tmp_path / "clean"), "--preset", "dark-gauss", "-q", "--method", "identity"]
    base += ["--method", str(weights)]
    old = tmp_path / "old.json"
    assert cli([*base, "--json", str(old)]) == 0
    report = json.loads(old.read_text())
    assert report["methods"][1]["fingerprint"]
    report["methods"][1]["psnr"] = 99.0  # a mark that only a reused row can carry
    old.write_text(json.dumps(report))

    assert cli([*base, "--reuse", str(old), "--json", str(tmp_path / "same.json")]) == 0
    assert json.loads((tmp_path / "same.json").read_text())["methods"][1]["psnr"] == 99.0

    model = create_model("lumen", **tiny)
    torch.nn.init.normal_(model.ending.weight, std=0.1)  # retrained in place
    save_model(weights, model, "lumen", tiny)
    assert cli([*base, "--reuse", str(old), "--json", str(tmp_path / "new.json")]) == 0
    assert json.loads((tmp_path / "new.json").read_text())["methods"][1]["psnr"] != 99.0
    capsys.readouterr()
