"""Exposure check: does a model keep dim photos dim and brighten darkened ones?

    python benchmarks/exposure_check.py [--models lumen runs/lumen-v7] [--count 16] [--crop 320]

The flagship's central trade: a photo darkened as a whole and a dim but well-exposed photo can look
alike.  This check makes four versions of each held-out training photo (by default the last 16 of
bsds400, which the lumen recipes hold out for validation and never train on), each with a little
noise, enhances them and scores each against its own reference:

* ``low-key``: ``0.9 x ** 1.8`` (dark mid-tones, highlights kept); the reference is itself, so
  the model should leave it alone;
* ``low-key-dim``: the same, only the photos whose low-key version is dim rather than dark (median
  luminance at least ``--dark-median``, 0.12, the line :mod:`night_check` draws): below it, darkroom
  brightens by design, as real night photos need, and a photo meant to be that dark takes
  ``exposure="keep"``;
* ``low-key-keep``: every low-key photo enhanced with ``exposure="keep"`` (denoise only);
* ``deep-low-key``: :func:`darkroom.degrade.low_key` at a median of 0.05 with an upper quartile of at
  least 0.35, its shadows bent down (``max_shadow_gamma`` 4) where the black point alone cannot reach
  that median, clean: half the photo near black beside a well-exposed quarter, as a portrait on a black
  studio background is.  Its own reference; darkroom brightens photos this dark by design (a median
  below 0.12), so this case measures what that rule costs such photos;
* ``deep-low-key-keep``: the same photos with ``exposure="keep"``;
* ``dim-0.6``: ``0.6 x``, an under-exposed photo that is also the reference;
* ``dark-0.35``: the ``dark-gauss`` preset, reference ``x``;
* ``dark-0.35-keep``: the same inputs with ``exposure="keep"``, reference ``0.35 x``, the photo as
  dark as it came without its noise: what a person who keeps a dark photo dark gets;
* ``dark-0.25-gamma1.5``: ``0.25 x ** 1.5`` plus noise, reference ``x``;
* ``night-0.08``: :func:`darkroom.degrade.night` (``0.08 x ** 1.2`` but for the brightest 3% of
  pixels at 0.5 or more, kept with a 3 px glow) plus noise, reference ``x``: a dark photo with
  bright lights, which should be brightened too.

It reports PSNR and the mean brightness shift (output mean minus reference mean; positive is
brighter), and for each model after the first the photo that lost most against the first: a mean
over 16 photos hides one photo flipped between "brighten" and "leave alone", which costs 7 dB or
more on its own.  Writes benchmarks/results/exposure/exposure-check.json and .md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "exposure"
CASES = (
    "low-key",
    "low-key-dim",
    "low-key-keep",
    "deep-low-key",
    "deep-low-key-keep",
    "dim-0.6",
    "dark-0.35",
    "dark-0.35-keep",
    "dark-0.25-gamma1.5",
    "night-0.08",
)
KEEP = ("low-key-keep", "deep-low-key-keep", "dark-0.35-keep")
"""Cases enhanced with ``exposure="keep"``."""


def make_case(case: str, x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(input, reference)`` for one case; ``x`` ``(H, W, 3)`` in [0, 1]."""
    from darkroom import degrade as dg

    if case.startswith("low-key"):
        ref = (0.9 * x**1.8).astype(np.float32)
        return dg.gaussian(ref, 5 / 255, clip=True, rng=seed), ref
    if case == "deep-low-key":
        ref = dg.low_key(x, 0.05, min_upper=0.35, max_shadow_gamma=4.0)
        return ref, ref
    if case == "dim-0.6":
        ref = (0.6 * x).astype(np.float32)
        return dg.gaussian(ref, 5 / 255, clip=True, rng=seed), ref
    if case == "dark-0.35":
        return dg.apply_preset(x, "dark-gauss", rng=seed), x
    if case == "dark-0.25-gamma1.5":
        return dg.gaussian(dg.darken(x, 0.25, gamma=1.5), 10 / 255, clip=True, rng=seed), x
    if case == "night-0.08":
        return dg.gaussian(dg.night(x, 0.08, gamma=1.2, lights=0.03, glow=3.0), 5 / 255, clip=True, rng=seed), x
    raise ValueError(f"unknown case {case!r}")


def median_luminance(x: np.ndarray) -> float:
    """The median Rec. 601 luminance of ``x`` ``(H, W, 3)`` in [0, 1]."""
    from darkroom.exposure import REC601

    return float(np.median(x @ np.array(REC601, np.float32)))


