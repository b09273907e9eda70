"""Export to ONNX (dynamic height and width) and run with ONNX Runtime on the CPU.

The exported graph expects ``(1, 3, H, W)`` with H and W multiples of the model's grid (the
engine pads before calling it), so no shape-dependent branch is baked into the graph.  Models
that read the exposure cue get a second input, ``cue`` ``(1, 5)`` or ``(1, 6)`` (as the network was
built), computed by the engine.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np

from .exposure import CUE_SIZE, exposure_cue
from .io import atomic_write_bytes


def export_onnx(name_or_path: str | os.PathLike, out: str | os.PathLike, *, opset: int = 17) -> Path:
    """Export a shipped or trained model to ``out`` (written atomically); returns the path."""
    import torch

    from .checkpoint import load_model
    from .engine import ENGINE_STEPS
    from .models import get_spec

    model, card = load_model(name_or_path)
    spec = get_spec(card["arch"])
    if spec.kind != "image":
        raise ValueError(f"{name_or_path}: only image models export to ONNX")
    side = max(1, spec.multiple) * 8
    example = torch.rand(1, 3, side, side)
    uses_cue = bool(getattr(model, "uses_cue", False))
    inputs, names, axes = (example,), ["image"], {"image": {2: "height", 3: "width"}}
    if uses_cue:
        inputs, names = (example, exposure_cue(example, getattr(model, "cue_size", CUE_SIZE))), ["image", "cue"]
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")  # per process: two may export at once
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the tracer's notes on shape-dependent padding concern no user
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            inputs,
            str(tmp),
            input_names=names,
            output_names=["restored"],
            dynamic_axes={**axes, "restored": {2: "height", 3: "width"}},
            opset_version=opset,
            dynamo=False,
        )
    import onnx

    proto = onnx.load(str(tmp))
    for key, value in (
        ("multiple", max(1, spec.multiple)),
        ("tile", spec.onnx_tile),
        ("overlap", spec.overlap),
        *((step, int(getattr(spec, step))) for step in ENGINE_STEPS),
    ):
        meta = proto.metadata_props.add()
        meta.key, meta.value = f"darkroom_{key}", str(value)
    os.unlink(tmp)
    atomic_write_bytes(out, proto.SerializeToString())
    return out


def onnx_session(path: str | os.PathLike):
    """An ONNX Runtime CPU session with its memory arena on and its memory pattern off.

    The engine feeds tiles of at most ``tile`` px a side, so the arena's high-water mark follows
    the tile size, not the photo's: measured on lumen at 12 megapixels with 1024 px tiles, this
    took 18 s at 1.13 GB where the arena switched off took 32 s at 1.27 GB (buffers allocated
    and released per node are slower).  The memory pattern, which plans one block for a shape on its
    second run, added about 600 MB whenever a tile shape ran twice (lumen, one 1920 px tile: peak 850
    MB on every run without it, 1,450 MB from the second run with it) and bought no speed: without
    it a 12 MP photo peaks at 0.84-1.0 GB with the full-resolution originals (1.06-1.39 GB with it)
    and lumen's four-pass ensemble at 1.48 GB (2.34 GB), in the same time (session 18)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.enable_cpu_mem_arena = True
    opts.enable_mem_pattern = False
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def cached_export(name_or_path: str | os.PathLike) -> Path:
    """The ONNX file of a shipped model name, weights file or run folder, exported once into the
    cache folder (``$DARKROOM_CACHE``, default ``~/.cache/darkroom``).  The file name carries a hash
    of the weights, of the architecture's source code and of the tiling the export records, so new
    weights (an upgraded package, a retrained run), a changed graph for the same weights or new tile
    defaults are never served stale."""
    from .checkpoint import code_files, fingerprint, read_card, resolve_weights
    from .models import get_spec

    weights = resolve_weights(name_or_path)
    card = weights.with_suffix(".json")
    spec = get_spec(read_card(card)["arch"])
    sources = [weights, card, *code_files(spec.name), Path(inspect.getfile(get_spec)), Path(__file__)]
    stamps = _stamps(sorted({str(f.resolve()) for f in sources}))  # before hashing: a file rewritten meanwhile voids
    digest = fingerprint(weights, f"|{spec.multiple},{spec.onnx_tile},{spec.overlap}".encode())
    stem = Path(str(name_or_path)).stem or weights.stem
    target = _cache_dir() / f"{stem}-{digest}.onnx"
    if target.exists():
        os.utime(target)  # used now: pruning keeps the most recently used
    else:
        export_onnx(name_or_path, target)
        prune_exports(target)
    write_receipt(name_or_path, target, card, stamps)
    return target


