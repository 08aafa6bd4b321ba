"""Analytics edge cases: each gives a defined result, never an exception."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analytics as A
from analytics.constants import (
    REASON_NO_DATA,
    REASON_SHORT_HISTORY,
    REASON_STALE,
)
from analytics.stage_machine import run_stage_machine

SESSIONS = 300


def make_panels(
    n_symbols: int = 6, sessions: int = SESSIONS, seed: int = 5, bench: str = "SPY"
) -> dict[str, pd.DataFrame]:
    """Return a small deterministic random-walk market with a benchmark column."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2023-01-02", periods=sessions, name="date")
    symbols = [f"S{i}" for i in range(n_symbols)] + [bench]
    close = 50 * np.exp(
        np.cumsum(rng.normal(0.0005, 0.02, (sessions, len(symbols))), 0)
    )
    frame = pd.DataFrame(close, index=index, columns=symbols)
    return {
        "open": frame * 0.999,
        "high": frame * 1.01,
        "low": frame * 0.99,
        "close": frame,
        "volume": frame * 0 + 1_000_000.0,
    }


def meta_for(symbols: list[str]) -> pd.DataFrame:
    sectors = ["Energy", "Utilities"]
    return pd.DataFrame(
        {
            "symbol": symbols,
            "sector": [sectors[i % 2] for i in range(len(symbols))],
            "sub_industry": [
                ["Oil", "Power", "Gas"][i % 3] for i in range(len(symbols))
            ],
        }
    )


def edit(panels: dict, symbol: str, rows, value: float) -> dict:
    out = {k: v.copy() for k, v in panels.items()}
    for k in out:
        out[k].iloc[rows, out[k].columns.get_loc(symbol)] = value
    return out


# -- RS rating rounding and population -----------------------------------------------
def test_rating_rounds_half_to_even():
    scores = pd.Series([0.1, 0.2, 0.3, 0.4], index=list("abcd"))
    sessions = pd.Series(300, index=scores.index)
    ratings = A.rs_ratings(scores, sessions)
    # pct 0.25 -> 25.5 -> 26 (even), 0.5 -> 50, 0.75 -> 74.5 -> 74 (even), 1.0 -> 99
    assert ratings.tolist() == [26, 50, 74, 99]
    assert str(ratings.dtype) == "Int64"


def test_rating_ties_share_a_rating_and_population_excludes_short_history():
    scores = pd.Series([0.5, 0.5, 0.1, 0.9, np.nan], index=list("abcde"))
    sessions = pd.Series([300, 300, 300, 252, 300], index=scores.index)
    ratings = A.rs_ratings(scores, sessions)
    # Population a, b, c: c rank 1 (pct 1/3), a and b tie at rank 2.5 (pct 5/6).
    assert ratings["a"] == ratings["b"] == round(5 / 6 * 98 + 1)
    assert ratings["c"] == round(1 / 3 * 98 + 1)
    assert ratings["d"] is pd.NA and ratings["e"] is pd.NA


def test_universe_of_one_gets_99():
    panels = make_panels(1)
    close = panels["close"][["S0"]]
    ratings = A.rs_ratings(A.rs_scores(close), A.sessions_available(close))
    assert ratings.tolist() == [99]
    snap = A.market_snapshot(panels, meta_for(["S0"]))
    assert snap["rankings"]["rs_rating"].tolist() == [99]
    day = snap["breadth_panel"].set_index("label").loc["day"]
    assert day.total == 1 and day.up + day.down <= 1
    assert snap["sectors"]["members"].tolist() == [1]


# -- short histories, gaps, stale symbols ----------------------------------------------
def test_symbol_with_ten_sessions():
    panels = edit(make_panels(4), "S1", slice(0, SESSIONS - 10), np.nan)
    close = panels["close"]
    rets = A.returns(close)
    assert not math.isnan(rets.at["S1", "ret_5d"])
    assert rets.loc["S1", ["ret_21d", "ret_63d", "ret_252d", "ret_ytd"]].isna().all()
    snap = A.market_snapshot(panels, meta_for(["S0", "S1", "S2", "S3"]))
    row = snap["rankings"].set_index("symbol").loc["S1"]
    assert row.rs_rating is pd.NA and row.excluded_reason == REASON_SHORT_HISTORY
    assert row.sessions == 10
    assert row.stage is pd.NA
    weekly = A.weekly_bars(panels)
    current, history = A.weinstein_stages(weekly["close"], weekly["volume"])
    assert current.at["S1", "stage"] is pd.NA and history["S1"].isna().all()
    ranked = snap["rankings"]["rs_rating"].notna().sum()
    assert ranked == 3


