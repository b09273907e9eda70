"""benchmarks/gpu_run.py: which photos travel to a GPU machine, and the weights that come back."""

from conftest import load_benchmark, smooth_photo


def _photos(folder, sizes):
    paths = []
    for i, size in enumerate(sizes):
        path = folder / f"p{i:03d}.jpg"
        path.write_bytes(b"x" * size)
        paths.append(path)
    return paths


def test_every_held_out_photo_travels_and_the_rest_fill_the_budget(tmp_path):
    gpu = load_benchmark("gpu_run")
    photos = _photos(tmp_path, [100] * 40 + [50] * 4)
    chosen = gpu.choose_photos(photos, held_out=4, budget=1200)
    assert chosen[-4:] == photos[-4:]  # still last, so training holds out the same photos
    assert chosen == sorted(chosen) and len(set(chosen)) == len(chosen)
    assert sum(p.stat().st_size for p in chosen) <= 1200
    assert len(chosen) == 4 + 10  # 1000 bytes left: ten of the others
    assert photos[0] in chosen and photos[36] in chosen  # spread over the folder, not its start


def test_a_budget_that_holds_everything_takes_everything(tmp_path):
    gpu = load_benchmark("gpu_run")
    photos = _photos(tmp_path, [10] * 12)
    assert gpu.choose_photos(photos, held_out=2, budget=10**6) == photos


def _train_tiny(gpu, tmp_path, resume: bool) -> None:
    from darkroom.io import write_image

    photos = tmp_path / "photos"
    photos.mkdir(exist_ok=True)
    for i in range(4):
        write_image(photos / f"p{i}.png", smooth_photo(48, 48, seed=i))
    tiny = "model_config={width: 8, enc_blocks: [1], dec_blocks: [1], mid_blocks: 1}"
    overrides = [f"data={photos}", "init_from=", tiny, "batch_size=2", "patch_size=32", "val_size=32"]
    overrides += ["val_split=1", "val_count=1", "iterations=2", "warmup=1", "workers=0", "threads=1"]
    overrides += ["log_every=1", "val_every=2", "ckpt_every=2"]
    gpu.train_for(600, overrides, tmp_path / "out", resume=resume, run=tmp_path / "run")


def test_a_second_call_starts_afresh_unless_told_to_resume(tmp_path, capsys):
    gpu = load_benchmark("gpu_run")
    _train_tiny(gpu, tmp_path, resume=False)
    assert (tmp_path / "out" / "lumen-gpu-step-2.safetensors").exists()
    _train_tiny(gpu, tmp_path, resume=False)  # a warm machine still holds the first call's run
    first_two = capsys.readouterr().out
    assert "resuming" not in first_two and first_two.count("stopped at step 2 of 2") == 2
    _train_tiny(gpu, tmp_path, resume=True)
    assert "resuming" in capsys.readouterr().out


def test_the_newest_checkpoint_is_mirrored_where_a_killed_call_still_returns_it(tmp_path):
    gpu = load_benchmark("gpu_run")
    _train_tiny(gpu, tmp_path, resume=False)
    assert not list((tmp_path / "out").glob(f"{gpu.MIRROR}.*"))  # a run that ends leaves its step's files only
    from darkroom.checkpoint import latest_checkpoint

    ckpt = latest_checkpoint(tmp_path / "run")
    mirror = tmp_path / "mirror"
    assert gpu.mirror_latest(tmp_path / "run", mirror) == ckpt
    assert (mirror / f"{gpu.MIRROR}.safetensors").read_bytes() == (ckpt / "model.safetensors").read_bytes()
    assert (mirror / f"{gpu.MIRROR}.json").read_bytes() == (ckpt / "model.json").read_bytes()
    (mirror / f"{gpu.MIRROR}.json").unlink()
    assert gpu.mirror_latest(tmp_path / "run", mirror, seen=ckpt) == ckpt
    assert not (mirror / f"{gpu.MIRROR}.json").exists()  # already mirrored: not copied again
    assert gpu.mirror_latest(tmp_path / "nothing", mirror) is None


def test_what_comes_back_is_kept_as_a_run_folder_that_can_be_carded(tmp_path, monkeypatch):
    gpu = load_benchmark("gpu_run")
    _train_tiny(gpu, tmp_path, resume=False)
    returned = sorted((tmp_path / "out").iterdir())
    assert {p.name for p in returned} >= {"config.json", "machines.txt", "log.csv"}
    monkeypatch.setattr(gpu, "ROOT", tmp_path)
    kept = gpu.keep(returned)
    assert kept == tmp_path / "candidates" / "lumen-gpu-step-2"
    weights = (tmp_path / "out" / "lumen-gpu-step-2.safetensors").read_bytes()
    assert (kept / "model.safetensors").read_bytes() == weights

    from darkroom.checkpoint import resolve_weights

    assert resolve_weights(kept) == kept / "model.safetensors"
    card = load_benchmark("ship_weights").run_card(kept)
    assert card["steps"] == 2 and card["recipe"]["iterations"] == 2
    assert card["hardware"].startswith((tmp_path / "run" / "machines.txt").read_text().splitlines()[0])
