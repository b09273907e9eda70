import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from conftest import smooth_photo
from darkroom.checkpoint import WEIGHTS_DIR, save_model
from darkroom.cli import main as cli
from darkroom.degrade import salt_pepper
from darkroom.engine import (
    Enhancer,
    auto_ensemble,
    enhance,
    enhance_file,
    image_cue,
    load_enhancer,
    parse_roi,
    run_tiled,
    with_ensemble,
)
from darkroom.io import read_image_with_info, write_image
from darkroom.models import create_model, get_spec

TINY = {"width": 8, "enc_blocks": [1, 1], "mid_blocks": 2, "dec_blocks": [1, 1], "unshuffle": 4}


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    """A small lumen with every weight randomised, so it really changes images."""
    torch.manual_seed(0)
    model = create_model("lumen", **TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2) if p.dim() > 1 else p.uniform_(-0.1, 0.1)
    return save_model(tmp_path_factory.mktemp("w") / "tiny.safetensors", model, "lumen", TINY)


@pytest.fixture(scope="module")
def tiny(tiny_weights) -> Enhancer:
    return load_enhancer(str(tiny_weights))


def test_any_size_keeps_shape_and_range(tiny):
    for h, w in [(1, 1), (7, 300), (65, 33)]:
        out = enhance(smooth_photo(h, w), tiny)
        assert out.shape == (h, w, 3) and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1


def test_input_is_never_modified(tiny):
    x = smooth_photo(40, 40)
    before = x.copy()
    enhance(x, tiny, roi=(5, 5, 20, 20))
    assert np.array_equal(x, before)


def test_enhance_takes_what_load_model_returns_and_refuses_other_objects(tiny, tiny_weights):
    import darkroom

    x = smooth_photo(40, 56)
    loaded = darkroom.load_model(str(tiny_weights))  # (module, card), as the README shows
    out = darkroom.enhance(x, model=loaded, backend="torch")
    assert np.array_equal(out, enhance(x, load_enhancer(str(tiny_weights), "torch")))
    with pytest.raises(TypeError, match="not dict"):
        darkroom.enhance(x, model={"arch": "lumen"})


def test_tiled_equals_whole_image_for_a_local_model(tiny):
    x = smooth_photo(480, 640)
    whole, tiles = enhance(x, tiny, tile=4096), []
    tiled = enhance(x, tiny, tile=96, progress=lambda done, total: tiles.append(total))
    assert tiles[-1] >= 4  # cut both ways; the default overlap covers the receptive field
    assert np.abs(whole - tiled).max() <= 1 / 255


def test_each_tile_hands_its_freed_memory_back(tiny, monkeypatch):
    import darkroom.engine as engine

    if sys.platform.startswith("linux"):
        assert engine._malloc_trim() is not None  # glibc here; elsewhere release_freed_memory does nothing
    calls = []
    monkeypatch.setattr(engine, "release_freed_memory", lambda: calls.append(1))
    x = smooth_photo(300, 420)
    tiles = []
    out = engine.run_tiled(tiny, x, tile=64, overlap=64, progress=lambda done, total: tiles.append(total))
    assert len(calls) == len(tiles) == tiles[-1] > 1
    monkeypatch.undo()
    assert np.array_equal(out, engine.run_tiled(tiny, x, tile=64, overlap=64))  # trimming changes no pixel


@pytest.mark.skipif(not (WEIGHTS_DIR / "lumen.safetensors").exists(), reason="flagship weights not shipped yet")
def test_flagship_tiling_is_seamless_on_a_1024_photo():
    x = smooth_photo(1024, 1024, seed=3)
    x = np.clip(x * 0.3 + np.random.default_rng(0).normal(0, 0.04, x.shape), 0, 1).astype(np.float32)
    whole = enhance(x, "lumen", tile=2048)
    tiles = []
    tiled = enhance(x, "lumen", tile=256, progress=lambda done, total: tiles.append(total))
    assert tiles[-1] >= 4
    assert np.abs(whole - tiled).max() <= 1 / 255


def test_roi_changes_only_the_rectangle_and_feathers_its_edge(tiny):
    x = smooth_photo(120, 160)
    out = enhance(x, tiny, roi=(30, 20, 80, 60), feather=8)
    outside = np.ones((120, 160), bool)
    outside[20:80, 30:110] = False
    assert np.array_equal(out[outside], x[outside])  # bit-identical outside
    centre = out[30:70, 40:100]
    assert not np.allclose(centre, x[30:70, 40:100])
    edge_step = np.abs(out[50, 30] - x[50, 29]).max()
    inner_change = np.abs(out[50, 70] - x[50, 70]).max()
    assert edge_step < inner_change  # the edge blends in


def test_roi_outside_the_image_and_bad_roi_text_are_clear_errors(tiny):
    with pytest.raises(ValueError, match="outside"):
        enhance(smooth_photo(20, 20), tiny, roi=(50, 50, 5, 5))
    with pytest.raises(ValueError, match="four integers"):
        parse_roi("1,2,3")
    assert parse_roi("1,2,3,4") == (1, 2, 3, 4)


