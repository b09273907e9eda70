"""The training loop: one dataclass of settings, read top to bottom in one sitting.

``darkroom train --config recipes/lumen.yaml --set iterations=2000`` runs :func:`train`.
Checkpoints (safetensors + JSON) land in ``out/`` every ``ckpt_every`` steps, on Ctrl-C and on
SIGTERM; the same command with ``--resume`` continues where the last checkpoint left off, with
the same samples and the same loss curve as an uninterrupted run.  Under ``torchrun`` each process
trains on its own share of every batch and gradients are averaged (gloo on CPU, NCCL on GPU).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import math
import os
import signal
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checkpoint as ck
from . import data as dt
from . import degrade as dg
from .exposure import CUE_SIZE, exposure_cue
from .impulse import fill_impulses
from .losses import get_loss
from .machine import cpu_description
from .models import create_model, full_config, get_spec


@dataclass
class TrainConfig:
    """Everything a training run needs; a recipe file sets these fields by name."""

    model: str = "lumen"
    model_config: dict[str, Any] = field(default_factory=dict)
    data: str = ""
    """A folder or ZIP of clean images, a paired root/``LOW:HIGH``, or an MNIST IDX file."""
    data_kind: str = "images"
    """``images`` (clean images degraded on the fly), ``paired``, ``mnist`` or ``unpaired``."""
    presets: list[str] = field(default_factory=lambda: ["mix"])
    mix: dict[str, Any] = field(default_factory=dict)
    """For ``presets: [mix]``: fields of :class:`darkroom.degrade.MixConfig` to change."""
    keep_share: float = 0.0
    """For ``presets: [mix]`` and a model that reads the intent (lumen with ``cue_size: 7``): this share
    of pairs asks to keep the photo's exposure, with the clean photo as dark as the draw made it for
    target (see :class:`darkroom.data.SyntheticPairs`), and so does the same share of held-out
    photos (drawn per photo), so validation scores the intent trained."""
    trainable: list[str] = field(default_factory=list)
    """Names (or name prefixes) of the parameters to train, as ``model.named_parameters()`` gives them;
    the others are frozen at their starting values.  Empty: train them all.  For a change that
    should leave the rest of a trained network as it is, e.g. ``[intent_mlp]`` to teach lumen (with
    ``intent_film: true``) the intent without moving its default answer."""
    init_from: str = ""
    """Start a fresh run from these weights (shipped name, ``.safetensors`` or run folder); the model
    may have extra blocks, which keep their initialisation (see ``checkpoint.init_from_weights``)."""
    resize: int | None = None
    limit: int | None = None
    val_data: str = ""
    """Validation source (same kind as ``data``); empty: hold out the last ``val_split`` images."""
    val_split: int = 0
    val_count: int = 8
    val_size: int = 192
    mnist_split: int = 8000
    digit_shift: int = 0
    """MNIST only: random translation of up to this many pixels (augmentation)."""
    digit_rotate: float = 0.0
    """MNIST only: random rotation of up to this many degrees (augmentation)."""
    digit_zoom: float = 0.0
    """MNIST only: random scaling by up to this fraction (augmentation)."""
    digit_elastic: float = 0.0
    """MNIST only: elastic distortion of this strength, about 34 in Simard et al. (augmentation)."""
    patch_size: int = 96
    photo_cue: bool = True
    """For a model that reads the exposure cue: give it the cue of the whole degraded photo, as the
    engine does, rather than letting it take its patch's own (lumen stages 1-6 trained on that)."""
    batch_size: int = 16
    loss: str = "l1"
    """mse, psnr (per-image), l1, charbonnier, ssim, msssim_l1, zero_reference, or perceptual (L1 + VGG19 features)."""
    vgg_weights: str = ""
    """For ``loss: perceptual``: a local VGG19 state dict (.safetensors, or .pth read weights-only)."""
    perceptual_weight: float = 0.1
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup: int = 200
    min_lr_ratio: float = 0.01
    grad_clip: float = 1.0
    iterations: int = 1000
    stop_at: int | None = None
    """Stop at this step as if interrupted (the schedule still follows ``iterations``)."""
    log_every: int = 20
    val_every: int = 250
    ckpt_every: int = 250
    out: str = "runs/train"
    seed: int = 0
    threads: int = 0
    workers: int = 0
    """Processes that make the batches ahead of the trainer (0: the trainer makes each batch itself).
    Every batch is the same whichever process makes it, so a run is reproducible and resumable
    with any number; on a GPU, which outruns the degradations, use one per spare CPU core."""
    device: str = "auto"

    @classmethod
    def from_file(cls, path: str | os.PathLike | None, overrides: list[str] | None = None) -> TrainConfig:
        """Read a YAML or TOML recipe, then apply ``key=value`` overrides (values parsed as YAML)."""
        import yaml

        values: dict[str, Any] = {}
        if path:
            text = Path(path).read_text()
            try:
                if str(path).endswith(".toml"):
                    import tomllib

                    values = tomllib.loads(text)
                else:
                    values = yaml.safe_load(text) or {}
            except Exception as e:  # yaml and toml raise their own error types
                raise ValueError(f"{path}: malformed config ({e})") from None
            if not isinstance(values, dict):
                raise ValueError(f"{path}: a config must be a mapping of settings")
        for item in overrides or []:
            key, sep, raw = item.partition("=")
            if not sep:
                raise ValueError(f"override {item!r} must look like key=value")
            values[key.strip()] = yaml.safe_load(raw)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"{path or 'overrides'}: unknown setting(s) {unknown}; known: {sorted(names)}")
        if isinstance(values.get("presets"), str):
            values["presets"] = [values["presets"]]
        for f in dataclasses.fields(cls):
            if f.name in values and f.type in ("float", "int") and not isinstance(values[f.name], bool):
                values[f.name] = _as_number(values[f.name], f.type, f"{path or 'overrides'}: {f.name}")
        return cls(**values)


