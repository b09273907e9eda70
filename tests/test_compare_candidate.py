"""benchmarks/compare_candidate.py: per-photo changes between two methods on a small made-up row."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import load_benchmark, smooth_photo


def test_a_row_reports_both_means_and_the_photo_that_lost_most(tmp_path, monkeypatch):
    compare = load_benchmark("compare_candidate")
    folder = tmp_path / "eval" / "tiny"
    folder.mkdir(parents=True)
    for i in range(3):
        Image.fromarray((smooth_photo(48, 48, seed=i) * 255).astype(np.uint8)).save(folder / f"p{i}.png")
    monkeypatch.setattr(compare, "RESULTS", tmp_path / "results")  # no stored report: both methods are scored

    row = compare.compare_row("tiny:gauss25", "median3", "identity", tmp_path)
    _, samples, *_ = compare.row_samples("tiny:gauss25", tmp_path)
    from darkroom.evaluate import evaluate

    scores = {r["method"]: r for r in evaluate(samples, ["identity", "median3"], progress=False, keep_outputs=0)[0]}
    base, cand = ([im["psnr"] for im in scores[m]["images"]] for m in ("identity", "median3"))
    assert row["against"] == round(scores["identity"]["psnr"], 2)
    assert row["candidate"] == round(scores["median3"]["psnr"], 2)
    assert row["photos_better"] == sum(c > b for b, c in zip(base, cand)) and row["n"] == 3
    change = np.subtract(cand, base)
    assert (row["photos_gained_1db"], row["photos_lost_1db"]) == (int((change > 1).sum()), int((change < -1).sum()))
    assert row["photos_gained_1db"] > 0  # median3 on sigma 25 noise gains several dB on every photo
    lost = int(np.argmin(np.subtract(cand, base)))
    assert row["worst_photo"]["name"] == f"p{lost}" and row["worst_photo"]["candidate"] == round(cand[lost], 2)
    assert row["best_classical"] is None  # only a stored report names the best classical method
    assert "| tiny-gauss25 | - |" in compare.to_markdown("median3", "identity", [row])
    json.dumps(row)  # the report is plain JSON


def test_a_report_goes_beside_its_candidate_and_never_into_the_shipped_weights(tmp_path):
    compare = load_benchmark("compare_candidate")
    from darkroom.checkpoint import WEIGHTS_DIR

    run = tmp_path / "runs" / "soup"
    run.mkdir(parents=True)
    (run / "model.safetensors").write_bytes(b"")
    assert compare.default_out(str(run)) == run
    assert compare.default_out(str(run / "model.safetensors")) == run
    assert compare.default_out(str(Path(WEIGHTS_DIR) / "lumen.safetensors")) == compare.RESULTS / "candidates"
    assert compare.default_out("lumen") == compare.RESULTS / "candidates"
