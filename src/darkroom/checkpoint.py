"""Weights and checkpoints: safetensors plus a JSON card, written atomically, never unpickled.

A *model file* is ``NAME.safetensors`` with ``NAME.json`` beside it:
``{"arch": str, "config": {...}, "card": {...}}``.  A *training run folder* holds
``step-XXXXXXXX/`` checkpoints (model, optimizer state, progress) and a ``latest`` file naming
the newest complete one; ``latest`` is replaced atomically only after a checkpoint is whole,
so a run killed at any instant resumes from a good checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .io import DEFAULT_FILE_MODE, atomic_write_bytes
from .models import create_model, get_spec

WEIGHTS_DIR = Path(__file__).parent / "weights"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".h5")


class CheckpointError(ValueError):
    """A weights file or card that cannot be used: the message names the file and the reason."""


def _atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    tmp = path.with_name(f".{path.name}.part")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    os.chmod(tmp, DEFAULT_FILE_MODE)
    os.replace(tmp, path)


def _atomic_save_json(obj: Any, path: Path) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def save_model(
    path: str | os.PathLike, model: nn.Module, arch: str, config: dict, card: dict | None = None, *, half: bool = False
) -> Path:
    """Write ``path`` (``.safetensors``) and its JSON card beside it.  ``half`` stores float16."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    _atomic_save_tensors(state, path, {"arch": arch})
    _atomic_save_json({"arch": arch, "config": config, "card": card or {}}, path.with_suffix(".json"))
    return path


def _refuse_pickle(path: Path) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(
            f"{path}: pickled checkpoints are never loaded (unpickling can run arbitrary code); "
            f"convert it once with `darkroom convert {path} --arch NAME -o OUT.safetensors`"
        )


def read_card(path: str | os.PathLike) -> dict:
    """Read and validate a model card JSON: it must name a known ``arch`` and a ``config`` dict."""
    path = Path(path)
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: model card missing (every .safetensors needs its .json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: malformed model card ({e})") from None
    if not isinstance(card, dict) or not isinstance(card.get("arch"), str) or not isinstance(card.get("config"), dict):
        raise CheckpointError(f"{path}: model card must be an object with 'arch' (text) and 'config' (object)")
    try:
        get_spec(card["arch"])
    except ValueError as e:
        raise CheckpointError(f"{path}: {e}") from None
    return card


def resolve_weights(name_or_path: str | os.PathLike) -> Path:
    """The ``.safetensors`` file for a shipped model name, a file path, or a run folder."""
    p = Path(name_or_path)
    _refuse_pickle(p)
    if p.suffix == ".safetensors":
        if not p.exists():
            raise CheckpointError(f"{p}: no such weights file")
        return p
    if p.is_dir():
        latest = latest_checkpoint(p)
        if latest is not None:
            return latest / "model.safetensors"
        if (p / "model.safetensors").exists():
            return p / "model.safetensors"
        raise CheckpointError(f"{p}: folder holds no checkpoint")
    shipped = WEIGHTS_DIR / f"{name_or_path}.safetensors"
    if shipped.exists():
        return shipped
    known = sorted(q.stem for q in WEIGHTS_DIR.glob("*.safetensors"))
    raise CheckpointError(f"{name_or_path}: not a shipped model ({', '.join(known) or 'none shipped'}) nor a path")


def canonical_code(path: Path) -> bytes:
    """The code of a Python source file as text that only its code fixes: parsed, with every
    docstring and other bare string statement dropped, then written out node by node (type, then
    each field that is set).  Comments, docstrings and layout do not change it, so editing them
    does not mark stored results stale; fields that are empty are left out, so a newer Python that
    adds empty fields to its syntax tree writes the same text."""
    import ast

    def write(node: Any) -> str:
        if isinstance(node, ast.AST):
            fields = []
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, list):
                    value = [v for v in value if not _is_bare_string(v)]
                if value is None or value == []:
                    continue
                fields.append(f"{name}={write(value)}")
            return f"{type(node).__name__}({','.join(fields)})"
        if isinstance(node, list):
            return f"[{','.join(write(v) for v in node)}]"
        return repr(node)

    return write(ast.parse(path.read_bytes(), filename=str(path))).encode()