# ----------------------------------------------------------------------------- pieces


def _as_number(value: Any, kind: str, what: str) -> int | float:
    """``value`` as a ``kind`` ("int" or "float"): YAML reads ``2e-4`` (no dot) as a string."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    if kind == "int" and not number.is_integer():
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    return int(number) if kind == "int" else number


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Learning rate at ``step``: linear warm-up, then constant or cosine down to ``min_lr_ratio``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "constant":
        return cfg.lr
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.iterations - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def mix_config(cfg: TrainConfig) -> dg.MixConfig:
    """The run's degradation mix: :class:`MixConfig` with the recipe's ``mix`` fields changed."""
    names = {f.name for f in dataclasses.fields(dg.MixConfig)}
    unknown = sorted(set(cfg.mix) - names)
    if unknown:
        raise ValueError(f"mix: unknown field(s) {unknown}; known: {sorted(names)}")
    return dg.MixConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.mix.items()})


def build_datasets(cfg: TrainConfig, cue_size: int = 0) -> tuple[Any, list[tuple[torch.Tensor, ...]]]:
    """The training dataset and a fixed validation list of ``(input, target)`` batches of one.

    With ``cue_size`` 5 or 6 (and ``cfg.photo_cue``), image and paired items, training and
    validation alike, carry the whole photo's exposure cue as a third tensor ``(1, cue_size)``."""
    cue_size = cue_size if cfg.photo_cue else 0
    if cfg.data_kind == "mnist":
        digits = dt.read_idx(cfg.data)
        degrader = dt.make_degrader(cfg.presets)
        train_set = dt.FlatDigits(
            digits[: cfg.mnist_split],
            degrader,
            seed=cfg.seed,
            shift=cfg.digit_shift,
            rotate=cfg.digit_rotate,
            zoom=cfg.digit_zoom,
            elastic=cfg.digit_elastic,
        )
        held_out = dt.FlatDigits(digits[cfg.mnist_split :], degrader, seed=cfg.seed + 10_000)
        val = [tuple(t[None] for t in held_out[i]) for i in range(cfg.val_count)]
        return train_set, val
    if cfg.data_kind == "paired":
        low, _, high = cfg.data.partition(":")
        pairs = dt.load_pairs(dt.pair_folders(low, high or None), resize=cfg.resize)
        val_pairs = pairs
        if cfg.val_data:
            vlow, _, vhigh = cfg.val_data.partition(":")
            val_pairs = dt.load_pairs(dt.pair_folders(vlow, vhigh or None), resize=cfg.resize)
        train_set = dt.PairedPatches(pairs[: cfg.limit], patch_size=cfg.patch_size, seed=cfg.seed, cue_size=cue_size)
        val = []
        for pair in val_pairs[: cfg.val_count]:
            low, high = (torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)[None] for a in pair)
            item = (_center(low, cfg.val_size), _center(high, cfg.val_size))
            val.append((*item, exposure_cue(low, cue_size)) if cue_size else item)
        return train_set, val
    images = dt.load_images(cfg.data, resize=cfg.resize, limit=cfg.limit)
    mix = mix_config(cfg)
    degrader = dt.make_degrader(None if cfg.data_kind == "unpaired" else cfg.presets, mix=mix)
    if cfg.keep_share and (cfg.presets != ["mix"] or cfg.data_kind != "images"):
        raise ValueError("keep_share needs clean images degraded by the mix (data_kind: images, presets: [mix])")
    fills = get_spec(cfg.model).fills_impulses  # the engine fills impulses before such a model runs: so does training
    if fills:
        degrade = degrader
        degrader = lambda x, rng: fill_impulses(degrade(x, rng))  # noqa: E731
    training_degrader = degrader
    if cfg.keep_share:  # training items also need the clean photo at the exposure the draw gave it

        def training_degrader(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            noisy, exposed = dg.random_mix_with_exposure(x, rng, mix)
            return (fill_impulses(noisy) if fills else noisy), exposed

    if cfg.val_data:
        val_images = dt.load_images(cfg.val_data, limit=cfg.val_count)
    elif cfg.val_split:
        images, val_images = images[: -cfg.val_split], images[-cfg.val_split :][: cfg.val_count]
    else:
        val_images = []
    changes_scene = (mix.p_dim > 0 or mix.p_low_key > 0 or mix.p_grey > 0) and cfg.presets == ["mix"]
    scene = functools.partial(dg.dim_scene, config=mix) if changes_scene else None
    cue_size = 0 if cfg.data_kind == "unpaired" else cue_size
    train_set = dt.SyntheticPairs(
        images,
        training_degrader,
        patch_size=cfg.patch_size,
        seed=cfg.seed,
        scene=scene,
        cue_size=cue_size,
        keep_share=cfg.keep_share,
    )
    val = []
    for i, img in enumerate(val_images):
        rng = np.random.default_rng([cfg.seed + 20_000, i])
        clean = torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)[None]
        if not cue_size:  # the held-out crop is degraded on its own
            clean = _center(clean, cfg.val_size)
        keep = False
        if cfg.keep_share:  # held-out photos ask to keep their exposure in the share training photos do
            degraded, exposed = training_degrader(clean[0].permute(1, 2, 0).numpy(), rng)
            keep = bool(rng.random() < cfg.keep_share)
            clean = torch.from_numpy(np.ascontiguousarray(exposed)).permute(2, 0, 1)[None] if keep else clean
        else:
            degraded = degrader(clean[0].permute(1, 2, 0).numpy(), rng)
        noisy = torch.from_numpy(np.ascontiguousarray(degraded)).permute(2, 0, 1)[None].float()
        item = (_center(noisy, cfg.val_size), _center(clean.float(), cfg.val_size))
        val.append((*item, exposure_cue(noisy, cue_size, keep=keep)) if cue_size else item)
    return train_set, val


