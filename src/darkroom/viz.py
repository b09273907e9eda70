"""Pictures a person would rather look at than read: loss curves and before/after grids."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training_log(log_csv: str | os.PathLike, png: str | os.PathLike, *, title: str = "") -> Path:
    """Draw training loss, validation loss and validation PSNR from a run's ``log.csv``."""
    plt = _pyplot()
    with open(log_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    train = [(int(r["step"]), float(r["loss"])) for r in rows if r.get("loss")]
    val = [(int(r["step"]), float(r["val_loss"]), float(r["val_psnr"])) for r in rows if r.get("val_loss")]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    if train:
        ax1.plot(*zip(*train), label="train", lw=1)
    if val:
        ax1.plot([v[0] for v in val], [v[1] for v in val], "o-", label="validation", ms=3)
        ax2.plot([v[0] for v in val], [v[2] for v in val], "o-", color="C2", ms=3)
    positive = all(v[1] > 0 for v in train) and all(v[1] > 0 for v in val)  # the psnr loss is negative
    ax1.set(xlabel="step", ylabel="loss", yscale="log" if positive else "linear", title="loss")
    ax1.legend()
    ax2.set(xlabel="step", ylabel="PSNR (dB)", title="validation PSNR")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    png = Path(png)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png


def comparison_grid(
    rows: Sequence[Sequence[np.ndarray]],
    png: str | os.PathLike,
    *,
    column_titles: Sequence[str] = (),
    captions: Sequence[Sequence[str]] = (),
    tile_width: float = 3.2,
) -> Path:
    """Save a grid of images (each ``(H, W, 3)`` in [0, 1]): one row per example, one column
    per method, with optional titles over the columns and a caption under each tile.  A
    ``.jpg`` path is written as JPEG (quality 90), a few times smaller than PNG for photos."""
    plt = _pyplot()
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    h, w = rows[0][0].shape[:2]
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(tile_width * n_cols, tile_width * h / w * n_rows + 0.5),
        squeeze=False,
    )
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i][j]
            ax.axis("off")
            if j < len(row):
                ax.imshow(np.clip(row[j], 0, 1), interpolation="lanczos")
                if i == 0 and j < len(column_titles):
                    ax.set_title(column_titles[j], fontsize=10)
                if captions and j < len(captions[i]) and captions[i][j]:
                    ax.text(0.5, -0.02, captions[i][j], transform=ax.transAxes, ha="center", va="top", fontsize=9)
    fig.tight_layout()
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    jpeg = png.suffix.lower() in (".jpg", ".jpeg")
    fig.savefig(png, dpi=100, **({"pil_kwargs": {"quality": 90}} if jpeg else {}))
    plt.close(fig)
    return png