def test_gap_gives_nan_at_that_lag_only():
    panels = edit(make_panels(3), "S0", [SESSIONS - 1 - 5], np.nan)
    rets = A.returns(panels["close"])
    assert math.isnan(rets.at["S0", "ret_5d"])
    assert not rets.loc["S0", ["ret_1d", "ret_21d", "ret_252d"]].isna().any()
    got = A.breadth(panels["close"], panels["high"], panels["low"], panels["volume"])
    pairs = got[["advancers", "decliners", "unchanged"]].sum(axis=1).to_numpy()
    gap = SESSIONS - 6  # S0 has no close here: no pair into or out of this session
    assert pairs[gap - 1] == 4 and pairs[gap] == 3 and pairs[gap + 1] == 3  # + SPY
    assert pairs[gap + 2] == 4
    assert math.isnan(got["pct_above_sma20"].iloc[-1]) is False
    snap = A.market_snapshot(panels, meta_for(["S0", "S1", "S2"]))
    assert snap["rankings"]["rs_rating"].notna().sum() == 3  # RS lags avoid the gap
    weekly = A.weekly_close(panels["close"])
    week_of_gap = weekly.index[weekly.index >= panels["close"].index[gap]][0]
    assert not math.isnan(weekly.at[week_of_gap, "S0"])  # last valid close that week


def test_stale_symbol_is_excluded_with_reason():
    panels = edit(make_panels(3), "S2", [SESSIONS - 1], np.nan)
    snap = A.market_snapshot(panels, meta_for(["S0", "S1", "S2"]))
    row = snap["rankings"].set_index("symbol").loc["S2"]
    assert row.rs_rating is pd.NA and row.excluded_reason == REASON_STALE
    info = snap["info"].iloc[0]
    assert info.excluded == 1 and info.excluded_by_reason == {REASON_STALE: 1}


def test_zero_volume_days_give_null_volume_ratio_not_inf():
    panels = make_panels(2)
    panels = edit(panels, "S0", slice(SESSIONS - 40, SESSIONS), 0.0)
    for k in ("open", "high", "low", "close"):  # restore prices, keep zero volume
        panels[k] = make_panels(2)[k]
    weekly = A.weekly_bars(panels)
    current, _ = A.weinstein_stages(weekly["close"], weekly["volume"])
    assert math.isnan(current.at["S0", "volume_ratio"])
    assert current.at["S1", "volume_ratio"] == pytest.approx(1.0, rel=0.5)
    got = A.breadth(panels["close"], panels["high"], panels["low"], panels["volume"])
    assert np.isfinite(got[["up_volume", "down_volume"]].to_numpy()).all()
    snap = A.market_snapshot(panels, meta_for(["S0", "S1"]))
    assert math.isnan(snap["stages"].set_index("symbol").at["S0", "volume_ratio"])


# -- empty inputs ---------------------------------------------------------------------
def test_empty_panel_everywhere():
    empty = A.panel_from_bars(pd.DataFrame(columns=["symbol", "date", "close"]))
    assert empty.shape == (0, 0)
    bench = pd.Series(dtype=float)
    assert A.returns(empty).empty
    assert A.rs_scores(empty).empty
    assert A.rs_ratings(A.rs_scores(empty), A.sessions_available(empty)).empty
    assert A.rs_line(empty, bench).empty
    assert A.rs_new_high(empty, bench).empty
    assert A.rrg(empty, bench).empty
    assert A.rrg_latest(empty, bench).empty
    assert A.weekly_close(empty).empty
    current, history = A.weinstein_stages(empty)
    assert current.empty and history.empty
    assert A.breadth(empty).empty
    panel = A.breadth_panel(empty)
    assert len(panel) == 11 and (panel["total"] == 0).all()
    snap = A.market_snapshot({"close": empty})
    assert set(snap) >= {"rankings", "stages", "rotation", "breadth", "breadth_panel"}
    assert all(isinstance(v, pd.DataFrame) for v in snap.values())


def test_empty_panel_with_meta_lists_symbols_without_data():
    meta = meta_for(["S0", "S1"])
    snap = A.market_snapshot({"close": A.panel_from_bars(pd.DataFrame())}, meta)
    assert snap["rankings"]["excluded_reason"].tolist() == [REASON_NO_DATA] * 2
    assert snap["rankings"]["rs_rating"].isna().all()
    assert snap["sectors"]["members"].sum() == 2


