"""benchmarks/results_diff.py: a rescore's changes, row by row and photo by photo, against a git revision."""

import json
import subprocess

import pytest

from conftest import load_benchmark


def _report(method: str, psnrs: dict[str, float]) -> dict:
    images = [{"name": name, "psnr": value} for name, value in psnrs.items()]
    return {"methods": [{"method": method, "psnr": sum(psnrs.values()) / len(psnrs), "images": images}]}


def test_a_photo_that_lost_more_than_the_limit_is_named_though_the_mean_barely_moves():
    diff = load_benchmark("results_diff")
    base = _report("lumen", {"a": 30.0, "b": 40.0, "c": 35.0, "d": 32.0})
    now = _report("lumen", {"a": 30.5, "b": 37.0, "c": 37.3, "d": 31.6})  # b loses 3 dB, d 0.4

    row = diff.diff_row("set-gauss25", base, now, "lumen", min_loss=1.0)

    assert row["scores"]["psnr"] == pytest.approx((34.25, 34.1)) and row["missing"] is None
    assert row["lost"] == [("b", 40.0, 37.0)]  # d lost less than the limit
    assert (row["better"], row["n"]) == (2, 4)
    text = diff.to_markdown([row], "lumen", "HEAD", 1.0)
    assert "| set-gauss25 | psnr | 34.25 | 34.10 | -0.15 | 2/4 | b 40.00 -> 37.00 |" in text


def test_rows_without_references_show_their_no_reference_scores_and_a_missing_method_is_said():
    diff = load_benchmark("results_diff")
    unpaired = {"methods": [{"method": "lumen", "loe": 234.0, "niqe": 5.14, "images": [{"name": "x", "loe": 1.0}]}]}
    moved = {"methods": [{"method": "lumen", "loe": 247.0, "niqe": 5.10, "images": [{"name": "x", "loe": 2.0}]}]}

    rows = diff.diff_reports({"sci": unpaired, "old": unpaired}, {"sci": moved, "new": moved}, "lumen", 1.0)

    by_row = {r["row"]: r for r in rows}
    assert by_row["sci"]["scores"] == {"loe": (234.0, 247.0), "niqe": (5.14, 5.10)} and by_row["sci"]["lost"] == []
    assert by_row["old"]["missing"] == "now" and by_row["new"]["missing"] == "base"
    text = diff.to_markdown(rows, "lumen", "HEAD", 1.0)
    assert "| new | - | - | - | not in HEAD | - | - |" in text and "| sci | loe | 234.00 | 247.00 | +13.00 |" in text


def test_the_base_reports_are_read_from_git_and_other_json_files_are_left_out(tmp_path):
    diff = load_benchmark("results_diff")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    results = tmp_path / "results"
    results.mkdir()
    (results / "row.json").write_text(json.dumps(_report("lumen", {"a": 30.0})))
    (results / "speed.json").write_text(json.dumps({"rows": []}))  # not an evaluation report
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    (results / "row.json").write_text(json.dumps(_report("lumen", {"a": 28.0})))

    base, now = diff.reports_at("HEAD", results), diff.current_reports(results)

    assert set(base) == set(now) == {"row"}
    assert diff.diff_row("row", base["row"], now["row"], "lumen", 1.0)["lost"] == [("a", 30.0, 28.0)]