def test_enhance_file_keeps_metadata_and_16_bit(tiny, tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = Image.fromarray((smooth_photo(40, 48) * 255).astype(np.uint8))
    exif = img.getexif()
    exif[0x010F] = "cam"
    img.save(tmp_path / "in.jpg", exif=exif.tobytes(), icc_profile=icc, quality=95)
    out = enhance_file(tmp_path / "in.jpg", tmp_path / "out" / "in.jpg", tiny)
    with Image.open(out) as o:
        assert o.info["icc_profile"] == icc and o.getexif()[0x010F] == "cam"
    write_image(tmp_path / "in16.png", smooth_photo(40, 48), bit_depth=16, icc_profile=icc)
    out16 = enhance_file(tmp_path / "in16.png", tmp_path / "out" / "in16.png", tiny)
    _, info = read_image_with_info(out16)
    assert info.bit_depth == 16 and info.icc_profile == icc


def test_enhance_file_refuses_to_overwrite_the_original(tiny, tmp_path):
    p = write_image(tmp_path / "a.png", smooth_photo(20, 20))
    before = p.read_bytes()
    with pytest.raises(ValueError, match="overwrite the original"):
        enhance_file(p, p, tiny)
    assert p.read_bytes() == before


def _photo_tree(root: Path, n: int = 4) -> None:
    for i in range(n):
        sub = root / ("sub" if i % 2 else "")
        sub.mkdir(parents=True, exist_ok=True)
        write_image(sub / f"p{i}.png", smooth_photo(32, 40, seed=i))


def test_batch_mirrors_the_tree_skips_done_and_reports_bad_files(tiny_weights, tmp_path, capsys):
    _photo_tree(tmp_path / "in")
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    originals = {p: p.read_bytes() for p in (tmp_path / "in").rglob("*.png")}
    code = cli(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(tiny_weights), "-q"])
    assert code == 1  # one file failed
    text = capsys.readouterr().out
    assert "4 written" in text and "broken.png" in text
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")) == [
        "p0.png",
        "p2.png",
        "sub",
        "sub/p1.png",
        "sub/p3.png",
    ]
    assert all(p.read_bytes() == data for p, data in originals.items())
    code = cli(
        ["enhance", str(tmp_path / "in" / "*.png"), "-o", str(tmp_path / "out"), "--model", str(tiny_weights), "-q"]
    )
    assert "0 written, 2 skipped" in capsys.readouterr().out


def test_the_package_names_are_the_api_functions_whatever_was_imported_first():
    # the engine module once shared the name `enhance` with its function, and importing it (as
    # darkroom.enhance_file did) made `darkroom.enhance` the module: the README's second call failed
    import darkroom
    import darkroom.checkpoint
    import darkroom.engine

    assert darkroom.enhance is darkroom.engine.enhance
    assert darkroom.enhance_file is darkroom.engine.enhance_file
    assert darkroom.load_model is darkroom.checkpoint.load_model
    from darkroom import enhance as fn

    assert fn is darkroom.engine.enhance