def test_meta_symbols_missing_from_panel_are_listed():
    panels = make_panels(2)
    snap = A.market_snapshot(panels, meta_for(["S0", "S1", "ZZZ"]))
    row = snap["rankings"].set_index("symbol").loc["ZZZ"]
    assert row.excluded_reason == REASON_NO_DATA and row.sessions == 0
    assert len(snap["stages"]) == 2


def test_universe_without_meta_excludes_benchmark_and_sector_etfs():
    panels = make_panels(3)
    panels = {k: v.assign(XLK=v["S0"]) for k, v in panels.items()}
    snap = A.market_snapshot(panels)
    assert sorted(snap["rankings"]["symbol"]) == ["S0", "S1", "S2"]
    assert set(snap["rotation"]["symbol"]) == {"XLK"}


# -- benchmark problems ---------------------------------------------------------------
def test_benchmark_missing_for_some_dates():
    panels = edit(make_panels(3), "SPY", slice(SESSIONS - 30, SESSIONS - 20), np.nan)
    bench = panels["close"]["SPY"]
    close = panels["close"][["S0", "S1", "S2"]]
    line = A.rs_line(close, bench)
    assert line.iloc[SESSIONS - 25].isna().all() and line.iloc[-1].notna().all()
    assert not A.rs_new_high(close, bench).any()  # the 252-session window has gaps
    points = A.rrg(close, bench, period="daily", tail=None)
    gap_dates = close.index[SESSIONS - 30 : SESSIONS - 20]
    assert not points["date"].isin(gap_dates).any()
    sector = {"S0": "Energy"}
    snap = A.market_snapshot(panels, meta_for(["S0", "S1", "S2"]), sector_etfs=sector)
    assert snap["info"].iloc[0].benchmark == "SPY"
    assert not snap["rankings"]["rs_new_high"].any()


def test_benchmark_absent():
    panels = make_panels(3)
    snap = A.market_snapshot(panels, meta_for(["S0", "S1"]), bench_symbol="NOPE")
    assert snap["rotation"].empty
    assert snap["stages"]["mansfield_rs"].isna().all()
    assert snap["info"].iloc[0].benchmark is None
    assert snap["rankings"]["rs_rating"].notna().all()


# -- Weinstein stage machine rules ----------------------------------------------------
UP, DOWN, FLAT_NEG, FLAT_POS, GAP = (
    (5.0, 1.0),
    (-5.0, -1.0),
    (-1.0, 0.0),
    (1.0, 0.0),
    (
        np.nan,
        np.nan,
    ),
)


def machine(weeks: list[tuple[float, float]]):
    pv = np.array([[w[0]] for w in weeks])
    slope = np.array([[w[1]] for w in weeks])
    run = run_stage_machine(pv, slope)
    return run.hist[:, 0].tolist(), run.transitions[:, 0].tolist(), run.state


def test_first_two_weeks_confirm_the_first_stage_without_a_change():
    hist, transitions, state = machine([GAP, UP, UP, UP])
    assert hist == [0, 0, 2, 2]
    assert transitions == [0, 0, 0, 0]  # establishing the first stage is no change
    assert state.week - state.stage_start[0] + 1 == 3  # run began in week 1


def test_untrended_start_uses_sign_of_pv():
    assert machine([FLAT_NEG, FLAT_NEG])[0] == [0, 1]
    assert machine([FLAT_POS, FLAT_POS])[0] == [0, 3]


def test_one_week_blip_does_not_change_stage_and_weeks_keep_counting():
    hist, _, state = machine([UP, UP, FLAT_POS, UP, UP])
    assert hist == [0, 2, 2, 2, 2]
    assert state.week - state.stage_start[0] + 1 == 5


def test_full_cycle_uses_last_trend_for_stages_3_and_1():
    weeks = [UP, UP, FLAT_NEG, FLAT_NEG, DOWN, DOWN, FLAT_POS, FLAT_POS, UP, UP]
    hist, transitions, state = machine(weeks)
    assert hist == [0, 2, 2, 3, 3, 4, 4, 1, 1, 2]
    assert transitions == [0, 0, 0, 2, 0, 3, 0, 4, 0, 1]
    assert state.week - state.stage_start[0] + 1 == 2  # stage 2 confirmed this week


def test_missing_week_breaks_the_run_and_shows_no_stage():
    hist, _, _ = machine([UP, UP, DOWN, GAP, DOWN, DOWN])
    assert hist == [0, 2, 2, 0, 2, 4]


