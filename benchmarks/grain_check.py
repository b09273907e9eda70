"""Where the engine finds grain: which evaluation inputs lumen sees through :func:`darkroom.grey.grain_sigma`.

    python benchmarks/grain_check.py [--sets kodak24 cbsd68] [--presets gauss25 grain25 ...]

A colour photo whose noise is shared by its channels (grain) is shown to lumen with colour noise added
(:mod:`darkroom.grey`); every other colour photo is shown as it is.  So a row's lumen score changes with that
step only on the photos where grain is found.  For every preset on each set (each photo degraded as
``benchmarks/run_all.sh`` degrades it: same seed), for the real noise pairs and for the real low-light photos,
this counts the colour photos where grain is found, after impulse filling as the engine runs it, and the
estimated std.  No network runs: it takes a minute or two.  Writes benchmarks/results/grain/grain-check.json
and .md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from compare_candidate import row_samples
from tqdm import tqdm

from darkroom.degrade import PRESETS
from darkroom.grey import grain_sigma, is_grey
from darkroom.impulse import fill_impulses
from darkroom.io import atomic_write_bytes, find_images, read_image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "grain"


def check(name: str, photos: list[np.ndarray]) -> dict:
    """How many of the colour ``photos`` (each ``(H, W, 3)``) have grain found, and its std (of 255)."""
    found = [grain_sigma(fill_impulses(x)) * 255 for x in photos if not is_grey(x)]
    hits = [s for s in found if s > 0]
    return {
        "row": name,
        "colour_photos": len(found),
        "grain_found": len(hits),
        "median_sigma": round(float(np.median(hits)), 2) if hits else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    p.add_argument("--sets", nargs="+", default=["kodak24", "cbsd68"])
    p.add_argument("--presets", nargs="+", default=[name for name in PRESETS if name != "mnist"])
    a = p.parse_args()
    datasets = Path(a.datasets)
    rows = [f"{s}:{preset}" for s in a.sets for preset in a.presets] + ["realnoise-cc"]
    results = []
    for row in tqdm(rows, desc="grain check", unit="row"):
        name, samples, _, _ = row_samples(row, datasets)
        results.append(check(name, [s.inp for s in samples]))
    lowlight = datasets / "eval" / "lowlight-sci"
    if lowlight.is_dir():
        results.append(check("lowlight-sci", [read_image(path) for path in find_images(lowlight)]))
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(OUT / "grain-check.json", json.dumps({"rows": results}, indent=1).encode())
    lines = [
        "# Where the engine finds grain",
        "",
        "Colour photos on which `darkroom.grey.grain_sigma` finds grain, so lumen is shown them with colour noise",
        "added; every other photo is shown as it is. Std of 255. `python benchmarks/grain_check.py`",
        "",
        "| row | colour photos | grain found | median std found |",
        "|---|---|---|---|",
    ]
    for r in results:
        sigma = "" if r["median_sigma"] is None else f"{r['median_sigma']:.1f}"
        lines.append(f"| {r['row']} | {r['colour_photos']} | {r['grain_found']} | {sigma} |")
    atomic_write_bytes(OUT / "grain-check.md", ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))


if __name__ == "__main__":
    main()
