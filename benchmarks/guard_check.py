"""Guard check: what the highlight guard does on top of even gain, photo by photo.

    python benchmarks/guard_check.py [--model lumen] [--rows kodak24:dark-gauss realnoise-cc]

Stage 12c's night photos came back with block-shaped blotches and dark rings around lamps, and
the network's own output had neither: the highlight guard (:mod:`darkroom.highlights`) made them.
It held every bright block to 1.2 times the median gain of the bright blocks, but a photo
brightened by a steep tone curve lifts its darker "bright" blocks (a wet road, the halo round a
lamp) far more than its brightest, and the guard pulled them down block by block.  Since session
15 a block may gain what a falling tone curve through the bright blocks gives at its brightness
(:func:`darkroom.highlights.reference_gain`), and the rings are gone.  Even gain
(:mod:`darkroom.even_gain`), which runs after it, holds every block to the typical gain at its
own brightness, so on the compare rows the guard changes next to nothing.  Where the network
wrongly brightens a photo, though, the guard is what keeps its highlights from clipping (the
exposure check's low-key 8049: 17.96 dB with it, 12.29 without, 2% of pixels clipped).

For each row of ``compare_candidate.py`` and each case of ``exposure_check.py`` this scores the
model's output after both steps (the engine's default for lumen) and after even gain alone,
photo by photo, from one network pass.  Writes benchmarks/results/guard/guard-check.json and .md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from compare_candidate import DEFAULT_ROWS, row_samples
from exposure_check import make_cases

OUT = Path(__file__).parent / "results" / "guard"


def score(name: str, samples: list[tuple[str, np.ndarray, np.ndarray]], enh) -> dict:
    """PSNR of each ``(photo name, input, reference)`` enhanced by ``enh`` (an
    :class:`darkroom.engine.Enhancer`) with guard and even gain, and with even gain alone."""
    from darkroom.engine import enhance
    from darkroom.even_gain import even_out_gain
    from darkroom.highlights import guard_highlights
    from darkroom.impulse import fill_impulses
    from darkroom.metrics import psnr

    both, even = [], []
    for _, inp, ref in samples:
        seen = fill_impulses(inp) if enh.fills_impulses else inp
        raw = enhance(inp, enh, guard=False)  # the network's output, impulses filled first
        both.append(psnr(even_out_gain(seen, guard_highlights(seen, raw.copy())[0])[0], ref))
        even.append(psnr(even_out_gain(seen, raw.copy())[0], ref))
    worst = int(np.argmin(np.subtract(even, both)))
    return {
        "row": name,
        "guard_and_even": round(float(np.mean(both)), 2),
        "even_only": round(float(np.mean(even)), 2),
        "change": round(float(np.mean(even) - np.mean(both)), 2),
        "photos_changed": int(np.sum(np.abs(np.subtract(even, both)) > 0.01)),
        "worst_photo": {
            "name": samples[worst][0],
            "guard_and_even": round(both[worst], 2),
            "even_only": round(even[worst], 2),
        },
    }


def main() -> None:
    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="lumen")
    ap.add_argument("--rows", nargs="+", default=list(DEFAULT_ROWS))
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--exposure-data", default="../shared/datasets/train/bsds400", help="exposure_check.py's photos")
    a = ap.parse_args()
    from darkroom.io import read_image

    jobs = []
    for r in a.rows:
        name, samples, *_ = row_samples(r, Path(a.datasets))
        jobs.append((name, [(s.name, s.inp, s.ref) for s in samples]))
    files = sorted(p for p in Path(a.exposure_data).iterdir() if p.is_file())[-16:]  # as exposure_check.py
    photos = [read_image(p)[:320, :320] for p in files]
    for case, samples in make_cases([p.name for p in files], photos, 0.12).items():
        if case != "low-key-keep":  # keep divides the brightening out: the guard has nothing left to do
            jobs.append((f"exposure {case}", samples))
    from darkroom.engine import load_enhancer

    enh = load_enhancer(a.model, "torch")
    rows = [score(name, samples, enh) for name, samples in tqdm(jobs, desc="guard check", unit="row")]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "guard-check.json").write_text(json.dumps({"model": a.model, "rows": rows}, indent=2) + "\n")
    lines = [
        f"# Guard check: `{a.model}` with the highlight guard and even gain, and with even gain alone (PSNR in dB)",
        "",
        f"`python benchmarks/guard_check.py --model {a.model}`",
        "",
        "| row | guard + even gain | even gain alone | change | photos changed | photo that lost most |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        w = r["worst_photo"]
        lines.append(
            f"| {r['row']} | {r['guard_and_even']:.2f} | {r['even_only']:.2f} | {r['change']:+.2f} | "
            f"{r['photos_changed']} | {w['name']}: {w['guard_and_even']:.2f} -> {w['even_only']:.2f} |"
        )
    (OUT / "guard-check.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