def test_weinstein_on_prices_reaches_stage_2_with_weeks_in_stage():
    index = pd.bdate_range("2022-01-03", periods=5 * 60, name="date")
    base = np.r_[np.full(5 * 40, 100.0), 100 * 1.01 ** np.arange(1, 5 * 20 + 1)]
    close = pd.DataFrame({"UP": base}, index=index)
    weekly = A.weekly_close(close)
    current, history = A.weinstein_stages(weekly)
    assert current.at["UP", "stage"] == 2
    first_two = int(history["UP"].eq(2).fillna(False).to_numpy(dtype=bool).argmax())
    assert current.at["UP", "weeks_in_stage"] == len(history) - first_two + 1
    assert bool(current.at["UP", "stage_changed_this_week"]) is False


# -- weekly bars, panels, dtypes ------------------------------------------------------
def test_weekly_bar_is_indexed_by_last_session_of_iso_week():
    # Holidays on Mondays 2023-12-25 and 2024-01-01; weeks 2023-W52 and 2024-W01.
    dates = pd.to_datetime(["2023-12-26", "2023-12-29", "2024-01-02", "2024-01-05"])
    close = pd.DataFrame({"A": [1.0, 2.0, 3.0, np.nan]}, index=dates)
    weekly = A.weekly_bars(
        {"close": close, "high": close, "low": close, "open": close, "volume": close}
    )
    assert list(weekly["close"].index) == [dates[1], dates[3]]
    assert weekly["close"]["A"].tolist() == [2.0, 3.0]  # last valid close of the week
    assert weekly["volume"]["A"].tolist() == [3.0, 3.0]
    assert weekly["open"]["A"].tolist() == [1.0, 3.0]


def test_panel_from_bars_handles_unsorted_duplicates_and_timezones():
    bars = pd.DataFrame(
        {
            "symbol": ["B", "A", "A", "A"],
            "date": pd.to_datetime(
                ["2024-01-03", "2024-01-03", "2024-01-02", "2024-01-03"]
            ).tz_localize("UTC"),
            "close": [10.0, 1.0, 2.0, 3.0],
        }
    )
    panel = A.panel_from_bars(bars)
    assert list(panel.columns) == ["A", "B"]
    assert panel["A"].tolist() == [2.0, 3.0]  # the later duplicate wins
    assert math.isnan(panel["B"].iloc[0])
    panels = A.panels_from_bars(bars)
    assert set(panels) == {"open", "high", "low", "close", "volume"}
    assert panels["volume"].isna().all().all()


def test_object_and_string_symbol_labels_work():
    panels = make_panels(3)
    for dtype in (object, "str"):
        cols = pd.Index(list(panels["close"].columns), dtype=dtype)
        renamed = {k: v.set_axis(cols, axis=1) for k, v in panels.items()}
        meta = meta_for(["S0", "S1", "S2"]).astype({"symbol": dtype})
        snap = A.market_snapshot(renamed, meta)
        assert snap["rankings"]["rs_rating"].notna().sum() == 3


def test_group_ranking_matches_plain_medians():
    rankings = pd.DataFrame(
        {
            "symbol": list("abcde"),
            "rs_rating": pd.array([10, 20, 30, None, 90], dtype="Int64"),
            "ret_1d": [0.1, np.nan, 0.3, 0.4, 0.5],
            "stage": pd.array([2, 2, 1, None, 4], dtype="Int64"),
        }
    )
    meta = pd.DataFrame({"symbol": list("abcde"), "sector": ["X", "X", "X", "X", "Y"]})
    got = A.group_ranking(rankings, None, meta).set_index("sector")
    assert got.at["X", "members"] == 4 and got.at["X", "with_rating"] == 3
    assert got.at["X", "median_rs_rating"] == 20
    assert got.at["X", "median_ret_1d"] == 0.3
    assert got.at["X", "pct_stage2"] == pytest.approx(100 * 2 / 3)
    assert got.at["Y", "rank"] == 1 and got.at["X", "rank"] == 2
    assert A.group_ranking(rankings, None, meta, by="sub_industry").empty


def test_analytics_imports_only_numpy_pandas_and_stdlib():
    allowed = {
        "numpy",
        "pandas",
        "analytics",
        "__future__",
        "collections",
        "dataclasses",
        "functools",
        "typing",
        # Not I/O: the snapshot engine's one worker thread (snapshot_parts.Job).
        "concurrent",
        "threading",
    }
    for path in Path(A.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, (path.name, name)
