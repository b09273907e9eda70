"""The note that a low-key photo was brightened: which photos it names, and where it is shown."""

import threading

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from conftest import smooth_photo
from darkroom.advice import keep_exposure_advice, looks_low_key, shadows_lifted
from darkroom.app import create_app
from darkroom.checkpoint import save_model
from darkroom.cli import main as cli
from darkroom.degrade import PRESETS
from darkroom.io import encode_image, read_image, write_image
from darkroom.models import create_model

TINY = {"width": 8, "enc_blocks": [1, 1], "mid_blocks": 1, "dec_blocks": [1, 1], "unshuffle": 4}


def low_key_photo(h: int = 48, w: int = 64) -> np.ndarray:
    """Three fifths near black (0.03), the rest a well-exposed gradient (0.5-0.9): median 0.03, upper
    quartile above 0.5, as a portrait on a black background has."""
    x = np.full((h, w, 3), 0.03, np.float32)
    cut = int(w * 0.6)
    x[:, cut:] = np.linspace(0.5, 0.9, w - cut, dtype=np.float32)[None, :, None]
    return x


@pytest.fixture(scope="module")
def brightening_weights(tmp_path_factory):
    """A tiny lumen whose last bias lifts every pixel by about 0.1."""
    torch.manual_seed(0)
    model = create_model("lumen", **TINY)
    with torch.no_grad():
        model.ending.bias.fill_(0.1)
    return save_model(tmp_path_factory.mktemp("w") / "lumen.safetensors", model, "lumen", TINY)


def test_low_key_means_a_dark_half_beside_a_well_exposed_quarter():
    assert looks_low_key(low_key_photo())
    assert not looks_low_key(smooth_photo())  # well exposed
    assert not looks_low_key(smooth_photo() * 0.1)  # darkened as a whole: no well-exposed part
    assert not looks_low_key(low_key_photo() * 0.4)  # its bright part darkened below 0.35 too
    assert not looks_low_key(np.zeros((8, 8, 3), np.float32))


def test_photos_made_dark_by_the_presets_are_not_low_key():
    photo = read_image("src/darkroom/assets/coffee.png")
    for preset in ("lowlight", "dark-gauss", "dark-sp"):
        dark = np.clip(PRESETS[preset].fn(photo, np.random.default_rng(0)), 0, 1)
        assert not looks_low_key(dark), preset


def test_shadows_lifted_needs_a_visible_and_relative_rise():
    x = low_key_photo()
    assert shadows_lifted(x, np.clip(x + 0.05, 0, 1))
    assert not shadows_lifted(x, x + 0.01)  # under 5 of 255 levels
    bright = smooth_photo()
    assert not shadows_lifted(bright, np.clip(bright + 0.05, 0, 1))  # less than 1.5 times


def test_advice_names_the_photo_only_when_it_looks_low_key_and_was_lifted():
    x = low_key_photo()
    note = keep_exposure_advice("portrait.jpg", x, np.clip(x + 0.1, 0, 1), "--exposure keep")
    assert note is not None and "portrait.jpg" in note and "--exposure keep" in note and "0.03 -> 0.13" in note
    assert keep_exposure_advice("portrait.jpg", x, x) is None
    dark = smooth_photo() * 0.1
    assert keep_exposure_advice("dark.jpg", dark, np.clip(dark * 5, 0, 1)) is None


def test_cli_notes_a_brightened_low_key_photo_and_nothing_with_exposure_keep(brightening_weights, tmp_path, capsys):
    write_image(tmp_path / "in" / "portrait.png", low_key_photo())
    write_image(tmp_path / "in" / "street.png", smooth_photo(48, 64))
    args = ["enhance", str(tmp_path / "in"), "--model", str(brightening_weights), "--quiet", "--backend", "torch"]
    assert cli([*args, "-o", str(tmp_path / "auto")]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "portrait.png" in notes[0] and "--exposure keep" in notes[0]
    assert cli([*args, "-o", str(tmp_path / "keep"), "--exposure", "keep"]) == 0
    assert "note:" not in capsys.readouterr().out


def test_web_job_reports_the_advice(brightening_weights):
    client = TestClient(create_app(weights_dir=brightening_weights.parent))

    def advice(photo: np.ndarray, **form: str) -> str | None:
        files = {"file": ("p.png", encode_image(photo, ".png"))}
        job = client.post("/api/jobs", files=files, data=form).json()
        for _ in range(200):
            status = client.get(f"/api/jobs/{job['id']}").json()
            if status["status"] == "done":
                return status["advice"]
            threading.Event().wait(0.05)
        raise AssertionError(f"job did not finish: {status}")

    assert "p.png" in advice(low_key_photo()) and "keep as it is" in advice(low_key_photo())
    assert advice(low_key_photo(), exposure="keep") is None
    assert advice(smooth_photo(48, 64)) is None


def test_advice_check_reads_every_group_from_a_made_up_tree(tmp_path):
    from conftest import load_benchmark

    check = load_benchmark("advice_check")
    for folder in ("eval/cbsd68", "eval/kodak24", "eval/lowlight-sci/easy", "eval/realnoise-cc/noisy"):
        write_image(tmp_path / folder / "a.png", smooth_photo(24, 32))
    write_image(tmp_path / "eval/cbsd68/portrait.png", low_key_photo(24, 32))
    for i in range(18):
        write_image(tmp_path / "train" / f"{i:02d}.png", smooth_photo(24, 32, seed=i))
    groups = check.groups(tmp_path / "eval", tmp_path / "train")
    assert set(groups) == {
        *(f"{s}:{p}" for s in check.SETS for p in check.PRESETS),
        "lowlight-sci",
        "realnoise-cc/noisy",
        "bsds400:deep-low-key",
    }
    assert [n for n, _ in groups["cbsd68:identity"]] == ["a", "portrait"]
    assert [n for n, x in groups["cbsd68:identity"] if looks_low_key(x)] == ["portrait"]
    assert [n for n, _ in groups["lowlight-sci"]] == ["easy/a.png"]
    assert len(groups["bsds400:deep-low-key"]) == 16  # the last 16: the photos the lumen recipes hold out
    assert groups["kodak24:lowlight"][0][1].mean() < 0.5 * groups["kodak24:identity"][0][1].mean()
