import csv
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import smooth_photo
from darkroom import checkpoint as ck
from darkroom.machine import cpu_description
from darkroom.train import NonFiniteLossError, TrainConfig, train

RECIPES = sorted(Path(__file__).parent.parent.joinpath("recipes").glob("*.yaml"))


@pytest.fixture
def images(tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(6):
        Image.fromarray((smooth_photo(64, 64, seed=i) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


TINY_MODEL = [
    "model=residual-cnn",
    "model_config={width: 8, blocks: 1}",
    "presets=[gauss25]",
    "patch_size=16",
    "batch_size=4",
    "threads=1",
]


def tiny(images: Path, out: Path, *extra: str) -> TrainConfig:
    settings = [
        "iterations=6",
        "log_every=1",
        "val_every=3",
        "ckpt_every=2",
        "val_split=2",
        "val_count=2",
        "val_size=32",
        "warmup=2",
    ]
    return TrainConfig.from_file(None, [*TINY_MODEL, f"data={images}", f"out={out}", *settings, *extra])


def losses(run: Path) -> list[tuple[int, str]]:
    with open(run / "log.csv") as f:
        return [(int(r["step"]), r["loss"]) for r in csv.DictReader(f) if r["loss"]]


def test_resume_gives_exactly_the_uninterrupted_run(images, tmp_path):
    whole = train(tiny(images, tmp_path / "whole"), progress=False)
    train(tiny(images, tmp_path / "split", "stop_at=3"), progress=False)
    assert ck.latest_checkpoint(tmp_path / "split").name == "step-00000003"
    with pytest.raises(ValueError, match="pass --resume to continue it"):
        train(tiny(images, tmp_path / "split"), progress=False)
    resumed = train(tiny(images, tmp_path / "split"), resume=True, progress=False)
    assert losses(tmp_path / "whole") == losses(tmp_path / "split")
    assert whole.step == resumed.step == 6
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "split" / "curves.png").exists()
    machines = (tmp_path / "split" / "machines.txt").read_text().splitlines()
    assert machines == [f"{cpu_description()}, torch {torch.__version__}"]  # once, though it trained in two sessions


def test_batches_made_by_worker_processes_train_exactly_as_the_trainer_alone(images, tmp_path):
    import cv2

    cv2.GaussianBlur(np.random.rand(1500, 1500, 3).astype(np.float32), (0, 0), 3)  # its pool has run: fork after it
    alone = train(tiny(images, tmp_path / "alone"), progress=False)
    train(tiny(images, tmp_path / "split", "workers=2", "stop_at=3"), progress=False)
    helped = train(tiny(images, tmp_path / "split", "workers=2"), resume=True, progress=False)
    assert losses(tmp_path / "alone") == losses(tmp_path / "split")
    a, b = alone.model.state_dict(), helped.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_round_trip_is_safetensors_and_json(images, tmp_path):
    result = train(tiny(images, tmp_path / "run"), progress=False)
    files = sorted(p.name for p in result.checkpoint.iterdir())
    assert files == ["model.json", "model.safetensors", "optimizer.safetensors", "state.json"]
    model, card = ck.load_model(tmp_path / "run")
    assert card["arch"] == "residual-cnn" and card["config"] == {"width": 8, "blocks": 1}
    ref = result.model.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in model.state_dict().items())


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(images, tmp_path, monkeypatch):
    from darkroom import data

    original = data.SyntheticPairs.__getitem__

    def poisoned(self, i):
        x, y = original(self, i)
        return (x * float("nan"), y) if i >= 4 * 5 else (x, y)  # batch 5 onwards

    monkeypatch.setattr(data.SyntheticPairs, "__getitem__", poisoned)
    with pytest.raises(NonFiniteLossError, match="step 5"):
        train(tiny(images, tmp_path / "run"), progress=False)
    last = ck.latest_checkpoint(tmp_path / "run")
    assert last.name == "step-00000004"
    assert all(torch.isfinite(v).all() for v in load_file(last / "model.safetensors").values())


def test_unknown_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown setting"):
        TrainConfig.from_file(None, ["learning_rate=1"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(ValueError, match="bad.yaml: malformed config"):
        TrainConfig.from_file(bad)


def test_numbers_are_read_by_the_setting_type(tmp_path):
    # YAML reads 2e-4 (no dot) as the string "2e-4"; the optimiser would then fail at its first step
    recipe = tmp_path / "r.yaml"
    recipe.write_text("lr: 2e-4\niterations: 1e3\n")
    cfg = TrainConfig.from_file(recipe, ["weight_decay=1e-5"])
    assert (cfg.lr, cfg.weight_decay, cfg.iterations) == (2e-4, 1e-5, 1000)
    assert isinstance(cfg.iterations, int)
    with pytest.raises(ValueError, match="lr must be a number"):
        TrainConfig.from_file(None, ["lr=fast"])
    with pytest.raises(ValueError, match="iterations must be a whole number"):
        TrainConfig.from_file(None, ["iterations=2.5"])


def test_a_grown_network_starts_as_the_one_it_grew_from(tmp_path):
    from darkroom.models import create_model

    small = create_model("lumen", width=8, enc_blocks=[1, 1], mid_blocks=1, dec_blocks=[1, 1], unshuffle=2, cue=True)
    for p in small.parameters():  # trained-looking weights: the zero-initialised scales too
        torch.nn.init.normal_(p, std=0.1)
    ck.save_model(tmp_path / "small.safetensors", small, "lumen", {})
    grown = create_model("lumen", width=8, enc_blocks=[3, 1], mid_blocks=1, dec_blocks=[1, 2], unshuffle=2, cue=True)
    new = ck.init_from_weights(grown, tmp_path / "small.safetensors")
    assert new and all(k.startswith(("encoders.0.1.", "encoders.0.2.", "decoders.1.1.")) for k in new)
    x = torch.rand(2, 3, 40, 48)
    with torch.no_grad():
        assert torch.allclose(grown(x), small(x), atol=1e-6)
    other = create_model("lumen", width=12, enc_blocks=[1, 1], mid_blocks=1, dec_blocks=[1, 1], unshuffle=2, cue=True)
    with pytest.raises(ck.CheckpointError, match="small.safetensors: cannot start this model"):
        ck.init_from_weights(other, tmp_path / "small.safetensors")
    # a network that also reads the highlight level starts as the one without it
    six = create_model(
        "lumen", width=8, enc_blocks=[1, 1], mid_blocks=1, dec_blocks=[1, 1], unshuffle=2, cue=True, cue_size=6
    )
    assert ck.init_from_weights(six, tmp_path / "small.safetensors") == ["cue_mlp.0.weight"]
    assert six.cue_mlp[0].weight[:, 5].abs().max() == 0
    with torch.no_grad():
        assert torch.allclose(six(x), small(x), atol=1e-6)


def test_models_of_one_architecture_average_into_one_and_others_are_refused(tmp_path):
    from darkroom.models import create_model

    config = {"width": 8, "blocks": 1}
    a, b = (create_model("residual-cnn", **config) for _ in range(2))
    ck.save_model(tmp_path / "a.safetensors", a, "residual-cnn", config)
    ck.save_model(tmp_path / "b.safetensors", b, "residual-cnn", config)
    sa, sb = a.state_dict(), b.state_dict()
    assert not all(torch.equal(v, sb[k]) for k, v in sa.items())
    model, card = ck.average_models([tmp_path / "a.safetensors", tmp_path / "b.safetensors"], [1, 3])
    state = model.state_dict()
    assert not model.training and card["arch"] == "residual-cnn" and card["config"] == config
    assert state.keys() == sa.keys()
    assert all(torch.allclose(state[k], 0.25 * v + 0.75 * sb[k], atol=1e-7) for k, v in sa.items())
    equal = ck.average_models([tmp_path / "a.safetensors", tmp_path / "b.safetensors"])[0].state_dict()
    assert all(torch.allclose(equal[k], (v + sb[k]) / 2, atol=1e-7) for k, v in sa.items())

    wide = {"width": 12, "blocks": 1}
    ck.save_model(tmp_path / "wide.safetensors", create_model("residual-cnn", **wide), "residual-cnn", wide)
    with pytest.raises(ck.CheckpointError, match="wide.safetensors: another architecture or config"):
        ck.average_models([tmp_path / "a.safetensors", tmp_path / "wide.safetensors"])
    with pytest.raises(ck.CheckpointError, match="one positive weight per model"):
        ck.average_models([tmp_path / "a.safetensors", tmp_path / "b.safetensors"], [1])
    with pytest.raises(ck.CheckpointError, match="one positive weight per model"):
        ck.average_models([tmp_path / "a.safetensors", tmp_path / "b.safetensors"], [1, 0])


def test_a_run_can_start_from_weights_and_change_the_mix(images, tmp_path):
    first = train(tiny(images, tmp_path / "first"), progress=False)
    clean = tiny(images, tmp_path / "second", f"init_from={tmp_path / 'first'}", "presets=[mix]", "mix={p_clean: 1.0}")
    from darkroom.train import build_datasets, make_loss, validate

    _, val = build_datasets(clean)
    assert all(torch.equal(x, y) for x, y in val)  # p_clean 1: every pair is a clean photo twice
    expected = validate(first.model, val, make_loss(clean.loss, clean), torch.device("cpu"))["val_loss"]
    second = train(clean, progress=False)
    with open(tmp_path / "second" / "log.csv") as f:
        assert float(next(csv.DictReader(f))["val_loss"]) == pytest.approx(expected, rel=1e-6)  # step 0 = first's end
    assert second.step == first.step
    with pytest.raises(ValueError, match="mix: unknown field"):
        build_datasets(tiny(images, tmp_path / "third", "presets=[mix]", "mix={p_bright: 1.0}"))


def _free_port() -> int:
    """A TCP port free on this machine now: a fixed one can still be held by an earlier run's socket."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ddp_two_cpu_processes_end_with_identical_weights(images, tmp_path):
    out = tmp_path / "ddp"
    out.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_free_port()}",
        str(Path(__file__).parent / "ddp_worker.py"),
        str(out),
        *TINY_MODEL,
        f"data={images}",
        "iterations=4",
        "val_every=100",
        "ckpt_every=100",
        f"out={out}/run",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    causes = [line for line in done.stderr.splitlines() if "what()" in line or "Error" in line]
    assert done.returncode == 0, "\n".join(causes[:10]) + "\n" + done.stderr[-1500:]
    a, b = load_file(out / "rank0.safetensors"), load_file(out / "rank1.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    from darkroom.models import create_model

    torch.manual_seed(0)
    fresh = create_model("residual-cnn", width=8, blocks=1).state_dict()
    assert not all(torch.equal(fresh[k], a[k]) for k in a)


def _recipe_overrides(recipe: Path, images: Path, tmp_path: Path) -> list[str]:
    cfg = TrainConfig.from_file(recipe)
    steps = 80 if cfg.model == "dncnn" else 30  # DnCNN starts as the identity, at the noise level itself
    common = [
        f"out={tmp_path / recipe.stem}",
        f"iterations={steps}",
        f"val_every={steps}",
        "ckpt_every=100",
        "log_every=10",
        "warmup=0",
        "schedule=constant",
        "val_count=2",
        "threads=1",
    ]
    if cfg.data_kind == "mnist":
        digits = (np.random.default_rng(0).random((300, 28, 28)) > 0.7).astype(np.uint8) * 255
        raw = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in digits.shape) + digits.tobytes()
        (tmp_path / "digits.idx").write_bytes(raw)
        return [*common, f"data={tmp_path / 'digits.idx'}", "mnist_split=250", "batch_size=50", "val_count=20"]
    patch = 32 if cfg.loss != "msssim_l1" else 64
    return [
        *common,
        f"data={images}",
        f"patch_size={patch}",
        "batch_size=4",
        "val_split=2",
        "val_size=64",
        "resize=64" if cfg.resize else "resize=null",
    ]


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.stem for r in RECIPES])
def test_each_recipe_lowers_the_validation_loss_on_a_few_images(recipe, images, tmp_path):
    cfg = TrainConfig.from_file(recipe, _recipe_overrides(recipe, images, tmp_path))
    cfg.init_from = ""  # a recipe that grows a trained run starts fresh here (growing has its own test)
    torch.manual_seed(0)
    train(cfg, progress=False)
    with open(Path(cfg.out) / "log.csv") as f:
        val = [float(r["val_loss"]) for r in csv.DictReader(f) if r["val_loss"]]
    assert len(val) == 2 and val[-1] < val[0], val


def test_a_second_trainer_on_the_same_run_folder_is_refused(images, tmp_path):
    from darkroom.train import _lock_run

    held = _lock_run(tmp_path / "run")
    try:
        with pytest.raises(RuntimeError, match="another training process is using this run folder"):
            train(tiny(images, tmp_path / "run"), progress=False)
    finally:
        held.close()
    assert train(tiny(images, tmp_path / "run", "iterations=2"), resume=True, progress=False).step == 2


def test_perceptual_loss_trains_from_a_local_vgg_file(images, tmp_path):
    from safetensors.torch import save_file

    from darkroom.models.vgg19 import VGG19Features

    torch.manual_seed(0)
    vgg = VGG19Features()
    save_file({k: v for k, v in vgg.state_dict().items() if k.startswith("features.")}, tmp_path / "vgg.safetensors")
    result = train(
        tiny(
            images, tmp_path / "run", "loss=perceptual", f"vgg_weights={tmp_path / 'vgg.safetensors'}", "iterations=2"
        ),
        progress=False,
    )
    assert result.step == 2
    with pytest.raises(ValueError, match="needs vgg_weights"):
        train(tiny(images, tmp_path / "run2", "loss=perceptual"), progress=False)


def test_training_killed_with_sigkill_resumes_from_an_intact_checkpoint(images, tmp_path):
    import signal
    import time

    run = tmp_path / "killed"
    args = [
        sys.executable,
        "-m",
        "darkroom.cli",
        "train",
        "-q",
        "--set",
        "model=residual-cnn",
        "--set",
        "model_config={width: 8, blocks: 1}",
        "--set",
        f"data={images}",
        "--set",
        "presets=[gauss25]",
        "--set",
        "patch_size=16",
        "--set",
        "batch_size=4",
        "--set",
        "iterations=100000",
        "--set",
        "ckpt_every=5",
        "--set",
        "val_every=100000",
        "--set",
        f"out={run}",
        "--set",
        "threads=1",
    ]
    proc = subprocess.Popen(args)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(run.glob("step-*"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    latest = ck.latest_checkpoint(run)
    assert latest is not None
    step = int(latest.name.split("-")[1])
    model, _ = ck.load_model(run)  # the checkpoint `latest` names is whole and loads
    assert all(torch.isfinite(p).all() for p in model.parameters())
    resumed = train(
        TrainConfig.from_file(None, [a for a in args[args.index("--set") + 1 :: 2]] + [f"iterations={step + 3}"]),
        resume=True,
        progress=False,
    )
    assert resumed.step == step + 3


def test_a_model_that_fills_impulses_trains_on_filled_inputs(images, tmp_path):
    """The engine fills salt-and-pepper impulses before the flagship runs, so its training inputs are filled too."""
    from darkroom.train import build_datasets

    def extremes(cfg: TrainConfig) -> float:
        _, val = build_datasets(cfg)
        return float(np.mean([((x == 0) | (x == 1)).float().mean() for x, _ in val]))

    flagship = tiny(images, tmp_path / "a", "model=lumen", "model_config={width: 8}", "presets=[sp20]")
    original = tiny(images, tmp_path / "b", "presets=[sp20]")  # residual-cnn learns from raw impulses
    assert extremes(original) > 0.15 and extremes(flagship) < 0.01


@pytest.mark.parametrize("photo_cue", [True, False])
def test_a_cue_model_trains_and_validates_with_its_whole_photos_cue(images, tmp_path, monkeypatch, photo_cue):
    """The engine gives every tile its photo's exposure cue; with photo_cue, training does the same."""
    from darkroom.exposure import exposure_cue
    from darkroom.io import read_image
    from darkroom.models.lumen import Lumen
    from darkroom.train import build_datasets

    seen, forward = [], Lumen.forward
    monkeypatch.setattr(Lumen, "forward", lambda self, x, cue=None: seen.append(cue) or forward(self, x, cue))
    cfg = tiny(images, tmp_path / "run", "model=lumen", "model_config={width: 8, cue_size: 6}", "presets=[identity]")
    cfg.photo_cue = photo_cue
    train(cfg, progress=False)
    if not photo_cue:  # each patch's own cue, computed inside the model (lumen stages 1-6)
        assert seen and all(cue is None for cue in seen)
        return
    assert {tuple(cue.shape) for cue in seen} == {(4, 6), (1, 6)}  # training batches and held-out photos
    _, val = build_datasets(cfg, cue_size=6)
    for (x, _, cue), name in zip(val, ["4.png", "5.png"]):  # the last two photos are held out
        photo = read_image(images / name).transpose(2, 0, 1)[None]
        assert x.shape[-1] == 32 < photo.shape[-1]  # a centre crop, with the cue of the whole photo
        np.testing.assert_allclose(cue.numpy(), exposure_cue(photo, 6), atol=1e-6)


def test_keep_share_trains_and_validates_both_intents(images, tmp_path):
    """``keep_share``: training items ask for either intent, with the matching target, and so do the
    held-out photos (all of them at a share of 1, none at 0).  Only the mix can give the keep answer."""
    from darkroom.train import build_datasets

    cfg = tiny(
        images,
        tmp_path / "run",
        "model=lumen",
        "model_config={width: 8, cue_size: 7}",
        "presets=[mix]",
        "keep_share=0.5",
        "mix={p_clean: 0.0, p_lowlight: 0.0, p_dark: 1.0, dark_factor: [0.2, 0.3], noise_weights: [0, 0, 0, 0, 1]}",
    )
    train_set, val = build_datasets(cfg, cue_size=7)
    intents = set()
    for i in range(16):
        x, y, cue = train_set[i]
        intents.add(float(cue[6]))
        if cue[6] == 1:  # kept: the target is the darkened photo, here the input itself (no noise drawn)
            np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-6)
        else:
            assert float(y.mean()) > 3 * float(x.mean())
    assert intents == {0.0, 1.0}
    for share, intent in ((1.0, 1), (0.0, 0)):
        _, val = build_datasets(replace(cfg, keep_share=share), cue_size=7)
        assert len(val) == 2 and all(cue[0, 6] == intent for _, _, cue in val)
        for x, y, _ in val:  # kept: the target is the input (no noise drawn); brightened: far brighter
            if intent:
                np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-6)
            else:
                assert float(y.mean()) > 3 * float(x.mean())
    with pytest.raises(ValueError, match="keep_share needs clean images degraded by the mix"):
        build_datasets(replace(cfg, presets=["gauss25"]), cue_size=7)


def test_trainable_trains_only_the_parameters_named(images, tmp_path):
    """``trainable: [cue_mlp]`` teaches lumen's cue layers and leaves every other weight as it started."""
    from darkroom.models import create_model

    config = {"width": 8, "enc_blocks": [1, 1], "mid_blocks": 1, "dec_blocks": [1, 1], "cue_size": 6}
    torch.manual_seed(3)
    start = create_model("lumen", **config)
    with torch.no_grad():  # a start whose cue layers matter, as trained weights' do
        start.cue_mlp[2].weight.normal_(0, 0.1)
    ck.save_model(tmp_path / "start.safetensors", start, "lumen", config)
    cfg = tiny(
        images,
        tmp_path / "run",
        "model=lumen",
        f"model_config={config}",
        "presets=[gauss25]",
        f"init_from={tmp_path / 'start.safetensors'}",
        "trainable=[cue_mlp]",
    )
    train(cfg, progress=False)
    trained, _ = ck.load_model(str(tmp_path / "run"))
    before, after = start.state_dict(), trained.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("cue_mlp.") for k in changed)
    with pytest.raises(ValueError, match="no parameters named"):
        train(replace(cfg, out=str(tmp_path / "other"), trainable=["cue_layers"]), progress=False)


def test_training_gives_back_the_callers_thread_count(images, tmp_path):
    """``threads`` is the run's setting: after ``train`` the caller's torch runs on as many threads as before."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train(tiny(images, tmp_path / "run", "iterations=1"), progress=False)  # tiny runs on threads=1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