def test_batch_killed_midway_resumes_with_every_output_once_and_no_partial_file(tiny_weights, tmp_path):
    _photo_tree(tmp_path / "in", 6)
    script = textwrap.dedent(f"""
        import os, signal
        from darkroom import batch, engine
        real = engine.enhance_file
        count = {{"n": 0}}
        def dying(src, dst, *a, **k):
            count["n"] += 1
            if count["n"] == 4:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst, *a, **k)
        batch.run_batch([{str(tmp_path / "in")!r}], {str(tmp_path / "out")!r},
                        lambda s, d: dying(s, d, {str(tiny_weights)!r}), progress=False)
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert killed.returncode == -9
    done_first = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*.png")}
    assert len(done_first) == 3
    code = cli(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(tiny_weights), "-q"])
    assert code == 0
    outputs = sorted((tmp_path / "out").rglob("*"))
    assert len([p for p in outputs if p.is_file()]) == 6
    assert not [p for p in outputs if p.name.endswith(".part") or p.name.startswith(".")]
    assert all(p.stat().st_mtime_ns == t for p, t in done_first.items())  # not redone


def test_cli_no_guard_turns_the_highlight_guard_off(tiny_weights, tmp_path, monkeypatch):
    import darkroom.engine as engine

    calls = []
    monkeypatch.setattr(engine, "guard_highlights", lambda before, after: calls.append(1) or (after, 0))
    write_image(tmp_path / "in" / "a.png", smooth_photo(40, 48))
    base = ["enhance", str(tmp_path / "in"), "--model", str(tiny_weights), "--backend", "torch", "-q"]
    assert cli([*base, "-o", str(tmp_path / "guarded")]) == 0 and len(calls) == 1  # lumen's default: on
    assert cli([*base, "-o", str(tmp_path / "raw"), "--no-guard"]) == 0 and len(calls) == 1


def test_cli_exposure_keep_divides_the_brightening_out(tiny_weights, tmp_path, monkeypatch):
    import darkroom.engine as engine

    calls = []
    real = engine.keep_exposure
    monkeypatch.setattr(engine, "keep_exposure", lambda before, after: calls.append(1) or real(before, after))
    write_image(tmp_path / "in" / "a.png", smooth_photo(40, 48))
    base = ["enhance", str(tmp_path / "in"), "--model", str(tiny_weights), "--backend", "torch", "-q"]
    assert cli([*base, "-o", str(tmp_path / "auto")]) == 0 and not calls  # the default: the model's judgement
    assert cli([*base, "-o", str(tmp_path / "kept"), "--exposure", "keep"]) == 0 and len(calls) == 1


def test_the_ensemble_averages_the_model_over_flips_and_turns_each_undone(tiny):
    x = smooth_photo(70, 45)  # not square: a quarter turn left undone would not even fit
    assert np.array_equal(enhance(x, tiny, ensemble=4), enhance(x, tiny))  # auto: a small photo gets 4
    # an identity model gives every tile back from every orientation
    ident = Enhancer(name="identity", run=lambda t, cue: t, multiple=4, card={}, tile=32, overlap=8)
    for n in (2, 4, 8):
        np.testing.assert_allclose(run_tiled(with_ensemble(ident, n), x), x, atol=1e-6)
    # two passes: the model on the photo and, mirrored back, on its mirror image; the tiny lumen is
    # not mirror-symmetric, so the ensemble differs from one pass
    x = smooth_photo(4 * tiny.multiple, 3 * tiny.multiple)  # no padding, which a mirror image gets elsewhere
    cue = image_cue(tiny, x)
    one = run_tiled(tiny, x)
    mirrored = run_tiled(tiny, np.ascontiguousarray(x[:, ::-1]), cue=cue)[:, ::-1]
    two = run_tiled(with_ensemble(tiny, 2), x)
    np.testing.assert_allclose(two, (one + mirrored) / 2, atol=1e-5)
    assert np.abs(two - one).max() > 1e-3
    for bad in (3, "3", "many"):
        with pytest.raises(ValueError, match="ensemble must be auto or one of 1, 2, 4, 8"):
            enhance(x, tiny, ensemble=bad)


def test_cli_ensemble_reaches_the_engine(tiny_weights, tmp_path, monkeypatch):
    import darkroom.engine as engine

    sizes = []
    real = engine.with_ensemble
    monkeypatch.setattr(engine, "with_ensemble", lambda enh, n: sizes.append(n) or real(enh, n))
    write_image(tmp_path / "in" / "a.png", smooth_photo(40, 48))
    base = ["enhance", str(tmp_path / "in"), "--model", str(tiny_weights), "--backend", "torch", "-q"]
    assert cli([*base, "-o", str(tmp_path / "auto")]) == 0 and sizes == [4]  # a small photo, a lumen
    assert cli([*base, "-o", str(tmp_path / "one"), "--ensemble", "1"]) == 0 and sizes == [4, 1]
    assert cli([*base, "-o", str(tmp_path / "two"), "--ensemble", "2"]) == 0 and sizes == [4, 1, 2]


def test_auto_ensemble_runs_more_passes_only_on_small_photos_and_only_where_the_model_asks(monkeypatch):
    import darkroom.engine as engine

    asks = Enhancer("identity", lambda t, cue: t, 4, {}, tile=2048, overlap=8, self_ensemble=True)
    pixels = (1, 1_000_000, 1_000_001, 2_000_000, 2_000_001, 12_000_000)
    assert [auto_ensemble(asks, n) for n in pixels] == [4, 4, 2, 2, 1, 1]
    assert auto_ensemble(replace(asks, self_ensemble=False), 100) == 1
    assert get_spec("lumen").self_ensemble and not get_spec("dncnn").self_ensemble
    sizes = []
    real = engine.with_ensemble
    monkeypatch.setattr(engine, "with_ensemble", lambda enh, n: sizes.append(n) or real(enh, n))
    big = np.zeros((1500, 1500, 3), np.float32)  # 2.25 MP: one pass
    assert np.array_equal(enhance(big, asks), big) and sizes == [1]
    enhance(big, asks, roi=(10, 10, 200, 100))  # an ROI counts the pixels the model sees: four passes
    enhance(big, asks, ensemble=8)
    assert sizes == [1, 4, 8]


def test_onnx_matches_torch(tiny_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("DARKROOM_CACHE", str(tmp_path / "cache"))
    assert cli(["export", "--model", str(tiny_weights), "-o", str(tmp_path / "tiny.onnx")]) == 0
    x = smooth_photo(100, 140)
    a = enhance(x, load_enhancer(str(tiny_weights)), tile=64, overlap=32)
    onnx_file = load_enhancer(str(tmp_path / "tiny.onnx"), "onnx")
    b = enhance(x, onnx_file, tile=64, overlap=32)
    assert np.abs(a - b).max() < 1e-4
    c = enhance(x, load_enhancer(str(tiny_weights), "onnx"), tile=64, overlap=32)  # exported on the fly
    assert np.abs(a - c).max() < 1e-4 and any((tmp_path / "cache").iterdir())
    assert (
        onnx_file.fills_impulses
        and onnx_file.guards_highlights
        and onnx_file.evens_gain
        and onnx_file.self_ensemble
        and onnx_file.colours_grey_noise
    )  # the .onnx file carries them: lumen's steps run with either backend
    spec = get_spec("lumen")
    assert (onnx_file.tile, load_enhancer(str(tiny_weights), "torch").tile) == (spec.onnx_tile, spec.tile)
    assert spec.onnx_tile > spec.tile  # ONNX Runtime's arena holds larger tiles in the same memory
    noisy = salt_pepper(x, 0.1, rng=np.random.default_rng(0))
    a, b = (enhance(noisy, e, tile=64, overlap=32) for e in (load_enhancer(str(tiny_weights)), onnx_file))
    assert np.abs(a - b).max() < 1e-4


def test_auto_backend_runs_onnx_and_falls_back_to_torch(tiny_weights, monkeypatch):
    from darkroom import onnx_backend

    x = smooth_photo(90, 70)
    load_enhancer.cache_clear()
    auto = load_enhancer(str(tiny_weights))
    assert "onnx" in auto.card and auto.card["arch"] == "lumen"  # ONNX runs it, the model card stays
    torch_out = enhance(x, load_enhancer(str(tiny_weights), "torch"))
    assert np.abs(enhance(x, auto) - torch_out).max() < 1e-4

    def broken(name):
        raise RuntimeError("no ONNX today")

    monkeypatch.setattr(onnx_backend, "onnx_enhancer", broken)
    load_enhancer.cache_clear()
    with pytest.warns(UserWarning, match="no ONNX today"):
        fallback = load_enhancer(str(tiny_weights))
    assert "onnx" not in fallback.card
    assert np.array_equal(enhance(x, fallback), torch_out)
    load_enhancer.cache_clear()


def test_onnx_cache_follows_the_weights(tiny_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("DARKROOM_CACHE", str(tmp_path / "cache"))
    w = tmp_path / "m.safetensors"
    w.write_bytes(tiny_weights.read_bytes())
    w.with_suffix(".json").write_bytes(tiny_weights.with_suffix(".json").read_bytes())
    x = smooth_photo(64, 64)
    load_enhancer.cache_clear()
    first = enhance(x, load_enhancer(str(w), "onnx"))
    model = create_model("lumen", **TINY)
    save_model(w, model, "lumen", TINY)  # retrained in place
    load_enhancer.cache_clear()
    second = enhance(x, load_enhancer(str(w), "onnx"))
    assert len(list((tmp_path / "cache").glob("m-*.onnx"))) == 2
    assert np.abs(second - enhance(x, load_enhancer(str(w), "torch"))).max() < 1e-4
    assert np.abs(second - first).max() > 0.05
    load_enhancer.cache_clear()


def test_onnx_cache_follows_the_architecture_code(tiny_weights, tmp_path, monkeypatch):
    """The same weights exported by changed model code (a faster graph, a fix) get a new cache
    entry instead of the old file."""
    import inspect

    from darkroom import onnx_backend

    monkeypatch.setenv("DARKROOM_CACHE", str(tmp_path / "cache"))
    first = onnx_backend.cached_export(str(tiny_weights))
    assert onnx_backend.cached_export(str(tiny_weights)) == first
    changed = tmp_path / "lumen.py"
    changed.write_text("# lumen, revised\n")
    monkeypatch.setattr(inspect, "getfile", lambda obj: str(changed))
    second = onnx_backend.cached_export(str(tiny_weights))
    assert second != first and first.exists() and second.exists()


def _copy_weights(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes())
    target.with_suffix(".json").write_bytes(source.with_suffix(".json").read_bytes())
    return target


def test_weights_exported_before_load_without_torch(tiny_weights, tmp_path):
    """A command's second run finds the export by its receipt: same pixels, no PyTorch imported."""
    w = _copy_weights(tiny_weights, tmp_path / "m.safetensors")
    np.save(tmp_path / "x.npy", smooth_photo(48, 64))
    script = textwrap.dedent(
        f"""
        import sys, numpy as np
        from darkroom.engine import enhance, load_enhancer
        enh = load_enhancer({str(w)!r})
        out = enhance(np.load({str(tmp_path / "x.npy")!r}), enh)
        np.save({str(tmp_path / "out.npy")!r}.replace("out", sys.argv[1]), out)
        print("torch" in sys.modules, enh.card["arch"], "onnx" in enh.card, enh.name)
        """
    )
    env = os.environ | {"DARKROOM_CACHE": str(tmp_path / "cache")}
    runs = [
        subprocess.run([sys.executable, "-c", script, name], env=env, capture_output=True, text=True, check=True)
        for name in ("first", "second")
    ]
    assert [r.stdout.split() for r in runs] == [["True", "lumen", "True", str(w)], ["False", "lumen", "True", str(w)]]
    assert np.array_equal(np.load(tmp_path / "first.npy"), np.load(tmp_path / "second.npy"))
    write_image(tmp_path / "photo.png", smooth_photo(48, 64))
    args = ["enhance", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out"), "--model", str(w)]
    command = f"import sys; from darkroom.cli import main; code = main({args!r}); print(code, 'torch' in sys.modules)"
    cli_run = subprocess.run([sys.executable, "-c", command], env=env, capture_output=True, text=True)
    assert cli_run.stdout.split()[-2:] == ["0", "False"], cli_run.stderr  # the command too, end to end
    assert (tmp_path / "out" / "photo.png").exists()


def test_a_receipt_is_void_once_anything_it_lists_changes(tiny_weights, tmp_path, monkeypatch):
    from darkroom import onnx_backend

    monkeypatch.setenv("DARKROOM_CACHE", str(tmp_path / "cache"))
    w = _copy_weights(tiny_weights, tmp_path / "m.safetensors")
    assert onnx_backend.receipted_export(str(w)) is None  # never exported
    target = onnx_backend.cached_export(str(w))
    onnx, card = onnx_backend.receipted_export(str(w))
    assert onnx == target.resolve() and card["arch"] == "lumen"
    assert onnx_backend.receipted_export(os.path.relpath(w)) is not None  # the same file, named another way
    save_model(w, create_model("lumen", **TINY), "lumen", TINY)  # retrained in place
    assert onnx_backend.receipted_export(str(w)) is None
    onnx_backend.cached_export(str(w))
    assert onnx_backend.receipted_export(str(w)) is not None
    card_file = w.with_suffix(".json")
    card_file.write_text(json.dumps(json.loads(card_file.read_text()) | {"note": "edited"}))  # a card edited
    assert onnx_backend.receipted_export(str(w)) is None
    onnx = onnx_backend.cached_export(str(w))
    onnx.unlink()  # pruned, or deleted by hand
    assert onnx_backend.receipted_export(str(w)) is None
    onnx_backend.cached_export(str(w))
    for receipt in (tmp_path / "cache" / "receipts").iterdir():
        receipt.write_text('{"onnx": 3')  # damaged
    assert onnx_backend.receipted_export(str(w)) is None
    assert onnx_backend.receipted_export(str(tmp_path)) is None  # a folder: only the full lookup knows its weights
    here = onnx_backend._receipt_file("lumen")
    monkeypatch.setattr(onnx_backend, "__file__", str(tmp_path / "other-install" / "darkroom" / "onnx_backend.py"))
    assert onnx_backend._receipt_file("lumen") != here  # each install's shipped lumen has its own receipt


def test_a_damaged_export_found_by_its_receipt_is_made_again(tiny_weights, tmp_path, monkeypatch):
    from darkroom import onnx_backend

    monkeypatch.setenv("DARKROOM_CACHE", str(tmp_path / "cache"))
    w = _copy_weights(tiny_weights, tmp_path / "m.safetensors")
    x = smooth_photo(40, 40)
    load_enhancer.cache_clear()
    good = enhance(x, load_enhancer(str(w), "onnx"))
    onnx, _ = onnx_backend.receipted_export(str(w))
    onnx.write_bytes(b"not onnx")
    load_enhancer.cache_clear()
    with pytest.warns(UserWarning, match="ONNX Runtime unavailable"):  # the full lookup serves the same file,
        enh = load_enhancer(str(w))  # which fails again: PyTorch runs it
    assert np.abs(enhance(x, enh) - good).max() < 1e-4
    load_enhancer.cache_clear()


def test_the_onnx_cache_keeps_the_most_recently_used_exports_of_each_model(tmp_path):
    from darkroom.onnx_backend import prune_exports

    names = [f"lumen-{i:016x}.onnx" for i in range(5)] + [
        "dncnn-0000000000000000.onnx",
        "lumen-big-00000000000000aa.onnx",
    ]
    for age, name in enumerate(reversed(names)):
        (tmp_path / name).write_bytes(b"onnx")
        os.utime(tmp_path / name, (1000 - age, 1000 - age))  # the first name is the oldest
    target = tmp_path / names[0]
    deleted = prune_exports(target, keep=3)
    assert sorted(p.name for p in deleted) == names[1:3]  # the two oldest others; the target stays
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], *names[3:]])