def _is_bare_string(node: Any) -> bool:
    """A statement that is only a string: a docstring, or a note under a field or constant."""
    import ast

    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def fingerprint(name_or_path: str | os.PathLike, extra: bytes = b"") -> str:
    """16 hex digits of a hash of a model's weights, its architecture's code and ``extra``: what
    fixes the model's outputs (with the code of its helper modules and of the engine steps it asks
    for: impulse filling, the highlight guard, even gain, grey noise made colour).  Code is read by
    :func:`canonical_code`, so an edit to a comment or docstring leaves it as it was.  Keys the ONNX
    cache and marks evaluation rows, so neither serves stale results after new weights or changed model
    code."""
    import hashlib

    weights = resolve_weights(name_or_path)
    source = b"".join(canonical_code(f) for f in code_files(read_card(weights.with_suffix(".json"))["arch"]))
    return hashlib.sha256(weights.read_bytes() + source + extra).hexdigest()[:16]


def code_files(arch: str) -> list[Path]:
    """The source files whose code fixes an architecture's outputs (see :func:`fingerprint`)."""
    import importlib
    import inspect

    spec = get_spec(arch)
    engine_steps = {
        "darkroom.impulse": spec.fills_impulses,
        "darkroom.highlights": spec.guards_highlights or spec.evens_gain,  # even_gain builds on its block helpers
        "darkroom.even_gain": spec.evens_gain,
        "darkroom.grey": spec.colours_grey_noise,
    }
    modules = [*spec.helpers, *(module for module, asked in engine_steps.items() if asked)]
    files = [Path(inspect.getfile(spec.constructor))]
    return files + [Path(inspect.getfile(importlib.import_module(m))) for m in modules]


