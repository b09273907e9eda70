"""Ship a training run's latest checkpoint as a package model with its model card.

    python benchmarks/ship_weights.py runs/lumen --name lumen --trained-for "dark + noisy photos, blind"
    python benchmarks/ship_weights.py runs/lumen --name lumen --results benchmarks/results/*.json  # add scores
    python benchmarks/ship_weights.py runs/a runs/b --name lumen --trained-for "..."  # their average
    python benchmarks/ship_weights.py old.safetensors runs/b --name lumen  # shipped weights averaged with a run
    python benchmarks/ship_weights.py runs/c --name lumen  # a run trained on from shipped weights (init_from)

Writes ``src/darkroom/weights/NAME.safetensors`` and ``NAME.json``: architecture, config, parameters,
GFLOP per megapixel, data, degradations, steps, wall time, hardware, and, with ``--results``, every
score of this model found in evaluation JSON files.  Several run folders (fine-tuned from one start)
ship their equal-weight average (``checkpoint.average_models``; ``--shares`` weighs them); the card
lists each run's recipe, steps and wall time under ``averaged_from``.  An ingredient may also be
weights shipped before, copied out with their card: the card then carries that card's account, as
it does under ``grown_from`` for a single run whose ``init_from`` is shipped weights with a card.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from darkroom.checkpoint import WEIGHTS_DIR, average_models, load_model, read_card, save_model
from darkroom.evaluate import SCORE_KEYS
from darkroom.machine import cpu_description
from darkroom.models import get_spec
from darkroom.train import MACHINES, TrainConfig, mix_config


def wall_seconds(log_csv: Path) -> float:
    """Training wall time summed over the segments of a resumed run (``seconds`` restarts at each)."""
    total, last = 0.0, 0.0
    with log_csv.open() as f:
        for row in csv.DictReader(f):
            s = float(row["seconds"] or 0)
            if s < last:
                total += last
            last = s
    return total + last


def trained_on(run: Path) -> str:
    """The machines a run trained on (its ``machines.txt``), or, for a run from before that file, the
    machine shipping it, said as such."""
    path = run / MACHINES
    if path.exists():  # each line names the torch it trained with (from session 25); older lines do not
        lines = path.read_text().splitlines()
        said = "; ".join(lines)
        return said if all(", torch " in line for line in lines) else f"{said}, torch {torch.__version__}"
    return f"not recorded (shipped from {cpu_description()}), torch {torch.__version__}"


def gflop_per_megapixel(model: torch.nn.Module, arch: str) -> float | None:
    if get_spec(arch).kind != "image":
        return None
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.rand(1, 3, 512, 512))
    return round(counter.get_total_flops() / 1e9 / (512 * 512 / 1e6), 2)


def scores_from(results: list[Path], name: str) -> list[dict]:
    out = []
    for path in results:
        report = json.loads(path.read_text())
        if not isinstance(report, dict):  # speed.json: see speed_from
            continue
        for m in report["methods"]:
            if m["method"] == name:
                keep = {k: m.get(k) for k in SCORE_KEYS if m.get(k) is not None}
                out.append({"dataset": report["dataset"], "preset": report["preset"], "n": report["n"], **keep})
    return out


HALF_ABOVE_BYTES = 8_000_000
"""Weights larger than this in float32 are shipped as float16."""


def speed_from(results: list[Path], name: str) -> list[dict]:
    """This model's rows of benchmarks/results/speed.json, if it is among ``results``."""
    rows = []
    for path in results:
        data = json.loads(path.read_text())
        if isinstance(data, list):
            rows += [{k: v for k, v in r.items() if k != "model"} for r in data if r.get("model") == name]
    return rows


def model_facts(model: torch.nn.Module, arch: str) -> dict:
    """The card's size and cost of ``model``: parameters and GFLOP per megapixel."""
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "gflop_per_megapixel": gflop_per_megapixel(model, arch),
    }


def run_card(run: Path) -> dict:
    """What a training run folder says of how its latest checkpoint was made: data, degradations,
    recipe, steps, wall time, hardware and the last validation score."""
    config = json.loads((run / "config.json").read_text())
    log = run / "log.csv"
    rows = list(csv.DictReader(log.open()))
    val = [r for r in rows if r.get("val_psnr")]
    return {
        "data": config["data"],
        "data_kind": config["data_kind"],
        "degradations": config["presets"],
        **({"mix": dataclasses.asdict(mix_config(TrainConfig(**config)))} if "mix" in config["presets"] else {}),
        **({"started_from": config["init_from"]} if config.get("init_from") else {}),
        "recipe": {
            k: config[k]
            for k in ("patch_size", "batch_size", "loss", "optimizer", "lr", "schedule", "iterations", "seed")
            if k in config
        },
        "steps": int(rows[-1]["step"]) if rows else 0,
        "wall_time_hours": round(wall_seconds(log) / 3600, 2),
        "hardware": trained_on(run),
        "validation": {
            "held_out": "last images of the training source (val_split) or the held-out digits",
            "final_val_psnr": round(float(val[-1]["val_psnr"]), 3) if val else None,
        },
    }


