"""Write benchmarks/results/README.md from the evaluation JSON files beside it (see run_all.sh)."""

from __future__ import annotations

import json
from pathlib import Path

from darkroom.baselines import CLASSICAL
from darkroom.engine import DEFAULT_MODEL

RESULTS = Path(__file__).parent / "results"

# Published PSNR (dB) from ../shared/datasets/README.md: Gaussian noise on the clean image, unclipped.
PUBLISHED = {
    "cbsd68": {
        "gauss15": (33.52, 33.90, 33.87, 34.30, 34.40),
        "gauss25": (30.71, 31.24, 31.21, 31.69, 31.79),
        "gauss50": (27.38, 27.95, 27.96, 28.51, 28.60),
    },
    "kodak24": {
        "gauss15": (34.28, 34.60, 34.63, 35.31, 35.47),
        "gauss25": (31.68, 32.14, 32.13, 32.89, 33.04),
        "gauss50": (28.46, 28.95, 28.98, 29.86, 30.01),
    },
    "set12": {
        "gauss15": (32.37, 32.86, 32.75, 33.25, 33.42),
        "gauss25": (29.97, 30.44, 30.43, 30.94, 31.08),
        "gauss50": (26.72, 27.18, 27.32, 27.90, 28.00),
    },
    "bsd68": {
        "gauss15": (31.08, 31.73, 31.63, 31.91, 31.96),
        "gauss25": (28.57, 29.23, 29.19, 29.48, 29.52),
        "gauss50": (25.60, 26.23, 26.29, 26.59, 26.62),
    },
}
PUBLISHED_NAMES = ("BM3D/CBM3D", "DnCNN", "FFDNet", "DRUNet", "Restormer")
ORIGINAL_CLAIMS = [
    ("MNIST denoising autoencoder (seed 004), its own split", "mnist", "23.2-23.6 dB"),
    ("paired low-light CNN (seed 002), its own LOL-style split", "lowlight", "27.07 dB"),
    ("LLCNN + MS-SSIM/L1 web app (seed 003), its own split", "lowlight", "29.35 dB / SSIM 0.9298"),
]


def fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def _marked(v: float | None, best: float) -> str:
    """A PSNR cell, bold when it is the row's best."""
    return "-" if v is None else (f"**{v:.2f}**" if v == best else f"{v:.2f}")


def summary(reports: list[dict]) -> list[str]:
    """One line per scored row: the input, the best classical method, the flagship and any other model (PSNR)."""
    lines = [
        "## Summary (PSNR in dB; the best of each row in bold)",
        "",
        f"| set · preset | input | best classical | {DEFAULT_MODEL} | other models | published DnCNN |",
        "|---|---|---|---|---|---|",
    ]
    for r in reports:
        scores = {m["method"]: m.get("psnr") for m in r["methods"] if m.get("psnr") is not None}
        if not scores:
            continue
        best = max(scores.values())
        classical = [(v, m) for m, v in scores.items() if m in CLASSICAL]
        top = max(classical) if classical else None
        others = [m for m in scores if m not in CLASSICAL and m not in ("identity", DEFAULT_MODEL)]
        published = PUBLISHED.get(r["dataset"], {}).get(r["preset"])
        lines.append(
            f"| {r['dataset']} · `{r['preset']}` | {_marked(scores.get('identity'), best)} | "
            f"{f'{top[1]} {_marked(top[0], best)}' if top else '-'} | {_marked(scores.get(DEFAULT_MODEL), best)} | "
            f"{', '.join(f'{m} {_marked(scores[m], best)}' for m in others) or '-'} | "
            f"{f'{published[1]:.2f}' if published else '-'} |"
        )
    return lines + [""]


def main() -> None:
    reports = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json")) if p.name != "speed.json"]
    lines = [
        "# darkroom benchmark results",
        "",
        "Regenerate everything with `bash benchmarks/run_all.sh` (this page: `python benchmarks/results_page.py`).",
        "Every method sees the same degraded inputs (seed 0). PSNR in dB on [0, 1] images, outputs clipped; SSIM as",
        "scikit-image (Gaussian window, sigma 1.5); *GT-mean* columns rescale the output to the reference's mean first",
        "(a protocol some low-light papers use; reported beside, never instead of, the plain numbers).",
        "Grey sets (Set12, BSD68) are read as RGB with three equal channels and, as published, get grey noise: one",
        "noise field for all three (before session 19 they got noise per channel, three looks at each pixel).",
        f"`{DEFAULT_MODEL}` runs as `darkroom enhance` runs it by default: averaged over 4 flips and quarter turns",
        "of each tile on photos up to 1 MP (every photo here), so its s/MP is about 4 times one pass's; the other",
        "models run once.",
        "",
        *summary(reports),
    ]
    for r in reports:
        name = f"{r['dataset']}-{r['preset']}"
        lines += [f"## {r['dataset']} · `{r['preset']}` · {r['n']} images", ""]
        no_ref = any("loe" in m for m in r["methods"])
        if no_ref:
            lines += ["| method | LOE (lower: order kept) | mean brightness | NIQE | s/MP |", "|---|---|---|---|---|"]
            lines += [
                f"| {m['method']} | {fmt(m.get('loe'), 1)} | {fmt(m.get('brightness'), 3)} | "
                f"{fmt(m.get('niqe'), 2)} | {fmt(m.get('seconds_per_megapixel'), 3)} |"
                for m in r["methods"]
            ]
        else:
            lines += [
                "| method | PSNR | SSIM | MS-SSIM | PSNR GT-mean | SSIM GT-mean | s/MP |",
                "|---|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {m['method']} | {fmt(m.get('psnr'))} | {fmt(m.get('ssim'), 4)} | {fmt(m.get('msssim'), 4)} | "
                f"{fmt(m.get('psnr_gtmean'))} | {fmt(m.get('ssim_gtmean'), 4)} | "
                f"{fmt(m.get('seconds_per_megapixel'), 3)} |"
                for m in r["methods"]
            ]
            published = PUBLISHED.get(r["dataset"], {}).get(r["preset"])
            if published:
                lines += [f"| *published {n}* | *{v:.2f}* | | | | | |" for n, v in zip(PUBLISHED_NAMES, published)]
            for label, preset, claim in ORIGINAL_CLAIMS:
                if preset == r["preset"]:
                    lines.append(f"| *original claim: {label}* | *{claim}* | | | | | |")
        figure = next((f for f in (f"{name}.jpg", f"{name}.png") if (RESULTS / f).exists()), None)
        if figure:
            lines += ["", f"![{name}]({figure})"]
        lines.append("")
    speed = RESULTS / "speed.md"
    if speed.exists():
        lines += ["## Speed (2-core CPU, `python benchmarks/speed.py`)", "", speed.read_text()]
    (RESULTS / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'README.md'} from {len(reports)} reports")


if __name__ == "__main__":
    main()