def test_pickled_checkpoints_are_refused(tmp_path):
    p = tmp_path / "model.pth"
    torch.save({"x": torch.zeros(1)}, p)
    with pytest.raises(ValueError, match="pickled checkpoints are never loaded"):
        load_enhancer(str(p))
    assert cli(["enhance", str(tmp_path), "-o", str(tmp_path / "o"), "--model", str(p), "-q"]) == 2


def test_malformed_model_card_is_refused(tiny_weights, tmp_path):
    w = tmp_path / "m.safetensors"
    w.write_bytes(tiny_weights.read_bytes())
    for text, reason in [
        ("{not json", "malformed model card"),
        ('{"arch": "nope", "config": {}}', "unknown model"),
        ('{"arch": "lumen"}', "must be an object"),
    ]:
        w.with_suffix(".json").write_text(text)
        load_enhancer.cache_clear()
        with pytest.raises(ValueError, match=reason):
            load_enhancer(str(w))
    os.remove(w.with_suffix(".json"))
    with pytest.raises(ValueError, match="model card missing"):
        load_enhancer(str(w))


def test_full_disk_gives_a_clear_error_and_loses_nothing(tiny_weights, tmp_path, monkeypatch, capsys):
    import errno

    _photo_tree(tmp_path / "in", 2)
    originals = {p: p.read_bytes() for p in (tmp_path / "in").rglob("*.png")}

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    code = cli(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(tiny_weights), "-q"])
    assert code == 1 and "No space left on device" in capsys.readouterr().out
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]  # no partial file left behind
    assert all(p.read_bytes() == data for p, data in originals.items())