def make_cases(names: list[str], photos: list[np.ndarray], dark_median: float) -> dict[str, list[tuple]]:
    """case -> ``(photo name, input, reference)`` for every photo the case scores."""
    from darkroom.degrade import darken

    pairs = {
        case: [(n, *make_case(case, x, i)) for i, (n, x) in enumerate(zip(names, photos))]
        for case in CASES
        if not case.startswith("low-key-") and case not in KEEP
    }
    low_key = pairs["low-key"]  # the low-key variants score the same inputs: made once
    pairs["low-key-dim"] = [t for t in low_key if median_luminance(t[1]) >= dark_median]
    pairs["low-key-keep"] = low_key
    pairs["deep-low-key-keep"] = pairs["deep-low-key"]
    pairs["dark-0.35-keep"] = [(n, inp, darken(x, 0.35)) for (n, inp, x) in pairs["dark-0.35"]]
    return {case: pairs[case] for case in CASES}


def check(model: str, cases: dict[str, list[tuple[str, np.ndarray, np.ndarray]]]) -> dict:
    """Scores of one model on ``cases`` (case -> ``(name, input, reference)``): per case, mean
    PSNR, mean and largest brightness shift, and each photo's PSNR by name."""
    from darkroom.engine import enhance, load_enhancer
    from darkroom.metrics import psnr

    enh = load_enhancer(model, "torch")
    rows = {}
    for case, pairs in cases.items():
        scores, shifts = [], []
        for _, inp, ref in pairs:
            out = np.clip(enhance(inp, enh, exposure="keep" if case in KEEP else "auto"), 0, 1)
            scores.append(psnr(out, ref))
            shifts.append(float(out.mean() - ref.mean()))
        rows[case] = {
            "psnr": round(float(np.mean(scores)), 2),
            "mean_shift": round(float(np.mean(shifts)), 3),
            "largest_shift": round(float(np.max(shifts)), 3),
            "per_photo": {name: round(float(v), 2) for (name, _, _), v in zip(pairs, scores)},
        }
    return rows


def lost_most(report: dict) -> list[str]:
    """Markdown lines: for each model after the first, per case, the photo whose PSNR fell most
    against the first model (empty when only one model was checked)."""
    names = list(report["models"])
    if len(names) < 2:
        return []
    base = report["models"][names[0]]
    lines = ["", f"Photo that lost most against {names[0]} (PSNR in dB):", ""]
    lines += ["| model | " + " | ".join(CASES) + " |", "|---" * (len(CASES) + 1) + "|"]
    for m in names[1:]:
        cells = []
        for case in CASES:
            before, after = base[case]["per_photo"], report["models"][m][case]["per_photo"]
            name = min(before, key=lambda n: after[n] - before[n])
            cells.append(f"{name}: {before[name]:.2f} -> {after[name]:.2f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    from darkroom.io import read_image

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["lumen"])
    ap.add_argument("--data", default="../shared/datasets/train/bsds400")
    ap.add_argument("--count", type=int, default=16, help="the last COUNT photos of --data (held out)")
    ap.add_argument("--crop", type=int, default=320, help="top-left crop of each photo, in pixels")
    ap.add_argument("--dark-median", type=float, default=0.12, help="low-key-dim scores photos at least this bright")
    args = ap.parse_args()
    files = sorted(p for p in Path(args.data).iterdir() if p.is_file())[-args.count :]
    photos = [read_image(p)[: args.crop, : args.crop] for p in files]
    cases = make_cases([p.name for p in files], photos, args.dark_median)  # one set for all models
    report = {
        "photos": [p.name for p in files],
        "crop": args.crop,
        "dark_median": args.dark_median,
        "low_key_dim_photos": len(cases["low-key-dim"]),
        "models": {m: check(m, cases) for m in args.models},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "exposure-check.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Exposure check ({len(files)} held-out photos of {args.data}, {args.crop} px crops)",
        "",
        "PSNR in dB / mean brightness shift (largest shift). low-key and dim-0.6 should stay as they are;",
        "the dark and night cases should be brightened back to the photo. low-key-dim: the"
        f" {len(cases['low-key-dim'])} low-key photos with a median of {args.dark_median} or more (dim, not dark);"
        ' low-key-keep: every low-key photo with `exposure="keep"`; deep-low-key: clean low-key photos with a'
        ' median of 0.05 and a well-exposed quarter, brightened by design (-keep: with `exposure="keep"`);'
        ' dark-0.35-keep: dark-0.35 with `exposure="keep"`, scored against the darkened photo without noise.',
        "",
        "| model | " + " | ".join(CASES) + " |",
        "|---" * (len(CASES) + 1) + "|",
    ]
    for m, rows in report["models"].items():
        cells = [f"{r['psnr']:.2f} / {r['mean_shift']:+.3f} ({r['largest_shift']:+.3f})" for r in rows.values()]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += lost_most(report)
    (OUT / "exposure-check.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
