"""Benchmark harness: a set x a preset x methods -> per-image scores, JSON, Markdown, a figure.

Every method sees the very same degraded inputs: each clean image is degraded once, with
``default_rng([seed, index])``, before any method runs.  A *method* is a classical baseline
(:data:`darkroom.baselines.BASELINES`) or a model (shipped name, weights path or ``.onnx``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import metrics as mt

SCORE_KEYS = (
    "psnr",
    "ssim",
    "msssim",
    "psnr_gtmean",
    "ssim_gtmean",
    "loe",
    "brightness",
    "niqe",
    "seconds_per_megapixel",
)
"""Every score a method's summary may carry, in table order (``None`` where not applicable)."""


@dataclass
class Sample:
    """One evaluation item: its name, the degraded input and the reference (``None`` if unpaired)."""

    name: str
    inp: np.ndarray
    ref: np.ndarray | None


def reference_samples(clean_dir: str, preset: str, *, seed: int = 0, limit: int | None = None) -> list[Sample]:
    """Clean images under ``clean_dir``, each degraded once with ``preset``."""
    from .degrade import apply_preset
    from .io import find_images, read_image

    paths = find_images(clean_dir)[:limit]
    if not paths:
        raise ValueError(f"{clean_dir}: no images found")
    out = []
    for i, p in enumerate(paths):
        clean = read_image(p)
        out.append(Sample(p.stem, apply_preset(clean, preset, rng=np.random.default_rng([seed, i])), clean))
    return out


def paired_samples(low_dir: str, high_dir: str, *, limit: int | None = None) -> list[Sample]:
    """Real pairs matched by file stem."""
    from .data import pair_folders
    from .io import read_image

    pairing = pair_folders(low_dir, high_dir)
    return [Sample(lo.stem, read_image(lo), read_image(hi)) for lo, hi in pairing.pairs[:limit]]


def unpaired_samples(folder: str, *, limit: int | None = None) -> list[Sample]:
    """Images without references (no-reference scores only)."""
    from .io import find_images, read_image

    return [
        Sample(str(p.relative_to(folder).with_suffix("")), read_image(p), None) for p in find_images(folder)[:limit]
    ]


def mnist_samples(idx_path: str, *, seed: int = 0, split: int = 8000, limit: int | None = None) -> list[Sample]:
    """The held-out digits (index >= ``split``) as ``(28, 28, 1)`` images with the ``mnist`` preset."""
    from .data import read_idx
    from .degrade import apply_preset

    digits = read_idx(idx_path)[split:][:limit].astype(np.float32) / 255.0
    return [
        Sample(
            f"digit{split + i}",
            apply_preset(d[:, :, None], "mnist", rng=np.random.default_rng([seed, i])),
            d[:, :, None],
        )
        for i, d in enumerate(digits)
    ]


