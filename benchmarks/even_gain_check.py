"""What even gain does on real low-light photos: lightness-order error and NIQE with and without it.

    python benchmarks/even_gain_check.py [--model lumen] [--folder ../shared/datasets/eval/lowlight-sci]

Every photo under ``--folder`` is enhanced by the model through the engine with even gain
(:mod:`darkroom.even_gain`) turned off, then evened as the engine evens it, so each photo is scored
without and with it (the highlight guard is on in both).  Writes
``benchmarks/results/even-gain/even-gain.json`` and ``.md`` (per photo and mean) and
``docs/even-gain.png``: the photos where even gain moved the most blocks, before and after.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from darkroom.engine import enhance, load_enhancer
from darkroom.even_gain import even_out_gain
from darkroom.impulse import fill_impulses
from darkroom.io import atomic_write_bytes, find_images, read_image
from darkroom.metrics import loe
from darkroom.niqe import niqe
from darkroom.viz import comparison_grid

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "even-gain"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="lumen")
    p.add_argument("--folder", default=str(ROOT.parent / "shared" / "datasets" / "eval" / "lowlight-sci"))
    p.add_argument("--show", type=int, default=3, help="photos in the figure")
    a = p.parse_args()
    shipped = load_enhancer(a.model)
    if not shipped.evens_gain:
        raise SystemExit(f"{a.model} does not ask for even gain")
    without = replace(shipped, evens_gain=False)
    rows, kept = [], []
    for path in tqdm(find_images(a.folder), desc="even gain", unit="photo"):
        x = read_image(path)  # RGB (H, W, 3), whatever the file held
        raw = enhance(x, without)
        # the engine's last step, as enhance(x, shipped) runs it: on what the network saw, after the highlight guard
        out, moved = even_out_gain(fill_impulses(x), raw.copy())
        rows.append(
            {
                "photo": str(path.relative_to(a.folder)),
                "blocks_moved": round(moved, 3),
                "loe_without": round(loe(raw, x), 1),
                "loe_with": round(loe(out, x), 1),
                "niqe_without": round(niqe(raw), 3),
                "niqe_with": round(niqe(out), 3),
            }
        )
        kept.append((moved, path.stem, x, raw, out))
    mean = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in rows[0] if k != "photo"}
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(
        OUT / "even-gain.json", json.dumps({"model": a.model, "mean": mean, "photos": rows}, indent=1).encode()
    )
    lines = [
        f"# Even gain on `{Path(a.folder).name}` ({len(rows)} photos, `{a.model}`)",
        "",
        "Lightness-order error (lower: the output keeps the input's order of bright and dark) and NIQE (lower: more",
        "natural), with the highlight guard on in both columns. `python benchmarks/even_gain_check.py`",
        "",
        "| photo | blocks moved | LOE without | LOE with | NIQE without | NIQE with |",
        "|---|---|---|---|---|---|",
    ]
    for r in [*rows, {"photo": "**mean**", **mean}]:
        lines.append(
            f"| {r['photo']} | {r['blocks_moved']:.0%} | {r['loe_without']:.0f} | {r['loe_with']:.0f} |"
            f" {r['niqe_without']:.2f} | {r['niqe_with']:.2f} |"
        )
    atomic_write_bytes(OUT / "even-gain.md", ("\n".join(lines) + "\n").encode())
    shown = sorted(kept, key=lambda k: -k[0])[: a.show]
    comparison_grid(
        [[x, raw, out] for _, _, x, raw, out in shown],
        ROOT / "docs" / "even-gain.png",
        column_titles=["input", f"{a.model} without even gain", f"{a.model} (shipped)"],
        captions=[[name, f"{moved:.0%} of blocks moved", ""] for moved, name, *_ in shown],
        tile_width=4.5,
    )
    print(f"mean LOE {mean['loe_without']} -> {mean['loe_with']}, NIQE {mean['niqe_without']} -> {mean['niqe_with']}")


if __name__ == "__main__":
    main()