def test_output_folder_that_is_a_file_is_a_clear_error(tiny_weights, tmp_path, capsys):
    write_image(tmp_path / "in" / "a.png", smooth_photo(16, 16))
    (tmp_path / "out").write_text("I am a file")
    code = cli(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(tiny_weights), "-q"])
    assert code == 1 and "a.png" in capsys.readouterr().out


def test_demo_writes_the_comparison_and_scores(tiny_weights, tmp_path, capsys):
    assert cli(["demo", "-o", str(tmp_path / "demo"), "--model", str(tiny_weights)]) == 0
    out = capsys.readouterr().out
    assert "input    (lowlight): PSNR" in out and "restored" in out
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["comparison.png", "input.png", "restored.png"]
    assert Image.open(tmp_path / "demo" / "comparison.png").size[0] > 800


def test_exposure_cue_is_the_same_for_numpy_and_torch_and_tracks_brightness():
    from darkroom.exposure import exposure_cue

    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 300, 400), dtype=np.float32)
    x[1] *= 0.1
    a, b = exposure_cue(x), exposure_cue(torch.from_numpy(x)).numpy()
    assert a.shape == (2, 5) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert a[1, 0] < a[0, 0] / 5 and a[1, 4] > a[0, 4]  # darker: lower mean, more dark pixels