def _center(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    s = min(size, h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return x[..., top : top + s, left : left + s].contiguous()


def batch_indices(step: int, batch_size: int, rank: int, world: int) -> range:
    """Dataset indices of this process's share of batch ``step`` (disjoint across ranks)."""
    per_rank = batch_size // world
    start = step * batch_size + rank * per_rank
    return range(start, start + per_rank)


class StepBatches(torch.utils.data.Dataset):
    """Batch ``step`` of a run, collated: item ``step`` is ``(x, y, cue or None)`` as :func:`collate` makes it.

    Each sample is drawn from ``default_rng([seed, index])``, so a batch is the same whichever
    process makes it."""

    def __init__(self, train_set: Any, batch_size: int, rank: int = 0, world: int = 1) -> None:
        self.train_set, self.batch_size, self.rank, self.world = train_set, batch_size, rank, world

    def __len__(self) -> int:
        return len(self.train_set) // self.batch_size

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        return collate([self.train_set[i] for i in batch_indices(step, self.batch_size, self.rank, self.world)])


def _one_thread(_worker: int) -> None:
    # Not cv2.setNumThreads: in a forked child of a process whose OpenCV pool has run, it hangs.
    torch.set_num_threads(1)


def step_batches(
    batches: StepBatches, start: int, end: int, workers: int = 0, pin: bool = False
) -> Generator[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]:
    """Batches ``start .. end - 1`` in order, made by ``workers`` processes ahead of use (0: made here,
    on demand).  Close the generator when done with it, so the workers end then."""
    if workers <= 0:
        yield from (batches[step] for step in range(start, end))
        return
    loader = torch.utils.data.DataLoader(
        batches,
        batch_size=None,
        sampler=range(start, end),
        num_workers=workers,
        worker_init_fn=_one_thread,
        pin_memory=pin,
        prefetch_factor=4,
    )
    made = iter(loader)
    try:
        yield from made
    finally:  # closing this generator ends the workers at once: they hold the run folder's lock too
        del made


Net = Callable[[torch.Tensor], torch.Tensor]
"""A model, or a model with its exposure cue bound (:func:`with_cue`): ``(N, 3, H, W)`` -> same."""
ModelLoss = Callable[[Net, torch.Tensor, torch.Tensor], torch.Tensor]


def with_cue(model: nn.Module, cue: torch.Tensor | None) -> Net:
    """``model`` called as ``model(x)``: with the given exposure cue ``(N, k)`` bound, if any."""
    return model if cue is None else functools.partial(model, cue=cue)


def collate(items: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Stack dataset items ``(input, target[, cue])`` into ``(x, y, cue or None)`` batches."""
    x, y = torch.stack([it[0] for it in items]), torch.stack([it[1] for it in items])
    return x, y, (torch.stack([it[2] for it in items]) if len(items[0]) > 2 else None)


def make_loss(name: str, cfg: TrainConfig | None = None) -> ModelLoss:
    """``loss(model, input, target)``: a named loss on the model's output; Zero-DCE's
    reference-free ``zero_reference`` loss, which looks at the input alone; or ``perceptual``,
    L1 plus ``perceptual_weight`` times the VGG19 feature distance (weights from ``vgg_weights``)."""
    if name == "perceptual":
        from .models.vgg19 import PerceptualLoss, load_vgg19_features

        if cfg is None or not cfg.vgg_weights:
            raise ValueError("loss 'perceptual' needs vgg_weights: a local VGG19 state dict (nothing is downloaded)")
        perceptual = PerceptualLoss(load_vgg19_features(cfg.vgg_weights))
        weight = cfg.perceptual_weight
        return lambda model, x, y: (lambda out: F.l1_loss(out, y) + weight * perceptual(out, y))(model(x).float())
    if name == "zero_reference":
        from .models.zero_dce import zero_reference_loss

        return lambda model, x, y: zero_reference_loss(getattr(model, "module", model), x)
    loss = get_loss(name)
    return lambda model, x, y: loss(model(x).float(), y)


@torch.no_grad()
def validate(model: nn.Module, val: list, loss_fn: ModelLoss, device: torch.device) -> dict[str, float]:
    """Mean validation loss and PSNR (outputs clipped to [0, 1]) over ``(x, y[, cue])`` items."""
    model.eval()
    losses, psnrs = [], []
    for x, y, *cue in val:
        x, y = x.to(device), y.to(device)
        net = with_cue(model, cue[0].to(device) if cue else None)
        out = net(x).float()
        losses.append(float(loss_fn(net, x, y)))
        mse = float(((out.clamp(0, 1) - y) ** 2).mean())
        psnrs.append(10 * math.log10(1 / max(mse, 1e-12)))
    model.train()
    return {"val_loss": float(np.mean(losses)), "val_psnr": float(np.mean(psnrs))}


# ----------------------------------------------------------------------------- the loop


class NonFiniteLossError(RuntimeError):
    """Training produced NaN or infinity; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    """What a run ended with: its last checkpoint folder, step, and the model in memory."""

    checkpoint: Path
    step: int
    model: nn.Module


MACHINES = "machines.txt"
"""File in a run folder naming each machine (and torch) the run trained on, one line each (a run resumed elsewhere
names them all); ``benchmarks/ship_weights.py`` copies it into the model card."""


def note_machine(out: Path, device: torch.device) -> None:
    """Add the machine this process trains on to ``out / MACHINES`` unless it is there already."""
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    line = f"{cpu_description()}{gpu}, torch {torch.__version__}"
    path = out / MACHINES
    seen = path.read_text().splitlines() if path.exists() else []
    if line not in seen:
        with path.open("a") as f:
            f.write(line + "\n")


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train the run in ``cfg.out`` up to ``iterations`` (or ``stop_at``).

    A folder that already holds checkpoints is continued exactly where it stopped with
    ``resume=True`` and refused without it, so two different runs never mix.  The run folder
    is locked meanwhile, so a second trainer on it is refused too.
    """
    if not resume and ck.latest_checkpoint(cfg.out) is not None:
        raise ValueError(
            f"{cfg.out} already holds a training run; pass --resume to continue it, "
            "or choose another output folder (--set out=...)"
        )
    lock = _lock_run(Path(cfg.out)) if int(os.environ.get("RANK", "0")) == 0 else None
    threads = torch.get_num_threads()
    try:
        return _train(cfg, progress=progress)
    finally:
        torch.set_num_threads(threads)  # cfg.threads is the run's, not the caller's, e.g. a test session's
        if lock is not None:
            lock.close()


def _trainable_parameters(model: nn.Module, names: list[str]) -> list[nn.Parameter]:
    """The parameters of ``model`` whose names start with one of ``names`` (all when empty); every
    other parameter is frozen (``requires_grad`` off).  A name that matches nothing is refused."""
    if not names:
        return list(model.parameters())
    named = dict(model.named_parameters())
    matches = {n: {k for k in named if k == n or k.startswith(n + ".")} for n in names}
    unmatched = [n for n, found in matches.items() if not found]
    if unmatched:
        raise ValueError(f"trainable: no parameters named {unmatched}; the model has e.g. {sorted(named)[:5]}")
    chosen = set().union(*matches.values())
    for k, p in named.items():
        p.requires_grad_(k in chosen)
    return [p for k, p in named.items() if k in chosen]


def _train(cfg: TrainConfig, *, progress: bool) -> TrainResult:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = _device(cfg.device)
    if world > 1:
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # every batch has the same shape
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} must divide among {world} processes")
    out = Path(cfg.out)
    is_main = rank == 0

    torch.manual_seed(cfg.seed)
    arch_config = full_config(cfg.model, **cfg.model_config)
    model = create_model(cfg.model, **arch_config).to(device)
    loss_fn = make_loss(cfg.loss, cfg)
    opt_cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[cfg.optimizer]
    optimizer = opt_cls(_trainable_parameters(model, cfg.trainable), lr=cfg.lr, weight_decay=cfg.weight_decay)

    step, history = 0, {"best_val_psnr": None}
    latest = ck.latest_checkpoint(out)
    if latest is not None:
        state = ck.load_training_checkpoint(latest, model, optimizer)
        step, history = state["step"], state["progress"]
        if is_main:
            _truncate_log(out / "log.csv", step)
            print(f"resuming {out} from step {step}")
    elif cfg.init_from:
        new = ck.init_from_weights(model, cfg.init_from)
        if is_main:
            print(f"starting from {cfg.init_from}; {len(new)} new tensors keep their initialisation")
    if latest is None and is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
    if is_main:
        note_machine(out, device)

    cue_size = getattr(model, "cue_size", CUE_SIZE) if getattr(model, "uses_cue", False) else 0
    train_set, val = build_datasets(cfg, cue_size)
    net: nn.Module = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    )

    def save() -> None:
        if is_main:
            ck.save_training_checkpoint(out, step, model, optimizer, cfg.model, arch_config, history)

    stop = {"now": False}
    previous_handler = signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True)) if is_main else None
    log_path = out / "log.csv"
    bar = None
    if progress and is_main:
        from tqdm import tqdm

        bar = tqdm(total=cfg.iterations, initial=step, desc=f"train {cfg.model}", unit="step", dynamic_ncols=True)
    running, t0 = [], time.time()
    if step == 0 and val and is_main:
        _append_log(log_path, {"step": 0, **validate(model, val, loss_fn, device), "seconds": 0})
    end = min(cfg.iterations, cfg.stop_at or cfg.iterations)
    batches = step_batches(
        StepBatches(train_set, cfg.batch_size, rank, world), step, end, cfg.workers, pin=device.type == "cuda"
    )
    model.train()
    try:
        while step < end and not stop["now"]:
            x, y, cue = next(batches)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(cfg, step)
            with autocast:
                loss = loss_fn(with_cue(net, None if cue is None else cue.to(device)), x, y)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"loss became {loss.item()} at step {step}; stopped, the last good checkpoint in {out} is kept "
                    f"(lower lr={cfg.lr} or grad_clip={cfg.grad_clip})"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            step += 1
            running.append(loss.item())
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(running[-20:]):.4f}", lr=f"{lr_at(cfg, step - 1):.2e}")
            row: dict[str, Any] = {}
            if step % cfg.log_every == 0 or step == end:
                row = {"step": step, "loss": float(np.mean(running)), "lr": lr_at(cfg, step - 1)}
                running = []
            if val and (step % cfg.val_every == 0 or step == end):
                row = {**row, "step": step, **validate(model, val, loss_fn, device)}
                best = history.get("best_val_psnr")
                if best is None or row["val_psnr"] > best:
                    history["best_val_psnr"] = row["val_psnr"]
            if row and is_main:
                row["seconds"] = round(time.time() - t0, 1)
                _append_log(log_path, row)
            if step % cfg.ckpt_every == 0:
                save()
    except KeyboardInterrupt:
        if is_main:
            print(f"\ninterrupted at step {step}; saving a checkpoint to resume from")
        save()
        raise
    finally:
        batches.close()
        if bar is not None:
            bar.close()
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    save()
    if is_main:
        _plot_log(log_path, out / "curves.png", title=f"{cfg.model} on {Path(cfg.data).name}")
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return TrainResult(out / f"step-{step:08d}", step, model)


def _lock_run(out: Path):
    """Take an exclusive lock on the run folder, so two trainers never write one run."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / ".lock", "w")  # noqa: SIM115  (kept open: the lock lives as long as the handle)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RuntimeError(f"{out}: another training process is using this run folder") from None
    return handle


_LOG_FIELDS = ["step", "loss", "lr", "val_loss", "val_psnr", "seconds"]


def _append_log(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=_LOG_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in _LOG_FIELDS})


def _truncate_log(path: Path, step: int) -> None:
    """Drop log rows written after the checkpoint being resumed, so the log has no repeats."""
    if path.exists():
        with path.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
        path.unlink()
        for r in rows:
            _append_log(path, r)


def _plot_log(log_path: Path, png: Path, title: str) -> None:
    if log_path.exists():
        from .viz import plot_training_log

        plot_training_log(log_path, png, title=title)
