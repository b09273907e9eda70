"""Train lumen on a lent GPU machine within one device call, and bring its weights back.

A lent GPU has 15 minutes a task, starting included, and the machine is bare: its files are gone
when it goes back, the ``../shared`` datasets do not travel, and at most 64 MiB of working tree
does.  This script holds what a session would otherwise work out on the clock (session 22 lost
its GPU-trained weights because they stayed in the ignored ``runs/``):

    python benchmarks/gpu_run.py pack            # here: bsds400 -> .gpu/bsds400 (ignored), sized to travel
    # device run 1, carry [".gpu"], timeout_s 590, command:
    #   python3 benchmarks/gpu_run.py train 545 --set iterations=7800 warmup=500 seed=N
    python benchmarks/gpu_run.py keep /work/.device/K/*   # here: -> candidates/STEM/, a run folder; commit it,
    # then move candidates/ out of the tree (the photos and it do not fit in 64 MiB together) and at once
    # device run 2 (the machine stays warm 30 s): the same command with --resume and the seconds left
    # (session 25: `train 200 --resume ...`, timeout_s 235); keep and commit again

Measured on one H200: a cold start and the transfers took about 40 s of device time; the machine
trains about 11 steps of batch 32 a second (the 15 workers making the patches are the limit), plus
about 15 s to start.  Session 24 held three calls (2,600, 2,000 and 2,600 steps); session 25 held
two, 783 s in all: 6,006 steps in a 547 s call, then the warm machine resumed to the end of the
7,800-step cosine in 161 s, which is as long a run as 15 minutes hold.

``pack`` copies the photos as they are (no re-encoding): every held-out one (the last ``val_split``,
as training holds them out) and as many of the others, evenly spread, as fit beside the tree (202 of
bsds400's 400 in session 23, beside a 46 MiB tree; re-encoding all of them at JPEG quality 90 would
still take 21-25 MiB).
``train`` runs ``recipes/lumen-gpu.yaml`` (override any field with ``--set``) on them for at most
SECONDS, stops the way SIGTERM stops a run (a checkpoint is written), and puts the last weights, their
card, the run's config, machine, loss log and curves flat into ``$OUT`` (at most 8 files come back);
meanwhile the newest checkpoint is mirrored there, in case the call is killed first.  ``keep`` lays
what came back out as a run folder in ``candidates/``, tracked, so a cut-off session loses nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKED = ROOT / ".gpu" / "bsds400"
RECIPE = ROOT / "recipes" / "lumen-gpu.yaml"
RUN = Path("/tmp/gpu-run")
"""The run folder on the device (outside the tree, which is copied back to nothing)."""
TREE_LIMIT = 60 * 2**20
"""What may travel (the tool's limit is 64 MiB; the rest is margin for files made meanwhile)."""


def _import_from_checkout() -> None:
    """Put this checkout's ``src`` first on the import path, once: the device has no install of darkroom."""
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)


def tree_bytes() -> int:
    """Bytes of the files that travel anyway: tracked, and untracked but not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return sum((ROOT / name).stat().st_size for name in listed.decode().split("\0") if (ROOT / name).is_file())


def choose_photos(photos: list[Path], held_out: int, budget: int) -> list[Path]:
    """Every held-out photo (the last ``held_out``) and as many of the others, evenly spread, as fit
    in ``budget`` bytes; in their sorted order, so training holds out the same photos."""
    size = {p: p.stat().st_size for p in photos}
    train, val = photos[:-held_out] if held_out else photos, photos[-held_out:] if held_out else []
    left = budget - sum(size[p] for p in val)
    mean = sum(size[p] for p in train) / max(1, len(train))
    count = max(0, min(len(train), int(left / max(mean, 1))))
    while count and sum(size[p] for p in _spread(train, count)) > left:
        count -= 1
    return sorted(_spread(train, count) + val)


def _spread(items: list[Path], count: int) -> list[Path]:
    return [items[i * len(items) // count] for i in range(count)] if count else []


def pack(source: Path, held_out: int) -> None:
    from darkroom.io import find_images  # the listing training reads, so the same photos are held out

    if PACKED.exists():
        shutil.rmtree(PACKED)
    photos = find_images(source)
    chosen = choose_photos(photos, held_out, TREE_LIMIT - tree_bytes())
    for photo in chosen:
        target = PACKED / photo.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(photo, target)
    size = sum(p.stat().st_size for p in chosen) / 2**20
    name = PACKED.relative_to(ROOT)
    print(f"{name}: {len(chosen)} of {len(photos)} photos ({size:.1f} MiB; the last {held_out} held out)")


def train_for(seconds: float, overrides: list[str], out: Path, resume: bool = False, run: Path = RUN) -> None:
    """Train the recipe on the packed photos until done or ``seconds`` have passed, then copy the
    last weights (``lumen-gpu-step-N.safetensors`` and card), ``log.csv`` and ``curves.png`` to ``out``.

    A warm machine keeps ``run`` between calls; it is started afresh unless ``resume`` (session 24's
    second call silently went on from the first's checkpoint on a new schedule)."""
    _import_from_checkout()
    from darkroom.train import TrainConfig, train

    if run.exists() and not resume:
        shutil.rmtree(run)
    cfg = TrainConfig.from_file(RECIPE, [f"data={PACKED}", f"out={run}", *overrides])
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM))  # train stops on it, saving
    stop = threading.Event()
    watcher = threading.Thread(target=_mirror_until, args=(stop, run, out), daemon=True)
    timer.start()
    watcher.start()
    began = time.monotonic()
    try:
        result = train(cfg, resume=resume and (run / "latest").exists(), progress=False)
    finally:
        timer.cancel()
        stop.set()
        watcher.join()
    weights, step = result.checkpoint / "model.safetensors", result.step
    out.mkdir(parents=True, exist_ok=True)
    for mirrored in out.glob(f"{MIRROR}.*"):
        mirrored.unlink()  # the last weights follow under their step's name
    shutil.copyfile(weights, out / f"lumen-gpu-step-{step}.safetensors")
    shutil.copyfile(weights.with_suffix(".json"), out / f"lumen-gpu-step-{step}.json")
    for name in RUN_FILES:  # what makes the returned weights a run folder that ship_weights.py can card
        if (run / name).exists():
            shutil.copyfile(run / name, out / name)
    print(f"stopped at step {step} of {cfg.iterations} after {time.monotonic() - began:.0f} s; weights in {out}")


