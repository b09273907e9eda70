"""Advice check: which photos does darkroom's low-key note name?

    python benchmarks/advice_check.py [--model lumen] [--eval ../shared/datasets/eval]

:func:`darkroom.advice.looks_low_key` should pick out photos that are dark by intent (a dark half
beside a well-exposed quarter) and never a photo that was darkened or shot at night, which
darkroom brightens by design.  This check runs it on:

* CBSD68 and Kodak24, clean and made dark by the ``lowlight``, ``dark-gauss`` and ``dark-sp``
  presets (the inputs ``darkroom evaluate`` scores);
* lowlight-sci's night photos and realnoise-cc's noisy camera photos, as they are;
* the ``deep-low-key`` case of ``exposure_check.py``: the last 16 bsds400 photos made low-key
  (median 0.05, upper quartile at least 0.35).

For each photo it names, it enhances the photo with ``--model`` and reports whether the note would
be printed (its shadows lifted).  Writes benchmarks/results/advice/advice-check.json and .md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "results" / "advice"
SETS = ("cbsd68", "kodak24")
PRESETS = ("identity", "lowlight", "dark-gauss", "dark-sp")
AS_THEY_ARE = ("lowlight-sci", "realnoise-cc/noisy")


def groups(eval_dir: Path, train_dir: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """group name -> ``(photo name, image)``, every image ``(H, W, 3)`` in [0, 1]."""
    from darkroom.degrade import low_key
    from darkroom.evaluate import reference_samples
    from darkroom.io import find_images, read_image

    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    for name in SETS:
        for preset in PRESETS:
            samples = reference_samples(str(eval_dir / name), preset)
            out[f"{name}:{preset}"] = [(s.name, np.clip(s.inp, 0, 1).astype(np.float32)) for s in samples]
    for name in AS_THEY_ARE:
        out[name] = [(str(p.relative_to(eval_dir / name)), read_image(p)) for p in find_images(eval_dir / name)]
    held_out = sorted(p for p in train_dir.iterdir() if p.is_file())[-16:]
    out["bsds400:deep-low-key"] = [
        (p.name, low_key(read_image(p), 0.05, min_upper=0.35, max_shadow_gamma=4.0)) for p in held_out
    ]
    return out


def main() -> None:
    from darkroom.advice import looks_low_key, shadows_lifted
    from darkroom.engine import enhance, load_enhancer

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="lumen")
    ap.add_argument("--eval", default="../shared/datasets/eval")
    ap.add_argument("--train", default="../shared/datasets/train/bsds400", help="deep-low-key's photos")
    args = ap.parse_args()
    enhancer = load_enhancer(args.model)
    report: dict = {"model": args.model, "groups": {}}
    for group, images in groups(Path(args.eval), Path(args.train)).items():
        named = [(n, x) for n, x in images if looks_low_key(x)]
        noted = [n for n, x in named if shadows_lifted(x, enhance(x, enhancer, ensemble=1))]
        report["groups"][group] = {
            "photos": len(images),
            "looks_low_key": [n for n, _ in named],
            "noted": noted,
        }
        print(f"{group}: {len(named)} of {len(images)} look low-key, {len(noted)} noted")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "advice-check.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Advice check ({args.model}, one pass)",
        "",
        "Photos that look low-key (median luminance below 0.12, upper quartile at least 0.35), and of those the",
        "ones whose shadows the model lifted, which `darkroom enhance` names in a note suggesting `--exposure keep`.",
        "",
        "| group | photos | look low-key | noted |",
        "|---|---|---|---|",
    ]
    for group, row in report["groups"].items():
        looks = ", ".join(row["looks_low_key"]) or "none"
        noted = ", ".join(row["noted"]) or "none"
        lines.append(f"| {group} | {row['photos']} | {looks} | {noted} |")
    (OUT / "advice-check.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
