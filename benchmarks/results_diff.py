"""What a rescore changed, row by row and photo by photo: the reports now against a git revision's.

    python benchmarks/results_diff.py [--base HEAD] [--method lumen] [--min-loss 1.0] [--out diff.md]

``benchmarks/run_all.sh`` rewrites ``benchmarks/results/*.json``; this reads each report beside the
same file at ``--base`` and, for ``--method``, prints the change of its main score (PSNR, or for rows
without references the lightness-order error and NIQE, where lower is better) and, on PSNR rows, every
photo (matched by name) that lost more than ``--min-loss`` dB.  A mean hides one ruined photo: stage 13d's
CBSD68 identity row fell 0.08 dB while 302008, a clean portrait on black, fell 11 dB (session 27).

Rows the method is missing from on either side are listed as such, not skipped silently.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from darkroom.engine import DEFAULT_MODEL
from darkroom.io import atomic_write_bytes

RESULTS = Path(__file__).parent / "results"
NO_REFERENCE_SCORES = ("loe", "niqe")
"""Scores of rows without references (lower is better), shown where a row has no PSNR."""
SHOWN_LOSSES = 5
"""Photos named per row, the largest losses first."""


def current_reports(folder: Path = RESULTS) -> dict[str, dict]:
    """``{row: report}`` for every evaluation report (a JSON file with ``methods``) in ``folder``."""
    reports = {}
    for path in sorted(folder.glob("*.json")):
        report = json.loads(path.read_text())
        if isinstance(report, dict) and "methods" in report:
            reports[path.stem] = report
    return reports


def reports_at(revision: str, folder: Path = RESULTS) -> dict[str, dict]:
    """``{row: report}`` as ``folder``'s JSON reports were at git ``revision`` (``{}`` where it had none)."""
    folder = folder.resolve()
    top = Path(_git(folder, "rev-parse", "--show-toplevel").strip())
    where = folder.relative_to(top).as_posix()
    names = _git(top, "ls-tree", "--name-only", f"{revision}:{where}").split()
    reports = {}
    for name in sorted(n for n in names if n.endswith(".json")):
        report = json.loads(_git(top, "show", f"{revision}:{where}/{name}"))
        if isinstance(report, dict) and "methods" in report:
            reports[name.removesuffix(".json")] = report
    return reports


def _git(cwd: Path, *args: str) -> str:
    """The output of ``git ARGS`` run in ``cwd``; a failure names the command and git's message."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def diff_row(row: str, base: dict | None, now: dict | None, method: str, min_loss: float) -> dict:
    """One row's change for ``method``: ``scores`` maps each main score to ``(base, now)``; ``lost``
    lists ``(photo, base_psnr, now_psnr)`` for photos that lost more than ``min_loss`` dB, largest
    loss first; ``better``/``n`` count photos whose PSNR rose.  ``missing`` says on which side the
    method was not scored (then nothing else is filled)."""
    old = _method(base, method)
    new = _method(now, method)
    out: dict = {"row": row, "scores": {}, "lost": [], "better": 0, "n": 0, "missing": None}
    if old is None or new is None:
        out["missing"] = "both" if old is None and new is None else ("base" if old is None else "now")
        return out
    shared = [k for k in ("psnr", *NO_REFERENCE_SCORES) if old.get(k) is not None and new.get(k) is not None]
    keys = ["psnr"] if "psnr" in shared else shared
    out["scores"] = {k: (old[k], new[k]) for k in keys}
    if "psnr" in out["scores"]:
        before = {im["name"]: im["psnr"] for im in old.get("images", [])}
        pairs = [(im["name"], before[im["name"]], im["psnr"]) for im in new.get("images", []) if im["name"] in before]
        out["n"] = len(pairs)
        out["better"] = sum(n > b for _, b, n in pairs)
        out["lost"] = sorted((p for p in pairs if p[2] - p[1] < -min_loss), key=lambda p: p[2] - p[1])
    return out


def _method(report: dict | None, method: str) -> dict | None:
    """``method``'s record in ``report``, or ``None``."""
    for record in (report or {}).get("methods", []):
        if record.get("method") == method:
            return record
    return None


def diff_reports(base: dict[str, dict], now: dict[str, dict], method: str, min_loss: float) -> list[dict]:
    """:func:`diff_row` for every row in either set of reports, in name order."""
    return [diff_row(row, base.get(row), now.get(row), method, min_loss) for row in sorted(set(base) | set(now))]


def to_markdown(rows: list[dict], method: str, revision: str, min_loss: float) -> str:
    """A table of the rows, those with a photo that lost more than ``min_loss`` dB listed first."""
    lines = [
        f"# `{method}`: benchmarks/results now against {revision}",
        "",
        f"| row | score | {revision} | now | change | photos better | photos that lost more than {min_loss:g} dB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (not r["lost"], r["row"])):
        if r["missing"]:
            side = {"base": f"not in {revision}", "now": "not scored now", "both": "in neither"}[r["missing"]]
            lines.append(f"| {r['row']} | - | - | - | {side} | - | - |")
            continue
        lost = ", ".join(f"{name} {b:.2f} -> {n:.2f}" for name, b, n in r["lost"][:SHOWN_LOSSES])
        if len(r["lost"]) > SHOWN_LOSSES:
            lost += f" (+{len(r['lost']) - SHOWN_LOSSES} more)"
        better = f"{r['better']}/{r['n']}" if r["n"] else "-"
        for key, (b, n) in r["scores"].items():
            lines.append(f"| {r['row']} | {key} | {b:.2f} | {n:.2f} | {n - b:+.2f} | {better} | {lost or '-'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", default="HEAD", help="git revision to compare with (default: HEAD)")
    p.add_argument("--method", default=DEFAULT_MODEL)
    p.add_argument("--min-loss", type=float, default=1.0, help="list photos that lost more than this (dB)")
    p.add_argument("--out", type=Path, help="also write the Markdown here")
    a = p.parse_args()
    rows = diff_reports(reports_at(a.base), current_reports(), a.method, a.min_loss)
    text = to_markdown(rows, a.method, a.base, a.min_loss)
    print(text, end="")
    if a.out:
        atomic_write_bytes(a.out, text.encode())


if __name__ == "__main__":
    main()
