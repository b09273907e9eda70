"""benchmarks/gpu_run.py: which photos travel to a GPU machine, and the weights that come back."""

from conftest import load_benchmark


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