def test_the_full_exposure_cue_adds_the_highlight_level():
    from darkroom.exposure import exposure_cue

    photo = smooth_photo(256, 320).transpose(2, 0, 1)
    x = np.stack([photo, 0.4 * photo])  # a photo, and the same photo darkened as a whole
    full, short = exposure_cue(x, 6), exposure_cue(x)
    assert full.shape == (2, 6)
    np.testing.assert_array_equal(full[:, :5], short)  # the shipped lumen's five numbers are unchanged
    np.testing.assert_allclose(full, exposure_cue(torch.from_numpy(x), 6).numpy(), atol=1e-5)
    luminance = 0.299 * photo[0] + 0.587 * photo[1] + 0.114 * photo[2]
    blocks = luminance.reshape(64, 4, 80, 4).mean((1, 3))  # the 99th percentile of 4x4 block means
    assert full[0, 5] == pytest.approx(np.quantile(blocks, 0.99), abs=1e-5)
    assert full[1, 5] == pytest.approx(0.4 * full[0, 5], rel=1e-4)
    with pytest.raises(ValueError, match="5, 6 or 7 numbers, not 4"):
        exposure_cue(x, 4)


def test_the_longest_cue_ends_with_the_persons_intent():
    from darkroom.exposure import exposure_cue

    x = smooth_photo(40, 50).transpose(2, 0, 1)[None]
    brighten, keep = exposure_cue(x, 7), exposure_cue(torch.from_numpy(x), 7, keep=True).numpy()
    np.testing.assert_allclose(brighten[:, :6], exposure_cue(x, 6), atol=1e-6)
    np.testing.assert_allclose(keep[:, :6], brighten[:, :6], atol=1e-5)
    assert brighten[0, 6] == 0.0 and keep[0, 6] == 1.0


def test_keep_exposure_tells_the_model_the_intent():
    """``exposure="keep"`` sets the cue's seventh number for every tile and for an ROI; a model built to
    read 6 numbers cuts it off (see test_a_lumen_that_reads_the_intent_starts_as_the_one_it_grew_from)."""
    photo = np.full((64, 80, 3), 0.1, np.float32)
    for exposure, intent in (("auto", 0.0), ("keep", 1.0)):
        enh, seen = _cue_recorder()
        enhance(photo, enh, exposure=exposure)
        enhance(photo, enh, exposure=exposure, roi=(10, 10, 30, 30))
        assert len(seen) == 2 and all(cue.shape == (1, 7) and cue[0, 6] == intent for cue in seen)


