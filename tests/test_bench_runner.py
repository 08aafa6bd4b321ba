"""bench/run_all.py: headline keys always present, verdicts against the bars."""

from __future__ import annotations

from bench import run_all


def test_bn01_report_keeps_every_headline_key_and_says_why_one_is_missing():
    figures = {"snapshot_full_ms": 42.0, "extra_ms": float("nan")}
    out = run_all.report(figures, {}, ["bench_analytics"], {"cpu_count": 2})
    assert set(run_all.HEADLINE) <= set(out)
    assert out["snapshot_full_ms"] == 42.0 and out["extra_ms"] is None
    assert out["skipped"]["ticks_recent_rps"] == "bench_api not selected"
    assert out["skipped"]["snapshot_incremental_ms"] == "not measured"


def test_bn02_verdicts_follow_the_direction_of_each_bar():
    assert run_all.verdict("snapshot_full_ms", 50.0) == "met"
    assert run_all.verdict("snapshot_full_ms", 50.1) == "MISSED"
    assert run_all.verdict("ticks_recent_rps", 1999.0) == "MISSED"
    assert run_all.verdict("ticks_recent_rps", 2400.0) == "met"
    assert run_all.verdict("ticks_recent_rps", None) == "-"
    lines = run_all.summary({"market_page_ready_s": 1.62})
    row = next(line for line in lines if line.startswith("market_page_ready_s"))
    assert "1.62" in row and "<= 1.5" in row and row.endswith("MISSED")
    assert len(lines) == len(run_all.HEADLINE) + 1
