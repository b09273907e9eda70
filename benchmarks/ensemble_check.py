"""Ensemble check: what averaging the flagship over flips and quarter turns buys, and costs.

    python benchmarks/ensemble_check.py [--model lumen] [--sizes 1 2 4 8] [--rows cbsd68:gauss25 ...]

``darkroom enhance --ensemble N`` (``enhance(..., ensemble=N)``) runs the model on N of a photo's
eight flips and quarter turns, turns each output back and averages them before the highlight guard
and even gain.  This check scores each ensemble size on evaluation rows (the same seeded inputs as
``benchmarks/run_all.sh``) with ONNX Runtime, the default backend, and times it.  Writes
benchmarks/results/ensemble/ensemble-check.json and .md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from compare_candidate import row_samples
from tqdm import tqdm

OUT = Path(__file__).parent / "results" / "ensemble"
ROWS = ("cbsd68:gauss15", "cbsd68:gauss25", "cbsd68:gauss50", "kodak24:dark-gauss", "kodak24:lowlight",
        "kodak24:identity", "realnoise-cc")  # fmt: skip


def score_row(enh, row: str, sizes: list[int], datasets: Path) -> dict:
    """Mean PSNR and seconds per megapixel of each ensemble size on one row."""
    from darkroom.engine import enhance
    from darkroom.metrics import psnr

    name, samples, *_ = row_samples(row, datasets)
    scores = {n: [] for n in sizes}
    seconds = dict.fromkeys(sizes, 0.0)
    pixels = sum(s.inp.shape[0] * s.inp.shape[1] for s in samples) / 1e6
    for s in tqdm(samples, desc=name, unit="photo", leave=False):
        for n in sizes:
            start = time.perf_counter()
            out = enhance(s.inp, enh, ensemble=n)
            seconds[n] += time.perf_counter() - start
            scores[n].append(psnr(np.clip(out, 0, 1), s.ref))
    return {
        "row": name,
        "n": len(samples),
        "psnr": {str(n): round(float(np.mean(v)), 2) for n, v in scores.items()},
        "seconds_per_megapixel": {str(n): round(seconds[n] / pixels, 3) for n in sizes},
    }


def main() -> None:
    from darkroom.engine import ENSEMBLES, load_enhancer
    from darkroom.io import atomic_write_bytes
    from darkroom.machine import cpu_description

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="lumen")
    ap.add_argument("--sizes", nargs="+", type=int, default=list(ENSEMBLES), choices=ENSEMBLES)
    ap.add_argument("--rows", nargs="+", default=list(ROWS))
    ap.add_argument("--datasets", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    args = ap.parse_args()
    enh = load_enhancer(args.model, "onnx")
    enh(np.random.default_rng(1).random((256, 256, 3), dtype=np.float32))  # session and imports, untimed
    datasets = Path(args.datasets)
    rows = [score_row(enh, row, args.sizes, datasets) for row in tqdm(args.rows, desc="ensemble", unit="row")]
    report = {"model": args.model, "backend": "onnx", "cpu": cpu_description(), "sizes": args.sizes, "rows": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(OUT / "ensemble-check.json", (json.dumps(report, indent=1) + "\n").encode())
    head = " | ".join(f"x{n}" for n in args.sizes)
    lines = [
        f"# Ensemble check: `{args.model}` averaged over flips and quarter turns (PSNR in dB)",
        "",
        f"`python benchmarks/ensemble_check.py`; ONNX Runtime on {report['cpu']}. "
        "Last column: seconds per megapixel at each size.",
        "",
        f"| row | photos | {head} | s/MP |",
        "|---|---|" + "---|" * len(args.sizes) + "---|",
    ]
    for r in rows:
        cells = " | ".join(f"{r['psnr'][str(n)]:.2f}" for n in args.sizes)
        times = " / ".join(f"{r['seconds_per_megapixel'][str(n)]:.2f}" for n in args.sizes)
        lines.append(f"| {r['row']} | {r['n']} | {cells} | {times} |")
    atomic_write_bytes(OUT / "ensemble-check.md", ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))


if __name__ == "__main__":
    main()
