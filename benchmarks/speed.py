"""Speed benchmark: megapixels per second and peak memory of each shipped image model.

    python benchmarks/speed.py [--models lumen dncnn] [--sizes 1 12] [--backends torch onnx] [--merge]

Each measurement runs in a fresh process (so peak RSS is that run's own) on a random photo of the
given size, with the engine's default tiling and one pass of the model (the flagship's default above 2
megapixels; on smaller photos it averages 2 or 4 passes by default, which takes 2 or 4 times as long: see
``darkroom.engine.AUTO_ENSEMBLE`` and benchmarks/ensemble_check.py).  Writes benchmarks/results/speed.json
and speed.md; with ``--merge`` the rows already there for other models, backends and sizes are kept.  Each row
names the CPU it was measured on (machines differ between sessions, and so do the seconds).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

ONE_RUN = r"""
import json, resource, sys, time
import numpy as np
from darkroom.engine import enhance, load_enhancer
name, backend, mp = sys.argv[1], sys.argv[2], float(sys.argv[3])
w = int(round((mp * 1e6 * 4 / 3) ** 0.5)); h = int(round(mp * 1e6 / w))
enh = load_enhancer(name, backend)
enhance(np.random.default_rng(1).random((256, 256, 3), dtype=np.float32), enh)  # warm-up
x = np.random.default_rng(0).random((h, w, 3), dtype=np.float32) * 0.3
t = time.perf_counter(); enhance(x, enh, ensemble=1); dt = time.perf_counter() - t
print(json.dumps({"model": name, "backend": backend, "megapixels": round(h * w / 1e6, 2), "width": w, "height": h,
                  "seconds": round(dt, 2), "megapixels_per_second": round(h * w / 1e6 / dt, 3),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def main() -> None:
    from darkroom.checkpoint import WEIGHTS_DIR, read_card
    from darkroom.machine import cpu_description
    from darkroom.models import get_spec

    shipped = [
        p.stem
        for p in sorted(WEIGHTS_DIR.glob("*.safetensors"))
        if get_spec(read_card(p.with_suffix(".json"))["arch"]).kind == "image"
    ]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="*", default=shipped)
    p.add_argument("--sizes", nargs="*", type=float, default=[1, 12])
    p.add_argument("--backends", nargs="*", default=["torch", "onnx"])
    p.add_argument("--merge", action="store_true", help="keep the rows of speed.json this run does not measure")
    a = p.parse_args()
    rows, cpu = [], cpu_description()
    if a.merge and (RESULTS / "speed.json").exists():
        measured = {(m, b, round(s, 1)) for m in a.models for b in a.backends for s in a.sizes}
        old = json.loads((RESULTS / "speed.json").read_text())
        rows = [r for r in old if (r["model"], r["backend"], round(r["megapixels"], 1)) not in measured]
    for model in a.models:
        for backend in a.backends:
            for mp in a.sizes:
                done = subprocess.run(
                    [sys.executable, "-c", ONE_RUN, model, backend, str(mp)], capture_output=True, text=True
                )
                if done.returncode != 0:
                    print(f"{model} {backend} {mp} MP failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
                    continue
                rows.append({**json.loads(done.stdout.strip().splitlines()[-1]), "cpu": cpu})
                print(rows[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = ["| model | backend | megapixels | seconds | MP/s | peak RSS (MB) | CPU |", "|---|---|---|---|---|---|---|"]
    lines += [
        f"| {r['model']} | {r['backend']} | {r['megapixels']} | {r['seconds']} | {r['megapixels_per_second']} |"
        f" {r['peak_rss_mb']} | {r.get('cpu', 'not recorded')} |"
        for r in rows
    ]
    (RESULTS / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
