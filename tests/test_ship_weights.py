"""benchmarks/ship_weights.py: the card of a soup whose ingredients are a run and weights shipped before,
and of a run trained on from shipped weights."""

import json

from conftest import load_benchmark
from darkroom import checkpoint as ck
from darkroom.train import train
from test_train import images as images  # noqa: F401  (the fixture, used by name)
from test_train import tiny


def test_a_soup_of_shipped_weights_and_a_run_carries_both_accounts(images, tmp_path, monkeypatch):
    ship = load_benchmark("ship_weights")
    monkeypatch.setattr(ship, "WEIGHTS_DIR", tmp_path / "weights")
    (tmp_path / "weights").mkdir()
    train(tiny(images, tmp_path / "old"), progress=False)
    monkeypatch.setattr("sys.argv", ["ship", str(tmp_path / "old"), "--name", "old", "--trained-for", "a test"])
    ship.main()
    shipped = tmp_path / "weights" / "old.safetensors"
    train(tiny(images, tmp_path / "new", "seed=5", f"init_from={shipped}"), progress=False)

    argv = ["ship", str(shipped), str(tmp_path / "new"), "--name", "soup", "--shares", "1", "3"]
    monkeypatch.setattr("sys.argv", argv)
    ship.main()
    card = json.loads((tmp_path / "weights" / "soup.json").read_text())["card"]
    old, new = card["averaged_from"]
    assert old["weights"] == str(shipped) and old["trained_for"] == "a test" and old["steps"] == 6
    assert new["run"] == str(tmp_path / "new") and new["started_from"] == str(shipped)
    assert card["steps"] == 12 and card["shares"] == [1.0, 3.0]
    soup, _ = ck.load_model(tmp_path / "weights" / "soup.safetensors")
    a, b = ck.load_model(shipped)[0].state_dict(), ck.load_model(tmp_path / "new")[0].state_dict()
    for name, value in soup.state_dict().items():
        assert value.allclose(0.25 * a[name] + 0.75 * b[name], atol=1e-6)


def test_a_run_trained_on_from_shipped_weights_carries_their_account(images, tmp_path, monkeypatch):
    ship = load_benchmark("ship_weights")
    monkeypatch.setattr(ship, "WEIGHTS_DIR", tmp_path / "weights")
    (tmp_path / "weights").mkdir()
    train(tiny(images, tmp_path / "old"), progress=False)
    monkeypatch.setattr("sys.argv", ["ship", str(tmp_path / "old"), "--name", "old", "--trained-for", "a test"])
    ship.main()
    shipped = tmp_path / "weights" / "old.safetensors"
    train(tiny(images, tmp_path / "new", "seed=5", f"init_from={shipped}"), progress=False)

    monkeypatch.setattr("sys.argv", ["ship", str(tmp_path / "new"), "--name", "old", "--trained-for", "grown"])
    ship.main()  # replaces the weights it started from, as shipping a continuation of lumen does
    card = json.loads((tmp_path / "weights" / "old.json").read_text())["card"]
    assert card["trained_for"] == "grown" and card["started_from"] == str(shipped)
    assert card["grown_from"]["trained_for"] == "a test" and card["grown_from"]["steps"] == 6
    assert card["steps"] == 12 and card["wall_time_hours"] >= card["grown_from"]["wall_time_hours"]
