"""Batches of files: collect inputs, mirror the tree into the output folder, skip what is done.

An output never replaces its input; existing outputs are skipped unless ``force`` (so a killed
run resumes where it stopped); outputs are written atomically, so none is ever half-written;
unreadable files are reported and the rest go on.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .io import find_images, output_suffix


@dataclass
class BatchReport:
    """What a batch did: written outputs, skipped ones (already there) and failures with reasons."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.written)} written, {len(self.skipped)} skipped (already done), {len(self.failed)} failed"
        return text + "".join(f"\n  failed: {reason}" for _, reason in self.failed)


def collect_inputs(items: Iterable[str]) -> list[tuple[Path, Path]]:
    """``(file, path relative to its root)`` for files, folders (recursive) and glob patterns."""
    found: list[tuple[Path, Path]] = []
    for item in items:
        paths = [Path(p) for p in sorted(glob.glob(item, recursive=True))] if glob.has_magic(item) else [Path(item)]
        if not paths:
            raise FileNotFoundError(f"{item}: no files match")
        for p in paths:
            if p.is_dir():
                found += [(f, f.relative_to(p)) for f in find_images(p)]
            elif p.exists():
                found.append((p, Path(p.name)))
            else:
                raise FileNotFoundError(f"{p}: no such file or folder")
    return found


def plan_output(src: Path, rel: Path, out_dir: Path, fmt: str | None) -> Path:
    """Where ``src`` goes: ``out_dir/rel`` with the chosen format's suffix (default: keep the
    input's format when darkroom can write it, else PNG)."""
    if fmt:
        suffix = output_suffix(fmt)
    else:
        suffix = src.suffix.lower() if src.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff") else ".png"
    return out_dir / rel.with_suffix(suffix)


def run_batch(
    items: Iterable[str],
    out_dir: str | os.PathLike,
    process: Callable[[Path, Path], object],
    *,
    fmt: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> BatchReport:
    """Apply ``process(src, dst)`` to every input; see the module docstring for the rules."""
    out_dir = Path(out_dir)
    jobs = collect_inputs(items)
    report = BatchReport()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="image", dynamic_ncols=True)
    for src, rel in jobs:
        dst = plan_output(src, rel, out_dir, fmt)
        try:
            if dst.resolve() == src.resolve():
                raise ValueError(f"{src}: output would replace the original; choose another output folder")
            if dst.exists() and not force:
                report.skipped.append(dst)
            else:
                process(src, dst)
                report.written.append(dst)
        except (ValueError, OSError) as e:
            report.failed.append((src, str(e) if str(src) in str(e) else f"{src}: {e}"))
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(src.name[-30:])
    if bar is not None:
        bar.close()
    return report


__all__ = ["BatchReport", "collect_inputs", "plan_output", "run_batch"]