SHIPPED_CARD_KEYS = (
    "trained_for",
    "data",
    "steps",
    "wall_time_hours",
    "hardware",
    "averaged_from",
    "grown_from",
    "note",
)


def ingredient_card(source: Path) -> dict:
    """What a soup's card says of one ingredient: a run folder's training (:func:`run_card`), or for
    weights shipped before (a ``.safetensors`` file with its card beside it) that card's account of them."""
    if source.suffix == ".safetensors":
        card = read_card(source.with_suffix(".json"))["card"]
        return {"weights": str(source), **{k: card[k] for k in SHIPPED_CARD_KEYS if k in card}}
    return {"run": str(source), **run_card(source)}


def grown_from(run: dict, start: dict) -> dict:
    """The card of a run trained on from shipped weights: the run's own account with the start's
    (:func:`ingredient_card`) under ``grown_from``, and steps, wall time and hardware counting both."""
    return {
        **run,
        "grown_from": start,
        "steps": start.get("steps", 0) + run["steps"],
        "wall_time_hours": round(start.get("wall_time_hours", 0) + run["wall_time_hours"], 2),
        "hardware": "; ".join(dict.fromkeys(h for h in (start.get("hardware"), run["hardware"]) if h)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, nargs="+", help="a run folder, several to ship their average, or shipped weights")
    p.add_argument("--name", required=True)
    p.add_argument("--trained-for", default="")
    p.add_argument("--results", nargs="*", type=Path, default=[])
    p.add_argument("--note", default="")
    p.add_argument("--shares", nargs="+", type=float, help="one share per run of a soup (default: equal)")
    a = p.parse_args()
    target = WEIGHTS_DIR / f"{a.name}.safetensors"
    if len(a.run) == 1 and a.run[0].suffix == ".safetensors":  # refresh only the card of shipped weights
        model, card = load_model(a.run[0])
        base = read_card(a.run[0].with_suffix(".json"))["card"]
    elif len(a.run) == 1:
        model, card = load_model(a.run[0])
        base = {"trained_for": a.trained_for, **model_facts(model, card["arch"]), **run_card(a.run[0])}
        start = Path(base.get("started_from", ""))
        if start.suffix == ".safetensors" and start.with_suffix(".json").exists():  # trained on from shipped weights
            base = grown_from(base, ingredient_card(start))
    else:  # a model soup: the average of runs (or shipped weights) fine-tuned from one start
        model, card = average_models(a.run, a.shares)
        runs = [ingredient_card(r) for r in a.run]
        base = {
            "trained_for": a.trained_for,
            **model_facts(model, card["arch"]),
            "averaged_from": runs,
            **({"shares": a.shares} if a.shares else {}),
            "data": runs[0]["data"],
            "steps": sum(r["steps"] for r in runs),
            "wall_time_hours": round(sum(r["wall_time_hours"] for r in runs), 2),
            "hardware": "; ".join(dict.fromkeys(r["hardware"] for r in runs)),
        }
    if a.note:
        base["note"] = a.note
    if a.results:
        a.results = list(dict.fromkeys(p.resolve() for p in a.results))  # a file named twice counts once
        base["evaluation"] = scores_from(a.results, a.name)
        if get_spec(card["arch"]).self_ensemble:  # the rows were scored as users get it: see engine.auto_ensemble
            base["evaluation_passes"] = (
                "the engine's default (darkroom.engine.AUTO_ENSEMBLE): 4 passes over flips and quarter turns up to "
                "1 MP, 2 up to 2 MP, 1 above; every evaluation photo is under 1 MP"
            )
        base["speed"] = speed_from(a.results, a.name) or base.get("speed", [])
    params = sum(p.numel() for p in model.parameters())
    half = params * 4 > HALF_ABOVE_BYTES  # keeps every shipped file a few MB; load_model reads it back as float32
    base["stored_as"] = "float16" if half else "float32"
    save_model(target, model, card["arch"], card["config"], base, half=half)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB) and its card")


if __name__ == "__main__":
    main()