RUN_FILES = ("config.json", "machines.txt", "log.csv", "curves.png")
"""A run folder's files, besides its weights, that come back with them (at most 8 files come back)."""
MIRROR = "lumen-gpu-latest"
"""Name under which the newest checkpoint is mirrored into ``$OUT`` while a run trains."""
MIRROR_EVERY = 15.0
"""Seconds between looks for a newer checkpoint to mirror."""


def mirror_latest(run: Path, out: Path, seen: Path | None = None) -> Path | None:
    """Copy the weights and card of ``run``'s newest complete checkpoint to ``out`` as ``MIRROR.*``
    (each file replaced whole) unless it is ``seen``; returns the checkpoint now mirrored.  What lies
    under ``$OUT`` comes back even from a call killed at its limit (a slow start leaves a command less
    time than asked for), so a run cut off before its own timer still returns its last checkpoint."""
    _import_from_checkout()
    from darkroom.checkpoint import latest_checkpoint

    ckpt = latest_checkpoint(run)
    if ckpt is None or ckpt == seen:
        return seen
    out.mkdir(parents=True, exist_ok=True)
    try:
        for suffix in (".safetensors", ".json"):
            part = out / f"{MIRROR}{suffix}.part"
            shutil.copyfile(ckpt / f"model{suffix}", part)
            os.replace(part, out / f"{MIRROR}{suffix}")
    except OSError:  # the checkpoint was pruned meanwhile: the next look finds a newer one
        return seen
    return ckpt


def _mirror_until(stop: threading.Event, run: Path, out: Path) -> None:
    seen = None
    while not stop.wait(MIRROR_EVERY):
        seen = mirror_latest(run, out, seen)


def keep(files: list[Path]) -> Path:
    """Lay returned weights out as a run folder in ``candidates/`` (tracked, so a cut-off session loses
    nothing): ``candidates/STEM/model.safetensors`` and ``model.json`` from the one ``STEM.safetensors``
    and its card, beside any of ``RUN_FILES`` among ``files``.  Compare, average and ship it as any run
    folder; ``ship_weights.py`` reads the recipe, steps, wall time and machine from it."""
    weights = [f for f in files if f.suffix == ".safetensors"]
    if len(weights) != 1:
        raise SystemExit(f"keep takes one .safetensors file (and its run's files), not {len(weights)}")
    target = ROOT / "candidates" / weights[0].stem
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights[0], target / "model.safetensors")
    card = weights[0].with_suffix(".json")
    if card.exists():
        shutil.copyfile(card, target / "model.json")
    for f in files:
        if f.name in RUN_FILES:
            shutil.copyfile(f, target / f.name)
    print(f"kept {target.relative_to(ROOT)}: {', '.join(sorted(p.name for p in target.iterdir()))}; commit it now")
    return target


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="verb", required=True)
    a = sub.add_parser("pack", help="copy the training photos that fit into .gpu/bsds400")
    a.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "datasets" / "train" / "bsds400")
    a.add_argument("--held-out", type=int, default=16, help="the recipe's val_split")
    b = sub.add_parser("train", help="on the device: train for at most SECONDS, weights into $OUT")
    b.add_argument("seconds", type=float)
    b.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    b.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-out")))
    b.add_argument("--resume", action="store_true", help="go on from the last call's checkpoint (same machine)")
    c = sub.add_parser("keep", help="copy returned weights and cards into candidates/")
    c.add_argument("files", type=Path, nargs="+")
    args = p.parse_args()
    if args.verb == "pack":
        pack(args.source, args.held_out)
    elif args.verb == "train":
        train_for(args.seconds, args.set, args.out, args.resume)
    else:
        keep(args.files)


if __name__ == "__main__":
    main()
