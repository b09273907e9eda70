"""The ``darkroom`` command: a thin face over the Python API.

Heavy modules (torch, OpenCV, ONNX Runtime) are imported inside each command, so
``darkroom --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_degrade(a: argparse.Namespace) -> int:
    import zlib

    import numpy as np

    from .batch import run_batch
    from .degrade import apply_preset
    from .io import read_image, write_image

    def process(src: Path, dst: Path) -> None:
        rng = np.random.default_rng([a.seed, zlib.crc32(src.name.encode())])  # same seed, same pixels per file
        y = apply_preset(read_image(src), a.preset, rng=rng)
        write_image(dst, y, float32=a.float)

    report = run_batch(a.inputs, a.output, process, fmt="tiff" if a.float else "png", force=True, progress=not a.quiet)
    print(report.summary())
    return 1 if report.failed else 0


def _cmd_enhance(a: argparse.Namespace) -> int:
    import numpy as np

    from .advice import keep_exposure_advice
    from .batch import run_batch
    from .engine import enhance_file, load_enhancer, parse_roi

    roi = parse_roi(a.roi) if a.roi else None
    enhancer = load_enhancer(a.model, a.backend)
    advice: list[str] = []

    def process(src: Path, dst: Path) -> None:
        def advise(before: np.ndarray, after: np.ndarray) -> None:
            note = keep_exposure_advice(str(src), before, after, "--exposure keep") if a.exposure == "auto" else None
            if note:
                advice.append(note)

        enhance_file(
            src,
            dst,
            enhancer,
            roi=roi,
            tile=a.tile,
            overlap=a.overlap,
            max_pixels=a.max_pixels,
            guard=False if a.no_guard else None,
            exposure=a.exposure,
            ensemble=a.ensemble,
            on_result=advise,
        )

    report = run_batch(a.inputs, a.output, process, fmt=a.format, force=a.force, progress=not a.quiet)
    print(report.summary())
    for note in advice:
        print(f"note: {note}")
    return 1 if report.failed else 0


def _cmd_models(a: argparse.Namespace) -> int:
    from .checkpoint import WEIGHTS_DIR, read_card
    from .models import get_spec, list_models

    shipped = {p.stem: read_card(p.with_suffix(".json")) for p in sorted(WEIGHTS_DIR.glob("*.safetensors"))}
    if a.json:
        print(json.dumps({k: v["card"] | {"arch": v["arch"]} for k, v in shipped.items()}, indent=2))
        return 0
    print(f"{'model':<14} {'arch':<13} {'params':>8} {'GFLOP/MP':>9}  trained for")
    for name, card in shipped.items():
        c = card["card"]
        gflop = c.get("gflop_per_megapixel")
        print(
            f"{name:<14} {card['arch']:<13} {(c.get('parameters') or 0) / 1e6:>7.2f}M "
            f"{'-' if gflop is None else f'{gflop:.1f}':>9}  {c.get('trained_for', '')}"
        )
    print("\narchitectures you can train: " + ", ".join(f"{n}" for n in list_models()))
    if a.verbose:
        for n in list_models():
            print(f"  {n:<13} {get_spec(n).description}")
    return 0


def _cmd_train(a: argparse.Namespace) -> int:
    from .train import NonFiniteLossError, TrainConfig, train

    cfg = TrainConfig.from_file(a.config, a.set)
    try:
        result = train(cfg, resume=a.resume, progress=not a.quiet)
    except NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    print(f"last checkpoint: {result.checkpoint} (step {result.step})")
    return 0


def _cmd_export(a: argparse.Namespace) -> int:
    from .onnx_backend import export_onnx

    print(export_onnx(a.model, a.output))
    return 0


def _cmd_average(a: argparse.Namespace) -> int:
    from .checkpoint import CheckpointError, average_models, resolve_weights, save_model

    out = Path(a.output)
    if out.suffix != ".safetensors":
        raise CheckpointError(f"{out}: the averaged model is written as NAME.safetensors")
    if any(out.resolve() == resolve_weights(s).resolve() for s in a.models):
        raise CheckpointError(f"{out}: is one of the models to average; write the average elsewhere")
    model, card = average_models(a.models, a.weights)
    shares = a.weights or [1.0] * len(a.models)
    sources = [{"source": str(m), "weight": round(w / sum(shares), 6)} for m, w in zip(a.models, shares)]
    print(save_model(out, model, card["arch"], card["config"], {"averaged_from": sources}))
    return 0


def _cmd_convert(a: argparse.Namespace) -> int:
    import torch

    from .checkpoint import save_model
    from .models import create_model, full_config

    state = torch.load(a.checkpoint, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    config = full_config(a.arch)
    model = create_model(a.arch, **config)
    model.load_state_dict(state)
    print(save_model(a.output, model, a.arch, config, {"converted_from": str(a.checkpoint)}))
    return 0


def _cmd_demo(a: argparse.Namespace) -> int:
    from .demo import run_demo

    s = run_demo(a.output, model=a.model, preset=a.preset, seed=a.seed)
    print(f"input    ({a.preset}): PSNR {s['input_psnr']:6.2f} dB  SSIM {s['input_ssim']:.4f}")
    print(f"restored ({a.model}):   PSNR {s['restored_psnr']:6.2f} dB  SSIM {s['restored_ssim']:.4f}")
    print(f"wrote {Path(a.output) / 'comparison.png'}")
    return 0


def _cmd_serve(a: argparse.Namespace) -> int:
    from .app import serve

    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {a.host}: other machines can reach this server", file=sys.stderr)
    serve(a.host, a.port, max_upload_mb=a.max_upload_mb, queue_size=a.queue_size)
    return 0


def _cmd_evaluate(a: argparse.Namespace) -> int:
    from .evaluate import main as evaluate_main

    return evaluate_main(a)


def build_parser() -> argparse.ArgumentParser:
    from .engine import BACKENDS, ENSEMBLE_CHOICES, EXPOSURES

    p = argparse.ArgumentParser(prog="darkroom", description="Restore dark and noisy photographs with CNNs.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("enhance", help="enhance photos (files, folders, globs) into an output folder")
    s.add_argument("inputs", nargs="+")
    s.add_argument("-o", "--output", required=True, help="output folder (the input tree is mirrored)")
    s.add_argument("--model", default="lumen", help="shipped model name, .safetensors, run folder or .onnx")
    s.add_argument("--roi", help="enhance only X,Y,W,H and blend it in with a feathered edge")
    s.add_argument(
        "--tile",
        type=int,
        help="tile size in pixels, bounds memory: no tile holds more pixels than a square core of this side"
        " with its context (default: the model's)",
    )
    s.add_argument("--overlap", type=int, help="context each tile sees beyond its core (default: the model's)")
    s.add_argument("--backend", choices=BACKENDS, default="auto", help="auto: ONNX if it works")
    s.add_argument("--format", choices=["png", "jpg", "tiff"], help="output format (default: the input's)")
    s.add_argument("--force", action="store_true", help="redo outputs that already exist")
    s.add_argument(
        "--no-guard",
        action="store_true",
        help="keep the model's brightening as it made it (the flagship's highlight guard and even gain are on)",
    )
    s.add_argument(
        "--exposure",
        choices=EXPOSURES,
        default="auto",
        help="auto: brighten as the model judges; keep: remove noise only, for photos meant to be dark",
    )
    s.add_argument(
        "--ensemble",
        choices=ENSEMBLE_CHOICES,
        default="auto",
        help="average the model over N flips and quarter turns of each tile: N times slower, a little cleaner "
        "(auto: 4 passes up to 1 MP and 2 up to 2 MP for the flagship, 1 otherwise)",
    )
    s.add_argument("--max-pixels", type=int, default=None, help="refuse larger images (default 100 MP)")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=_cmd_enhance)

    s = sub.add_parser("degrade", help="write degraded copies of clean images with a named preset")
    s.add_argument("inputs", nargs="+")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--preset", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--float", action="store_true", help="write float32 TIFF so unclipped noise survives")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=_cmd_degrade)

    s = sub.add_parser("models", help="list shipped models and trainable architectures")
    s.add_argument("--json", action="store_true")
    s.add_argument("-v", "--verbose", action="store_true")
    s.set_defaults(func=_cmd_models)

    s = sub.add_parser("train", help="train a model from a recipe; --resume continues a run where it stopped")
    s.add_argument("--config", help="YAML or TOML recipe (see recipes/)")
    s.add_argument("--resume", action="store_true", help="continue the run in the output folder exactly")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=_cmd_train)

    s = sub.add_parser("export", help="export a model to ONNX with dynamic height and width")
    s.add_argument("--model", default="lumen")
    s.add_argument("-o", "--output", required=True)
    s.set_defaults(func=_cmd_export)

    s = sub.add_parser("convert", help="convert a PyTorch state dict (read with weights_only=True) to safetensors")
    s.add_argument("checkpoint")
    s.add_argument("--arch", required=True)
    s.add_argument("-o", "--output", required=True)
    s.set_defaults(func=_cmd_convert)

    s = sub.add_parser("average", help="average models fine-tuned from one start into one (a model soup)")
    s.add_argument("models", nargs="+", help="shipped names, .safetensors files or run folders (latest checkpoint)")
    s.add_argument("--weights", nargs="+", type=float, help="one share per model (default: equal)")
    s.add_argument("-o", "--output", required=True, help="OUT.safetensors (its card is written beside it)")
    s.set_defaults(func=_cmd_average)

    s = sub.add_parser("demo", help="darken the bundled photo, restore it, write a before/after picture")
    s.add_argument("-o", "--output", default="demo-output")
    s.add_argument("--model", default="lumen")
    s.add_argument("--preset", default="lowlight")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("serve", help="start the web app and REST API (localhost by default)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--max-upload-mb", type=float, default=50)
    s.add_argument("--queue-size", type=int, default=8, help="requests that may wait; more get 503 busy")
    s.set_defaults(func=_cmd_serve)

    s = sub.add_parser("evaluate", help="score methods on a clean set with a preset, paired or unpaired data")
    s.add_argument("clean_dir", nargs="?")
    s.add_argument("--preset", default="gauss25")
    s.add_argument("--pairs", nargs=2, metavar=("LOW_DIR", "HIGH_DIR"))
    s.add_argument("--unpaired", metavar="DIR")
    s.add_argument("--mnist", metavar="IDX", help="MNIST images IDX file (scores the last 2000 digits)")
    s.add_argument("--method", action="append", required=True, help="baseline name or model name/path")
    s.add_argument("--limit", type=int)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json")
    s.add_argument("--markdown")
    s.add_argument("--figure")
    s.add_argument("--dataset-name")
    s.add_argument("--skip-missing", action="store_true", help="skip models that are not shipped instead of failing")
    s.add_argument(
        "--reuse",
        metavar="JSON",
        help="keep the scores of the classical baselines and of unchanged models (same weights and code) "
        "from this earlier report when it scored the same inputs",
    )
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=_cmd_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