def test_a_lumen_that_reads_the_intent_starts_as_the_one_it_grew_from(tmp_path, monkeypatch):
    """A 6-number lumen widened to read the intent (``init_from``) gives the same output whatever the
    intent until it is trained; torch and ONNX Runtime agree on a trained-looking one, intent and all."""
    from darkroom.checkpoint import init_from_weights

    monkeypatch.setenv("DARKROOM_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(2)
    six = create_model("lumen", **dict(TINY, cue_size=6))
    with torch.no_grad():
        for p in six.parameters():
            p.normal_(0, 0.2) if p.dim() > 1 else p.uniform_(-0.1, 0.1)
    seven = create_model("lumen", **dict(TINY, cue_size=7))
    assert init_from_weights(seven, save_model(tmp_path / "six.safetensors", six, "lumen", dict(TINY, cue_size=6)))
    x = smooth_photo(64, 80)
    for exposure in ("auto", "keep"):  # "keep" also divides any brightening out (darkroom.keep_exposure)
        before = enhance(x, six, exposure=exposure, guard=False, ensemble=1)
        np.testing.assert_allclose(enhance(x, seven, exposure=exposure, guard=False, ensemble=1), before, atol=1e-6)
    with torch.no_grad():
        seven.cue_mlp[0].weight[:, 6].normal_(0, 1.0)  # as if training had found the intent useful
    weights = save_model(tmp_path / "seven.safetensors", seven, "lumen", dict(TINY, cue_size=7))
    outputs = {}
    for backend in ("torch", "onnx"):
        enh = load_enhancer(str(weights), backend)
        for exposure in ("auto", "keep"):
            outputs[backend, exposure] = enhance(x, enh, exposure=exposure, guard=False, ensemble=1, tile=64)
    assert np.abs(outputs["torch", "auto"] - outputs["onnx", "auto"]).max() < 1e-4
    # keep_exposure divides by the brightening, which magnifies float rounding where a block was dark
    assert np.abs(outputs["torch", "keep"] - outputs["onnx", "keep"]).max() < 1e-3
    assert np.abs(outputs["torch", "keep"] - outputs["torch", "auto"]).max() > 1e-3


def test_a_lumen_with_its_own_intent_layers_gives_the_default_of_the_one_it_grew_from(tmp_path, monkeypatch):
    """``intent_film``: whatever ``intent_mlp`` has learnt, the default (``exposure="auto"``, intent 0)
    is the 6-number network's output exactly, and only ``intent_mlp`` is new when it grows from one;
    with the intent 1 it changes the output, and torch and ONNX Runtime agree in both modes."""
    from darkroom.checkpoint import init_from_weights

    monkeypatch.setenv("DARKROOM_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(4)
    six = create_model("lumen", **dict(TINY, cue_size=6))
    with torch.no_grad():
        for p in six.parameters():
            p.normal_(0, 0.2) if p.dim() > 1 else p.uniform_(-0.1, 0.1)
    config = dict(TINY, cue_size=7, intent_film=True)
    seven = create_model("lumen", **config)
    six_weights = save_model(tmp_path / "six.safetensors", six, "lumen", dict(TINY, cue_size=6))
    new = init_from_weights(seven, six_weights)
    assert new and all(name.startswith("intent_mlp.") for name in new)
    with torch.no_grad():  # as if training had taught it the intent
        for p in seven.intent_mlp.parameters():
            p.normal_(0, 0.5)
    weights = save_model(tmp_path / "seven.safetensors", seven, "lumen", config)
    x = smooth_photo(64, 80)
    six_enh = load_enhancer(str(six_weights), "torch")
    before = enhance(x, six_enh, guard=False, ensemble=1, tile=64)
    outputs = {}
    for backend in ("torch", "onnx"):
        enh = load_enhancer(str(weights), backend)
        for exposure in ("auto", "keep"):
            outputs[backend, exposure] = enhance(x, enh, exposure=exposure, guard=False, ensemble=1, tile=64)
    np.testing.assert_array_equal(outputs["torch", "auto"], before)
    assert np.abs(outputs["onnx", "auto"] - before).max() < 1e-4
    assert np.abs(outputs["torch", "keep"] - outputs["onnx", "keep"]).max() < 1e-3
    kept_by_six = enhance(x, six_enh, exposure="keep", guard=False, ensemble=1, tile=64)
    assert np.abs(outputs["torch", "keep"] - kept_by_six).max() > 1e-3
    with pytest.raises(ValueError, match="intent_film needs"):
        create_model("lumen", **dict(TINY, cue_size=6, intent_film=True))


def test_noise_does_not_raise_the_highlight_level():
    """A darkened, noisy photo must not read as a dim photo that kept its highlights."""
    from darkroom.exposure import exposure_cue

    dark = 0.4 * smooth_photo(256, 320).transpose(2, 0, 1)[None]
    noisy = np.clip(dark + np.random.default_rng(0).normal(0, 0.2, dark.shape), 0, 1).astype(np.float32)
    clean_level, noisy_level = exposure_cue(dark, 6)[0, 5], exposure_cue(noisy, 6)[0, 5]
    pixel_level = np.quantile(0.299 * noisy[0, 0] + 0.587 * noisy[0, 1] + 0.114 * noisy[0, 2], 0.99)
    assert noisy_level < clean_level + 0.1 < pixel_level  # single pixels would have read it far brighter


def test_a_lumen_reading_the_highlight_level_agrees_across_backends(tmp_path, monkeypatch):
    from darkroom.exposure import exposure_cue

    monkeypatch.setenv("DARKROOM_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(1)
    config = dict(TINY, cue_size=6)
    model = create_model("lumen", **config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2) if p.dim() > 1 else p.uniform_(-0.1, 0.1)
    weights = save_model(tmp_path / "six.safetensors", model, "lumen", config)
    x = smooth_photo(100, 140)
    with_torch = enhance(x, load_enhancer(str(weights), "torch"), tile=64, overlap=32)
    with_onnx = enhance(x, load_enhancer(str(weights), "onnx"), tile=64, overlap=32)
    assert np.abs(with_torch - with_onnx).max() < 1e-4
    # the sixth number matters to this network: a cue with another highlight level changes the output
    photo = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
    full = exposure_cue(photo, 6)
    other = full.clone()
    other[:, 5] = 0.2
    with torch.no_grad():
        assert not torch.allclose(model(photo, full), model(photo, other))


def _cue_recorder() -> tuple[Enhancer, list]:
    """An identity enhancer that wants the exposure cue and records every cue it is given."""
    seen = []

    def run(x, cue):
        seen.append(cue)
        return x

    return Enhancer("recorder", run, 16, {}, uses_cue=True), seen


def test_every_tile_gets_the_exposure_cue_of_the_whole_photo():
    from darkroom.engine import image_cue, run_tiled

    enh, seen = _cue_recorder()
    photo = np.zeros((600, 700, 3), np.float32)
    photo[:, 350:] = 0.9  # a dark half and a bright half: per-tile cues would differ
    out = run_tiled(enh, photo, tile=256, overlap=32)
    assert len(seen) > 4
    np.testing.assert_allclose(out, photo, atol=1e-6)
    for cue in seen:
        np.testing.assert_array_equal(cue, image_cue(enh, photo))


def test_an_roi_is_brightened_by_its_own_exposure_cue():
    from darkroom.engine import image_cue

    enh, seen = _cue_recorder()
    photo = np.full((200, 300, 3), 0.9, np.float32)
    photo[50:100, 60:160] = 0.05
    enhance(photo, enh, roi=(60, 50, 100, 50))
    np.testing.assert_array_equal(seen[0], image_cue(enh, photo[50:100, 60:160]))


@pytest.mark.parametrize("photo_kind", ["black-and-white", "colour"])
def test_the_flagship_removes_grain_shared_by_all_channels(photo_kind):
    """Noise drawn once for all three channels (a black-and-white photo's noise, or brightness grain) is
    noise too: the flagship should take out at least 5 dB of it at sigma 25, as it does of noise drawn per
    channel (8.6 dB on Kodak24).  Both go through :mod:`darkroom.grey`: without it the shipped lumen gained
    0.7 dB here on the colour photo."""
    from darkroom.degrade import apply_preset
    from darkroom.demo import ASSET
    from darkroom.io import read_image
    from darkroom.metrics import psnr

    clean = read_image(ASSET)[:256, 128:384]
    if photo_kind == "black-and-white":
        clean = np.repeat(clean.mean(axis=-1, keepdims=True), 3, axis=-1)
    noisy = apply_preset(clean, "grain25", rng=0)
    gain = psnr(enhance(noisy, "lumen", backend="torch", ensemble=1), clean) - psnr(np.clip(noisy, 0, 1), clean)
    assert gain >= 5.0


@pytest.mark.parametrize(
    ("h", "w", "tile"),
    [(3000, 4000, 1600), (3024, 4032, 1024), (500, 20000, 512), (97, 1301, 16), (30000, 40000, 1024)],
)
def test_tile_grid_cuts_few_times_and_keeps_every_tile_within_the_square_tiles_pixels(h, w, tile):
    from darkroom.engine import _windows, tile_grid

    overlap, multiple = 192 if tile > 16 else 8, 16 if tile > 16 else 8
    core_h, core_w = tile_grid(h, w, tile, overlap, multiple)
    assert core_h % multiple == 0 and core_w % multiple == 0
    rows, cols = _windows(h, core_h, overlap), _windows(w, core_w, overlap)
    longest = max(b - a for a, b, _, _ in rows) * max(b - a for a, b, _, _ in cols)
    assert longest <= (tile + 2 * overlap) ** 2  # memory: no tile larger than a square one with context
    run = sum(b - a for a, b, _, _ in rows) * sum(b - a for a, b, _, _ in cols)
    square_rows, square_cols = _windows(h, tile, overlap), _windows(w, tile, overlap)
    assert run <= sum(b - a for a, b, _, _ in square_rows) * sum(b - a for a, b, _, _ in square_cols)
    covered = np.zeros(w, bool)
    for a, b, lo, hi in cols:
        covered[a + lo : b - hi] = True  # every column lies in some tile's core
    assert covered.all()


def test_tile_grid_cuts_a_12_megapixel_photo_2_by_2_under_lumens_onnx_tile():
    from darkroom.engine import tile_grid
    from darkroom.models import get_spec

    spec = get_spec("lumen")
    assert tile_grid(3000, 4000, spec.onnx_tile, spec.overlap, spec.multiple) == (1504, 2000)
    assert tile_grid(1000, 1000, spec.tile, spec.overlap, spec.multiple) == (1008, 1008)  # one tile: whole
