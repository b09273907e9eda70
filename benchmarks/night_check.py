"""Are real dark photos brightened? Night photos with bright lights, model by model.

    python benchmarks/night_check.py [--models lumen runs/lumen-v18] [--folder ../shared/datasets/eval/lowlight-sci]

A photo darkened as a whole has no highlights; a night photo keeps its lamps and windows bright. A
model that learned "bright highlights mean a dim photo meant to look dim" hands night photos back as
dark as they came. For every photo under ``--folder`` (real low-light photos, no references) this
reports the input's median luminance and highlight level (:func:`darkroom.exposure.highlight_level`)
and, per model, the output's mean luminance, lightness-order error and NIQE. A photo whose input median
is below ``--dark-median`` is *left dark* when the output's mean luminance is within 5% of the input's.

Writes ``benchmarks/results/night/night-check.json`` and ``.md`` and ``docs/night-check.jpg``: the
``--show`` dark photos with the highest highlight levels (the night photos), input beside each model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from darkroom.engine import enhance, load_enhancer
from darkroom.exposure import REC601, highlight_level
from darkroom.io import atomic_write_bytes, find_images, read_image
from darkroom.metrics import loe
from darkroom.niqe import niqe
from darkroom.viz import comparison_grid

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "night"
LEFT_DARK = 0.05
"""An output whose mean luminance is within this fraction of the input's was not brightened."""


def luminance(x: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` in [0, 1] -> ``(H, W)``, Rec. 601 weights."""
    return x @ np.asarray(REC601, np.float32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["lumen"])
    p.add_argument("--folder", default=str(ROOT.parent / "shared" / "datasets" / "eval" / "lowlight-sci"))
    p.add_argument("--dark-median", type=float, default=0.12, help="inputs darker than this should be brightened")
    p.add_argument("--show", type=int, default=4, help="photos in the figure")
    a = p.parse_args()
    enhancers = {m: load_enhancer(m) for m in a.models}
    rows, kept = [], []
    for path in tqdm(find_images(a.folder), desc="night check", unit="photo"):
        x = read_image(path)  # RGB (H, W, 3), whatever the file held
        lx = luminance(x)
        row = {
            "photo": str(path.relative_to(a.folder)),
            "median": round(float(np.median(lx)), 3),
            "highlight": round(highlight_level(x), 3),
            "models": {},
        }
        outs = []
        for name, enh in enhancers.items():
            out = enhance(x, enh)
            mean = float(luminance(out).mean())
            row["models"][name] = {
                "mean": round(mean, 3),
                "gain": round(mean / max(float(lx.mean()), 1e-6), 2),
                "loe": round(loe(out, x), 1),
                "niqe": round(niqe(out), 3),
            }
            outs.append(out)
        rows.append(row)
        if row["median"] < a.dark_median:
            kept.append((row["highlight"], row, [x, *outs]))
    dark = [r for r in rows if r["median"] < a.dark_median]
    summary = {
        m: {
            "left_dark": sum(abs(r["models"][m]["gain"] - 1) < LEFT_DARK for r in dark),
            "dark_photos": len(dark),
            "mean_brightness": round(float(np.mean([r["models"][m]["mean"] for r in rows])), 3),
            "loe": round(float(np.mean([r["models"][m]["loe"] for r in rows])), 1),
            "niqe": round(float(np.mean([r["models"][m]["niqe"] for r in rows])), 3),
        }
        for m in a.models
    }
    report = {"folder": a.folder, "dark_median": a.dark_median, "summary": summary, "photos": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(OUT / "night-check.json", (json.dumps(report, indent=1) + "\n").encode())
    lines = [
        f"# Night check on `{Path(a.folder).name}` ({len(rows)} photos)",
        "",
        f"`python benchmarks/night_check.py --models {' '.join(a.models)}`. *Left dark*: of the {len(dark)} photos",
        f"with an input median below {a.dark_median}, those whose output's mean luminance is within"
        f" {LEFT_DARK:.0%} of the input's.",
        "",
        "| model | left dark | mean brightness | LOE | NIQE |",
        "|---|---|---|---|---|",
    ]
    for m, s in summary.items():
        lines.append(
            f"| {m} | {s['left_dark']} of {s['dark_photos']} | {s['mean_brightness']:.3f} | {s['loe']:.0f} |"
            f" {s['niqe']:.2f} |"
        )
    lines += ["", "| photo | median | highlight | " + " | ".join(f"{m} gain" for m in a.models) + " |"]
    lines.append("|---" * (3 + len(a.models)) + "|")
    for r in rows:
        gains = " | ".join(f"{r['models'][m]['gain']:.2f}" for m in a.models)
        lines.append(f"| {r['photo']} | {r['median']:.3f} | {r['highlight']:.2f} | {gains} |")
    atomic_write_bytes(OUT / "night-check.md", ("\n".join(lines) + "\n").encode())
    shown = sorted(kept, key=lambda k: -k[0])[: a.show]
    comparison_grid(
        [images for _, _, images in shown],
        ROOT / "docs" / "night-check.jpg",
        column_titles=["input", *a.models],
        captions=[
            [f"{r['photo']}: median {r['median']:.2f}, highlight {r['highlight']:.2f}"]
            + [f"brightness x{r['models'][m]['gain']:.2f}" for m in a.models]
            for _, r, _ in shown
        ],
        tile_width=4.0,
    )
    print("\n".join(lines[: 8 + len(summary)]))


if __name__ == "__main__":
    main()