def resolve_method(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """A baseline by name, else a model (shipped name, weights path, or ``.onnx``)."""
    from .baselines import BASELINES

    if name in BASELINES:
        return BASELINES[name]
    from .checkpoint import load_model, read_card, resolve_weights
    from .engine import enhance, load_enhancer
    from .models import get_spec

    if name.endswith(".onnx"):
        enh = load_enhancer(name, "onnx")
        return lambda x: enhance(x, enh)
    if get_spec(read_card(resolve_weights(name).with_suffix(".json"))["arch"]).kind == "flat":
        import torch

        model, _ = load_model(name)

        def run_flat(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(torch.from_numpy(x.reshape(1, -1).astype(np.float32))).numpy().reshape(x.shape)

        return run_flat
    enh = load_enhancer(name)
    return lambda x: enhance(x, enh)


def model_fingerprint(method: str) -> str | None:
    """For a model: a hash of its weights (or ``.onnx`` file) and of its architecture's code, which
    together fix its outputs; ``None`` for a classical baseline.  A report's model row carries it,
    so a rerun can keep the scores of models that have not changed (see :func:`reusable_results`)."""
    import hashlib

    from .baselines import BASELINES
    from .checkpoint import fingerprint

    if method in BASELINES:
        return None
    if method.endswith(".onnx"):
        return hashlib.sha256(Path(method).read_bytes()).hexdigest()[:16]
    return fingerprint(method)


def _available(method: str) -> bool:
    from .baselines import BASELINES
    from .checkpoint import CheckpointError, resolve_weights

    if method in BASELINES:
        return True
    try:
        resolve_weights(method)
    except CheckpointError:
        return False
    return True


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _score(out: np.ndarray, s: Sample) -> dict:
    """Full-reference scores against ``s.ref``, or no-reference scores against ``s.inp``."""
    if s.ref is not None:
        scores = mt.full_reference(out, s.ref, with_msssim=min(s.ref.shape[:2]) > 32)
        return {"name": s.name, **{k: _round(v) for k, v in scores.items()}}
    return {
        "name": s.name,
        "loe": _round(mt.loe(out, s.inp)),
        "brightness": _round(mt.brightness(out)),
        "niqe": _round(_niqe(out)),
    }


def evaluate(
    samples: list[Sample],
    methods: list[str],
    *,
    progress: bool = True,
    keep_outputs: int = 3,
    reuse: dict[str, dict] | None = None,
) -> tuple[list[dict], dict[str, list[np.ndarray]]]:
    """Run each method on every sample; returns per-method result dicts and the first
    ``keep_outputs`` outputs of each method (for the figure).  A method found in ``reuse``
    (method -> an earlier summary on the very same inputs) keeps that summary and runs only on
    the images the figure shows."""
    results, kept = [], {}
    for method in methods:
        fn = resolve_method(method)
        if reuse and method in reuse:
            kept[method] = [np.clip(fn(s.inp), 0, 1) for s in samples[:keep_outputs]]
            results.append(reuse[method])
            continue
        images, seconds, megapixels, outputs = [], 0.0, 0.0, []
        items = samples
        if progress:
            from tqdm import tqdm

            items = tqdm(samples, desc=method, unit="image", dynamic_ncols=True, leave=False)
        for s in items:
            t = time.perf_counter()
            out = fn(s.inp)
            seconds += time.perf_counter() - t
            megapixels += s.inp.shape[0] * s.inp.shape[1] / 1e6
            images.append(_score(out, s))
            if len(outputs) < keep_outputs:
                outputs.append(np.clip(out, 0, 1))
        kept[method] = outputs
        summary = {"method": method}
        for key in SCORE_KEYS[:-1]:  # all but the timing, which is per method
            if any(key in im for im in images):
                summary[key] = _round(_mean([im.get(key) for im in images]))
        summary["seconds_per_megapixel"] = _round(seconds / max(megapixels, 1e-9))
        fingerprint = model_fingerprint(method)
        if fingerprint:
            summary["fingerprint"] = fingerprint
        summary["images"] = images
        results.append(summary)
    return results, kept


def reusable_results(path: str | Path, samples: list[Sample], preset: str, dataset: str) -> dict[str, dict]:
    """Summaries from an earlier report that scored these very inputs: every classical baseline,
    and each model whose fingerprint (weights and architecture code, :func:`model_fingerprint`)
    is the same as now.  A model retrained, or a row written before fingerprints, is run again.

    The inputs count as the same when the earlier report's ``identity`` row (the untouched
    inputs) matches, image by image, what ``identity`` scores now."""
    from .baselines import BASELINES

    path = Path(path)
    if not path.exists():
        return {}
    try:
        old = json.loads(path.read_text())
        rows = {m["method"]: m for m in old["methods"]}
        same_set = (old["preset"], old["dataset"], old["n"]) == (preset, dataset, len(samples))
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not same_set or "identity" not in rows:
        return {}
    if rows["identity"].get("images") != [_score(s.inp, s) for s in samples]:
        return {}

    def unchanged(name: str, row: dict) -> bool:
        return bool(row.get("fingerprint")) and _available(name) and row["fingerprint"] == model_fingerprint(name)

    return {name: row for name, row in rows.items() if name in BASELINES or unchanged(name, row)}


def _niqe(image: np.ndarray) -> float | None:
    """NIQE, or ``None`` for images too small for one 96x96 patch."""
    from .niqe import PATCH, niqe

    return niqe(image) if min(image.shape[:2]) >= PATCH else None


def _round(v: float | None, digits: int = 4) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), digits)


def to_json(report: dict) -> str:
    """The report as JSON, readable and compact: one line per method summary and per image."""
    methods = []
    for m in report["methods"]:
        head = json.dumps({k: v for k, v in m.items() if k != "images"})[:-1]
        images = ",\n   ".join(json.dumps(im) for im in m["images"])
        methods.append(head + ', "images": [\n   ' + images + "]}")
    top = json.dumps({k: v for k, v in report.items() if k != "methods"})[:-1]
    return top + ', "methods": [\n ' + ",\n ".join(methods) + "]}\n"


