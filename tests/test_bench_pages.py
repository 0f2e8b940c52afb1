"""tools/bench_pages.py: of several Lighthouse runs of a page, the table reports the one
Lighthouse itself takes as representative (``computeMedianRun`` in its
``core/lib/median-run.js``), and keeps every run's score."""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import bench_pages  # noqa: E402


def run(fcp, tti, perf):
    return {"fcp_ms": fcp, "tti_ms": tti, "performance": perf}


def test_docstring_examples():
    assert doctest.testmod(bench_pages).failed == 0


def test_median_run_is_nearest_to_the_median_fcp_and_tti():
    # medians: FCP 1600, TTI 5000. Distances: (100, 0), (0, 1000), (200, 200).
    runs = [run(1500, 5000, 0.91), run(1600, 6000, 0.88), run(1800, 4800, 0.95)]
    assert bench_pages.median_run(runs)["performance"] == 0.91
    # Chosen by its times, not by its score: here the median score (0.95) is another run's.
    runs = [run(1500, 4000, 0.99), run(1600, 5000, 0.90), run(1700, 6000, 0.95)]
    assert bench_pages.median_run(runs)["performance"] == 0.90


def test_median_run_of_an_even_count_averages_the_middle_two():
    # medians: FCP 1550, TTI 4500, equally far from the two middle runs: the earlier TTI wins.
    runs = [run(1400, 4000, 0.9), run(1500, 4400, 0.93), run(1600, 4600, 0.92), run(1700, 5000, 0.91)]
    assert bench_pages.median_run(runs)["performance"] == 0.93


def test_failed_runs_are_left_out_but_counted():
    failed = {"error": "Chrome crashed"}
    best = bench_pages.median_run([failed, run(1500, 4000, 0.95), run(1500, 4000, 0.95)])
    assert best["performance"] == 0.95 and best["performance_runs"] == [None, 0.95, 0.95]
    assert "error" in bench_pages.median_run([failed, failed])
