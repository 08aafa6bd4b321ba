"""Market regime (analytics.regime) vs a plain loop-based recalculation, and edge cases.

The reference below follows DESIGN.md "Market regime (SPY)" literally with Python
floats and nested loops (distribution days re-checked for every session); it shares
no code with `analytics.regime`. Real data: SPY 1993-2026 from the shared data folder
(TICKSTOCK_SHARED_DATA, read at test time, never committed: its license is "none
stated"), and the committed MIT slice tests/data/sp500_slice_2018-2021_adj.csv.gz
(real daily series of S&P 500 members through the 2020 crash).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.regime import (
    CONFIRMED_UPTREND,
    CORRECTION,
    UPTREND_UNDER_PRESSURE,
    counting_dates,
    distribution_counts,
    market_regime,
    regime_summary,
)

DATA = Path(__file__).parent / "data"
SHARED = Path(
    os.environ.get("TICKSTOCK_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)
SPY_FILE = SHARED / "daily" / "spy_daily_1993-01-29_2026-08-21_adj.csv.gz"
SLICE_SYMBOLS = ("AAPL", "XOM", "JPM", "CCL", "MSFT", "BA")


# -- the plain reference --------------------------------------------------------------
def reference(close: list[float], volume: list[float]) -> dict[str, list]:
    """Recompute flags, counts, follow-through days and regimes session by session."""
    n = len(close)
    dist = [
        t > 0 and close[t] / close[t - 1] - 1 <= -0.002 and volume[t] > volume[t - 1]
        for t in range(n)
    ]
    counts, active = [], []
    for t in range(n):
        live = []
        for d in range(max(0, t - 24), t + 1):
            cancelled = any(
                close[u] / close[d] - 1 >= 0.05 for u in range(d + 1, t + 1)
            )
            if dist[d] and not cancelled:
                live.append(d)
        counts.append(len(live))
        active.append(live)

    def sma(t: int, k: int) -> float | None:
        return sum(close[t - k + 1 : t + 1]) / k if t >= k - 1 else None

    regimes, ftd = [None] * n, [False] * n
    state, low, day1 = None, None, None
    for t in range(n):
        s50, s200 = sma(t, 50), sma(t, 200)
        if s200 is None:
            continue
        c = close[t]
        if state is None:
            state = "up" if c > s50 > s200 else "down"
            low, day1 = c, None
        elif state == "up":
            high = max(close[max(0, t - 251) : t + 1])
            if c < s50 and (counts[t] >= 6 or c / high - 1 <= -0.08):
                state, low, day1 = "down", c, None
        else:
            if c < low:
                low, day1 = c, None  # the low is undercut: the attempt restarts
            elif day1 is None:
                if c > close[t - 1]:
                    day1 = t
            elif (
                t - day1 + 1 >= 4
                and c / close[t - 1] - 1 >= 0.0125
                and volume[t] > volume[t - 1]
            ):
                state, ftd[t] = "up", True
        if state == "down":
            regimes[t] = CORRECTION
        elif counts[t] >= 5:
            regimes[t] = UPTREND_UNDER_PRESSURE
        else:
            regimes[t] = CONFIRMED_UPTREND
    return {
        "distribution_day": dist,
        "distribution_days": counts,
        "active": active,
        "follow_through_day": ftd,
        "regime": regimes,
    }


def check_against_reference(close: pd.Series, volume: pd.Series) -> pd.DataFrame:
    ours = market_regime(close, volume)
    ref = reference(close.tolist(), volume.tolist())
    assert ours["distribution_day"].tolist() == ref["distribution_day"]
    assert ours["distribution_days"].tolist() == ref["distribution_days"]
    assert ours["follow_through_day"].tolist() == ref["follow_through_day"]
    assert ours["regime"].tolist() == ref["regime"]
    # The dates that count on a session are those of the reference, at any as-of.
    for t in range(len(close) - 1, max(len(close) - 400, 0), -37):
        expected = [close.index[d] for d in ref["active"][t]]
        assert counting_dates(ours.iloc[: t + 1]) == expected
    return ours


# -- real data ------------------------------------------------------------------------
@pytest.mark.skipif(not SPY_FILE.exists(), reason=f"{SPY_FILE} not found")
def test_rg01_spy_matches_plain_recalculation():
    bars = pd.read_csv(SPY_FILE, parse_dates=["date"]).set_index("date")
    bars = bars.loc["2005-01-01":"2026-08-21"]  # 5,4xx sessions: crashes, bull runs
    ours = check_against_reference(bars["close"], bars["volume"])
    regimes = set(ours["regime"].dropna())
    assert regimes == {CONFIRMED_UPTREND, UPTREND_UNDER_PRESSURE, CORRECTION}
    assert ours["follow_through_day"].sum() > 10
    # The 2008 and 2020 sell-offs are corrections under the pinned definition.
    assert ours.loc["2008-10-10", "regime"] == CORRECTION
    assert ours.loc["2020-03-23", "regime"] == CORRECTION


@pytest.mark.parametrize("symbol", SLICE_SYMBOLS)
def test_rg02_real_slice_series_match_plain_recalculation(symbol):
    bars = pd.read_csv(DATA / "sp500_slice_2018-2021_adj.csv.gz", parse_dates=["date"])
    one = bars[bars["symbol"] == symbol].set_index("date")
    ours = check_against_reference(one["close"], one["volume"])
    assert ours["regime"].iloc[:199].isna().all()
    assert ours["regime"].iloc[199:].notna().all()


# -- hand-built edge cases ----------------------------------------------------------
def dates(n: int) -> pd.DatetimeIndex:
    return pd.bdate_range("2020-01-01", periods=n, name="date")


def test_rg03_distribution_day_threshold_and_volume():
    close = np.array([100.0, 99.8, 99.61, 99.5, 99.0])
    volume = np.array([10.0, 11.0, 12.0, 13.0, 13.0])
    frame = market_regime(pd.Series(close, dates(5)), pd.Series(volume, dates(5)))
    # -0.2 % exactly counts; -0.19 % does not; -0.11 % does not; equal volume not.
    assert frame["distribution_day"].tolist() == [False, True, False, False, False]


def test_rg04_distribution_day_expires_after_25_sessions():
    close = np.r_[100.0, 99.0, np.full(40, 99.0)]
    volume = np.r_[10.0, 20.0, np.full(40, 5.0)]
    counts = distribution_counts(close, volume)
    assert counts[1] == 1
    assert counts[1 + 24] == 1  # the 25th session it counts on
    assert counts[1 + 25] == 0  # and no longer on the 26th


def test_rg05_distribution_day_cancelled_by_a_close_5pct_above():
    close = np.r_[100.0, 99.0, 102.0, 103.9, 103.95, 90.0, 90.0]
    volume = np.r_[10.0, 20.0, 5.0, 5.0, 5.0, 5.0, 5.0]
    counts = distribution_counts(close, volume)
    # 103.9 / 99 - 1 = 4.95 %: still counts; 103.95 / 99 - 1 = 5 %: it stops, for good.
    assert counts.tolist() == [0, 1, 1, 1, 0, 0, 0]
    frame = market_regime(pd.Series(close, dates(7)), pd.Series(volume, dates(7)))
    assert counting_dates(frame.iloc[:4]) == [frame.index[1]]
    assert counting_dates(frame) == []


def downtrend(n: int = 200) -> tuple[list[float], list[float]]:
    """A falling series: starts in correction with its last close as the low."""
    return [300.0 - 0.5 * i for i in range(n)], [1000.0] * n


def test_rg06_undercut_low_resets_the_rally_attempt():
    close, volume = downtrend()
    low = close[-1]
    steps = [
        (1.004, 1000),  # day 1 of the attempt
        (1.001, 1000),  # day 2
        (None, 1000),  # closes below the low: undercut, the attempt restarts
        (1.003, 1000),  # new day 1
        (1.001, 900),  # day 2
        (1.015, 2000),  # day 3 (would be day 6 of the first attempt): no FTD
        (0.999, 1000),  # day 4: down
        (1.015, 2000),  # day 5: +1.5 % on higher volume -> follow-through day
    ]
    for factor, vol in steps:
        close.append(low * 0.99 if factor is None else close[-1] * factor)
        volume.append(float(vol))
    frame = market_regime(
        pd.Series(close, dates(len(close))), pd.Series(volume, dates(len(close)))
    )
    tail = frame.iloc[-9:]
    assert tail["regime"].iloc[0] == CORRECTION  # the start rule: C < SMA50
    rally = [None if pd.isna(v) else int(v) for v in tail["rally_day"]]
    assert rally[1:-1] == [1, 2, None, 1, 2, 3, 4]
    assert tail["follow_through_day"].tolist() == [False] * 8 + [True]
    assert tail["regime"].iloc[-1] == CONFIRMED_UPTREND
    assert (
        regime_summary(frame)["follow_through_day"] == tail.index[-1].date().isoformat()
    )


def test_rg07_no_follow_through_before_day_4_or_on_lower_volume():
    close, volume = downtrend()
    for factor, vol in [(1.01, 1000), (1.02, 2000), (1.02, 3000), (1.02, 3000)]:
        close.append(close[-1] * factor)
        volume.append(float(vol))
    frame = market_regime(
        pd.Series(close, dates(len(close))), pd.Series(volume, dates(len(close)))
    )
    # Day 2 and 3 are too early; day 4 has equal volume: still a correction.
    assert not frame["follow_through_day"].any()
    assert frame["regime"].iloc[-1] == CORRECTION


def uptrend(n: int = 260) -> tuple[list[float], list[float]]:
    return [100.0 * 1.002**i for i in range(n)], [1000.0] * n


def test_rg08_start_rule_pressure_and_correction_by_drawdown():
    close, volume = uptrend()
    frame = market_regime(pd.Series(close, dates(len(close))))
    assert frame["regime"].iloc[199] == CONFIRMED_UPTREND  # C > SMA50 > SMA200
    # Five distribution days in an uptrend: under pressure (still above SMA50).
    for _ in range(5):
        close.append(close[-1] * 0.997)
        volume.append(volume[-1] + 100)
        close.append(close[-1] * 1.0001)
        volume.append(500.0)
    frame = market_regime(
        pd.Series(close, dates(len(close))), pd.Series(volume, dates(len(close)))
    )
    assert frame["distribution_days"].iloc[-1] == 5
    assert frame["regime"].iloc[-1] == UPTREND_UNDER_PRESSURE
    # A fall to 8 % below the 252-session high, below SMA50, on low volume: correction.
    high = max(close)
    while close[-1] / high - 1 > -0.08:
        close.append(close[-1] * 0.99)
        volume.append(100.0)
    frame = market_regime(
        pd.Series(close, dates(len(close))), pd.Series(volume, dates(len(close)))
    )
    assert frame["regime"].iloc[-1] == CORRECTION
    summary = regime_summary(frame)
    assert summary["regime_since"] is not None
    assert summary["close_vs_sma50_pct"] < 0


def test_rg09_empty_and_short_series():
    empty = market_regime(pd.Series(dtype=float))
    assert empty.empty
    summary = regime_summary(empty)
    assert summary["regime"] is None and summary["sessions"] == 0
    short = market_regime(pd.Series([1.0, 2.0, 3.0], dates(3)))
    assert short["regime"].isna().all()
    assert regime_summary(short)["sessions"] == 3
    assert regime_summary(short)["close_vs_sma200_pct"] is None
    assert math.isnan(short["change_pct"].iloc[0])