def to_markdown(report: dict) -> str:
    """One table, methods as rows."""
    keys = [k for k in SCORE_KEYS if any(m.get(k) is not None for m in report["methods"])]
    head = f"**{report['dataset']}**, preset `{report['preset']}`, {report['n']} images\n\n"
    lines = ["| method | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for m in report["methods"]:
        cells = ["-" if m.get(k) is None else f"{m[k]:.4g}" if k != "psnr" else f"{m[k]:.2f}" for k in keys]
        lines.append(f"| {m['method']} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


FIGURE_BASELINES = 3
"""How many classical baselines the figure shows beside the models: the best by PSNR (by NIQE
without references); the input column already shows ``identity``."""


def figure_methods(report: dict) -> list[dict]:
    """The method rows a figure shows: every model, and the best :data:`FIGURE_BASELINES` baselines."""
    from .baselines import BASELINES

    def rank(m: dict) -> float:
        if m.get("psnr") is not None:
            return -m["psnr"]
        return m["niqe"] if m.get("niqe") is not None else math.inf

    baselines = [m for m in report["methods"] if m["method"] in BASELINES and m["method"] != "identity"]
    best = {m["method"] for m in sorted(baselines, key=rank)[:FIGURE_BASELINES]}
    return [m for m in report["methods"] if m["method"] not in BASELINES or m["method"] in best]


def write_figure(samples: list[Sample], report: dict, kept: dict[str, list[np.ndarray]], png: str) -> None:
    """A grid: for a few images, the reference, the input and the outputs of the models and the
    best baselines (:func:`figure_methods`), each with its PSNR."""
    from .viz import comparison_grid

    report = {**report, "methods": figure_methods(report)}
    rows, captions = [], []
    n = min(len(samples), min((len(v) for v in kept.values()), default=0))
    for i in range(n):
        s = samples[i]
        row = (
            ([s.ref] if s.ref is not None else [])
            + [np.clip(s.inp, 0, 1)]
            + [kept[m["method"]][i] for m in report["methods"]]
        )
        row = [np.repeat(r, 3, axis=2) if r.shape[2] == 1 else r for r in row]
        cap = ([""] if s.ref is not None else []) + [""]
        for m in report["methods"]:
            v = m["images"][i].get("psnr")
            cap.append(f"{v:.2f} dB" if v is not None else "")
        rows.append(row)
        captions.append(cap)
    titles = (
        (["reference"] if samples[0].ref is not None else []) + ["input"] + [m["method"] for m in report["methods"]]
    )
    comparison_grid(rows, png, column_titles=titles, captions=captions, tile_width=2.6)


def main(a: argparse.Namespace) -> int:
    """``darkroom evaluate``: see ``darkroom evaluate --help``."""
    if a.pairs:
        samples, preset, dataset = paired_samples(*a.pairs, limit=a.limit), "paired", Path(a.pairs[0]).parent.name
    elif a.unpaired:
        samples, preset, dataset = unpaired_samples(a.unpaired, limit=a.limit), "unpaired", Path(a.unpaired).name
    elif a.mnist:
        samples, preset, dataset = mnist_samples(a.mnist, seed=a.seed, limit=a.limit), "mnist", "mnist"
    elif a.clean_dir:
        samples = reference_samples(a.clean_dir, a.preset, seed=a.seed, limit=a.limit)
        preset, dataset = a.preset, Path(a.clean_dir).name
    else:
        raise ValueError("give CLEAN_DIR, --pairs LOW HIGH, --unpaired DIR or --mnist IDX")
    methods = a.method
    if getattr(a, "skip_missing", False):
        methods = [m for m in a.method if _available(m)]
        for m in sorted(set(a.method) - set(methods)):
            print(f"note: skipped {m!r}: not a baseline and no such model is shipped")
    dataset = a.dataset_name or dataset
    reuse = reusable_results(a.reuse, samples, preset, dataset) if getattr(a, "reuse", None) else {}
    if reuse and not a.quiet:
        print(f"reusing {', '.join(m for m in methods if m in reuse)} from {a.reuse}")
    results, kept = evaluate(samples, methods, progress=not a.quiet, reuse=reuse)
    report = {"preset": preset, "dataset": dataset, "n": len(samples), "methods": results}
    from .io import atomic_write_bytes

    if a.json:
        atomic_write_bytes(a.json, to_json(report).encode())
    markdown = to_markdown(report)
    if a.markdown:
        atomic_write_bytes(a.markdown, markdown.encode())
    if a.figure:
        write_figure(samples, report, kept, a.figure)
    print(markdown)
    return 0