def _receipt_file(name_or_path: str | os.PathLike) -> Path | None:
    """Where the receipt of a model's export is kept (keyed by the weights file's absolute path, or
    the shipped model's name), or ``None`` for what only the full lookup can resolve (a run folder)."""
    text = str(name_or_path)
    if text.endswith(".safetensors"):
        key = "file:" + os.path.abspath(text)
    elif not Path(text).exists():  # shipped with this copy of darkroom: another install has its own receipt
        key = f"shipped:{text}:{Path(__file__).parent}"
    else:
        return None
    return _cache_dir() / "receipts" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _stamps(files: list[str]) -> dict[str, list[int]]:
    """Each file's size and modification time in nanoseconds: what changes when it is rewritten."""
    stamps = {}
    for name in files:
        stat = os.stat(name)
        stamps[name] = [stat.st_size, stat.st_mtime_ns]
    return stamps


def write_receipt(name_or_path: str | os.PathLike, onnx: Path, card: Path, stamps: dict[str, list[int]]) -> None:
    """Record that ``onnx`` is the export of ``name_or_path`` while the files in ``stamps`` (its weights,
    card and the code that fixed the export, see :func:`_stamps`) stay as they were; read back by
    :func:`receipted_export`."""
    receipt = _receipt_file(name_or_path)
    if receipt is None:
        return
    record = {"onnx": str(onnx.resolve()), "card": str(card.resolve()), "files": stamps}
    receipt.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(receipt, json.dumps(record, indent=1).encode())


def receipted_export(name_or_path: str | os.PathLike) -> tuple[Path, dict] | None:
    """The cached export of a model name or weights file and the model's card, found without
    importing PyTorch (about 1 s of each command's start): only when :func:`cached_export` wrote a
    receipt for it and none of the files it lists has changed since, else ``None`` (then the full
    lookup, which hashes the weights and code, decides)."""
    receipt = _receipt_file(name_or_path)
    if receipt is None:
        return None
    try:
        record = json.loads(receipt.read_text())
        onnx, files = Path(record["onnx"]), record["files"]
        if not onnx.exists() or _stamps(list(files)) != files:
            return None
        card = json.loads(Path(record["card"]).read_text())
        os.utime(onnx)  # used now: pruning keeps the most recently used
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no receipt, a damaged one, or a file it lists is gone
    return onnx, card


def _cache_dir() -> Path:
    """The export cache: ``$DARKROOM_CACHE``, default ``~/.cache/darkroom``."""
    return Path(os.environ.get("DARKROOM_CACHE", Path.home() / ".cache" / "darkroom"))


KEEP_EXPORTS = 3
"""Exports of one model name the cache keeps: each new package version, retrained run or changed
graph adds one (13 MB for lumen), and the cache would otherwise grow without end."""


def prune_exports(target: Path, keep: int = KEEP_EXPORTS) -> list[Path]:
    """Delete the exports of ``target``'s model name (``NAME-<16 hex>.onnx`` beside it) but the
    ``keep`` most recently used, ``target`` always among them; other names are left alone.
    Returns the deleted paths."""
    stem = target.name.rsplit("-", 1)[0]
    pattern = re.compile(rf"{re.escape(stem)}-[0-9a-f]{{16}}\.onnx")

    def last_used(path: Path) -> float:  # another process may prune the same file meanwhile
        try:
            return path.stat().st_mtime
        except FileNotFoundError:
            return 0.0

    others = [p for p in target.parent.iterdir() if pattern.fullmatch(p.name) and p != target]
    others.sort(key=last_used, reverse=True)
    old = others[max(0, keep - 1) :]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def onnx_enhancer(name_or_path: str):
    """An :class:`~darkroom.engine.Enhancer` backed by ONNX Runtime.  A ``.onnx`` path is used
    as is; a model name or weights path is exported once into a cache folder first."""
    from .engine import DEFAULT_OVERLAP, DEFAULT_TILE, ENGINE_STEPS, Enhancer

    path = Path(name_or_path)
    if path.suffix != ".onnx":
        path = cached_export(name_or_path)
    session = onnx_session(path)
    meta = session.get_modelmeta().custom_metadata_map
    multiple = int(meta.get("darkroom_multiple", "16"))
    tile = int(meta.get("darkroom_tile", DEFAULT_TILE))
    overlap = int(meta.get("darkroom_overlap", DEFAULT_OVERLAP))
    names = [i.name for i in session.get_inputs()]
    uses_cue = "cue" in names
    cue_width = session.get_inputs()[names.index("cue")].shape[1] if uses_cue else None
    cue_size = cue_width if isinstance(cue_width, int) else CUE_SIZE  # a symbolic width: the five numbers
    steps = {step: meta.get(f"darkroom_{step}") == "1" for step in ENGINE_STEPS}

    def run(x: np.ndarray, cue: np.ndarray | None = None) -> np.ndarray:
        feed = {names[0]: x}
        if uses_cue:
            if cue is None:
                cue = exposure_cue(x, cue_size)
            feed["cue"] = np.ascontiguousarray(np.asarray(cue, np.float32)[:, :cue_size])
        return session.run(None, feed)[0]

    return Enhancer(
        str(name_or_path),
        run,
        multiple,
        {"onnx": str(path)},
        uses_cue=uses_cue,
        tile=tile,
        overlap=overlap,
        **steps,
    )