def _read_tensors(weights: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, or a :class:`CheckpointError` naming it."""
    try:
        return load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{weights}: not a valid safetensors file ({e})") from None


def load_model(name_or_path: str | os.PathLike, *, device: str = "cpu") -> tuple[nn.Module, dict]:
    """Build a model and load its weights; returns ``(model in eval mode, card dict)``."""
    weights = resolve_weights(name_or_path)
    card = read_card(weights.with_suffix(".json"))
    try:
        model = create_model(card["arch"], **card["config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{weights.with_suffix('.json')}: config does not build {card['arch']!r} ({e})") from None
    state = _read_tensors(weights)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        raise CheckpointError(f"{weights}: weights do not fit {card['arch']!r}: {str(e)[:300]}") from None
    return model.to(device).eval(), card


def average_models(sources: list[str | os.PathLike], weights: list[float] | None = None) -> tuple[nn.Module, dict]:
    """The weighted average of models of one architecture and config (a "model soup").

    ``sources`` are shipped names, weights files or run folders (a folder gives its latest
    checkpoint); ``weights`` default to equal shares and are scaled to sum to 1.  Averaging works
    for networks fine-tuned from one starting point, where the average often keeps what each learnt.
    Returns ``(model in eval mode with the averaged weights, the first source's card)``, as
    :func:`load_model` does; tensors that are not floating point (counters) are the first source's.
    Sources that differ in architecture, config, tensor names or shapes are refused with a
    :class:`CheckpointError` naming the file.
    """
    if not sources:
        raise CheckpointError("average: no models given")
    weights = [1.0] * len(sources) if weights is None else [float(w) for w in weights]
    if len(weights) != len(sources) or min(weights) <= 0:
        raise CheckpointError(f"average: need one positive weight per model, got {weights} for {len(sources)}")
    files = [resolve_weights(s) for s in sources]
    cards = [read_card(f.with_suffix(".json")) for f in files]
    total = sum(weights)
    mean: dict[str, torch.Tensor] = {}
    for file, card, weight in zip(files, cards, weights):
        if (card["arch"], card["config"]) != (cards[0]["arch"], cards[0]["config"]):
            raise CheckpointError(f"{file}: another architecture or config than {files[0]}; cannot average them")
        state = _read_tensors(file)
        if mean and (state.keys() != mean.keys() or any(v.shape != mean[k].shape for k, v in state.items())):
            raise CheckpointError(f"{file}: tensors differ in names or shapes from {files[0]}; cannot average them")
        for k, v in state.items():
            mean[k] = mean.get(k, 0) + v.double() * (weight / total) if v.is_floating_point() else mean.get(k, v)
    model = create_model(cards[0]["arch"], **cards[0]["config"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in mean.items()})
    return model.eval(), cards[0]


def init_from_weights(model: nn.Module, name_or_path: str | os.PathLike) -> list[str]:
    """Start ``model`` from the weights of a shipped model, a weights file or a run folder.

    The model may be larger than the one the weights came from (extra blocks, say): every tensor in
    the file must exist in ``model`` with the same shape, and the model's other tensors keep their
    fresh initialisation.  Returns the names of those new tensors.  A linear layer may also read
    more inputs than it did (a longer exposure cue): its weight ``(out, in)`` fills the first ``in``
    columns and the new columns start at zero, so the new inputs are ignored until training finds
    them useful; such a weight is returned too.
    """
    weights = resolve_weights(name_or_path)
    state = _read_tensors(weights)
    own = model.state_dict()
    unknown = sorted(k for k in state if k not in own)
    widened = sorted(k for k in state if k in own and _widens(state[k].shape, own[k].shape))
    for k in widened:
        grown = torch.zeros_like(own[k])
        grown[:, : state[k].shape[1]] = state[k]
        state[k] = grown
    misfit = sorted(k for k in state if k in own and own[k].shape != state[k].shape)
    if unknown or misfit:
        raise CheckpointError(
            f"{weights}: cannot start this model from it; unknown tensors {unknown[:5]}, "
            f"tensors of another shape {misfit[:5]}"
        )
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
    return sorted([k for k in own if k not in state] + widened)


def _widens(old: torch.Size, new: torch.Size) -> bool:
    """Whether a 2-D weight ``old`` ``(out, in)`` grows into ``new`` by more input columns only."""
    return len(old) == len(new) == 2 and old[0] == new[0] and old[1] < new[1]


# ----------------------------------------------------------------------------- training checkpoints


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, plain = {}, {"param_groups": state["param_groups"], "state": {}}
    for idx, entries in state["state"].items():
        plain["state"][str(idx)] = {}
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{key}"] = value
            else:
                plain["state"][str(idx)][key] = value
    return tensors, plain


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], plain: dict) -> dict:
    state: dict[int, dict] = {int(i): dict(v) for i, v in plain["state"].items()}
    for name, value in tensors.items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": plain["param_groups"]}


def save_training_checkpoint(
    run_dir: str | os.PathLike,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    arch: str,
    config: dict,
    progress: dict,
    *,
    keep: int = 2,
) -> Path:
    """Write ``run_dir/step-XXXXXXXX/`` whole, then point ``run_dir/latest`` at it."""
    run_dir = Path(run_dir)
    ckpt = run_dir / f"step-{step:08d}"
    tmp = run_dir / f".step-{step:08d}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(tmp / "model.safetensors", model, arch, config, {"step": step})
    opt_tensors, opt_plain = _flatten_optimizer(optimizer.state_dict())
    _atomic_save_tensors(opt_tensors, tmp / "optimizer.safetensors")
    _atomic_save_json({"step": step, "optimizer": opt_plain, "progress": progress}, tmp / "state.json")
    shutil.rmtree(ckpt, ignore_errors=True)
    os.replace(tmp, ckpt)
    atomic_write_bytes(run_dir / "latest", ckpt.name.encode())
    for old in sorted(run_dir.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return ckpt


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint folder of a run, or ``None``."""
    pointer = Path(run_dir) / "latest"
    if not pointer.exists():
        return None
    ckpt = Path(run_dir) / pointer.read_text().strip()
    return ckpt if (ckpt / "state.json").exists() else None


def load_training_checkpoint(ckpt: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Restore model and optimizer from ``ckpt``; returns its ``state.json`` content."""
    state = json.loads((ckpt / "state.json").read_text())
    model.load_state_dict(load_file(str(ckpt / "model.safetensors")))
    optimizer.load_state_dict(_unflatten_optimizer(load_file(str(ckpt / "optimizer.safetensors")), state["optimizer"]))
    return state
