import subprocess
import sys

import numpy as np
import tifffile

from conftest import smooth_photo
from darkroom.cli import main as cli
from darkroom.io import read_image, write_image


def test_help_imports_nothing_heavy():
    code = (
        "import sys, darkroom.cli as c; c.build_parser(); print(sorted(m for m in ('torch', 'cv2', 'onnxruntime',"
        " 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    done = subprocess.run([sys.executable, "-m", "darkroom.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "enhance" in done.stdout and "evaluate" in done.stdout


def test_degrade_writes_seeded_copies_and_float_tiffs(tmp_path):
    for i in range(2):
        write_image(tmp_path / "in" / f"{i}.png", smooth_photo(30, 40, seed=i))
    assert (
        cli(["degrade", str(tmp_path / "in"), "-o", str(tmp_path / "a"), "--preset", "gauss25", "--seed", "3", "-q"])
        == 0
    )
    assert (
        cli(["degrade", str(tmp_path / "in"), "-o", str(tmp_path / "b"), "--preset", "gauss25", "--seed", "3", "-q"])
        == 0
    )
    assert np.array_equal(read_image(tmp_path / "a" / "0.png"), read_image(tmp_path / "b" / "0.png"))
    assert not np.array_equal(read_image(tmp_path / "a" / "0.png"), read_image(tmp_path / "a" / "1.png"))
    assert (
        cli(["degrade", str(tmp_path / "in"), "-o", str(tmp_path / "f"), "--preset", "gauss50", "--float", "-q"]) == 0
    )
    noisy = tifffile.imread(tmp_path / "f" / "0.tiff")
    assert noisy.dtype == np.float32 and (noisy.min() < 0 or noisy.max() > 1)


def test_unknown_preset_and_missing_input_exit_with_a_message(tmp_path, capsys):
    write_image(tmp_path / "in" / "0.png", smooth_photo(8, 8))
    assert cli(["degrade", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--preset", "bogus", "-q"]) == 1
    assert "unknown preset 'bogus'" in capsys.readouterr().out
    assert cli(["degrade", str(tmp_path / "nothing"), "-o", str(tmp_path / "o"), "--preset", "gauss15"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_models_lists_architectures(capsys):
    assert cli(["models", "-v"]) == 0
    out = capsys.readouterr().out
    for name in ("lumen", "dncnn", "dense-ae", "llcnn", "skipnet", "resnet16", "residual-cnn", "zero-dce"):
        assert name in out


def test_average_writes_a_loadable_model_with_its_sources_and_never_over_an_input(tmp_path, capsys):
    import torch

    from darkroom import checkpoint as ck
    from darkroom.models import create_model

    config = {"width": 8, "blocks": 1}
    paths = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    models = [create_model("residual-cnn", **config) for _ in paths]
    for path, model in zip(paths, models):
        ck.save_model(path, model, "residual-cnn", config)
    out = tmp_path / "soup.safetensors"
    assert cli(["average", *map(str, paths), "--weights", "3", "1", "-o", str(out)]) == 0
    soup, card = ck.load_model(out)
    assert card["card"]["averaged_from"] == [
        {"source": str(paths[0]), "weight": 0.75},
        {"source": str(paths[1]), "weight": 0.25},
    ]
    a, b = (m.state_dict() for m in models)
    assert all(torch.allclose(v, 0.75 * a[k] + 0.25 * b[k], atol=1e-7) for k, v in soup.state_dict().items())

    before = paths[0].read_bytes()
    assert cli(["average", *map(str, paths), "-o", str(paths[0])]) == 2
    assert "is one of the models to average" in capsys.readouterr().err
    assert paths[0].read_bytes() == before
    assert cli(["average", *map(str, paths), "-o", str(tmp_path / "soup.pt")]) == 2
    assert "written as NAME.safetensors" in capsys.readouterr().err
