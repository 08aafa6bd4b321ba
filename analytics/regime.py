"""Market regime of an index (SPY): distribution days, follow-through days, regime.

Definitions (DESIGN.md "Market regime (SPY)"), over the sessions that have a close:

* A *distribution day* is a session whose close is at least 0.2 % below the prior
  close (`C_t / C_{t-1} - 1 <= -0.002`) on higher volume than the prior session
  (`V_t > V_{t-1}`). It counts for 25 sessions (itself and the 24 after it) and
  stops counting on the first later session whose close is at least 5 % above its
  close (`C_u / C_d - 1 >= 0.05`). `distribution_days` is how many count that day.
* A *rally attempt* starts from the lowest close since the last uptrend: when the
  regime turns to correction its close is the low; every close below the low
  undercuts it, becomes the new low and resets the attempt. Day 1 is the first up
  close (`C_t > C_{t-1}`) after the low; day n is the n-th session from day 1.
* A *follow-through day* is, on day 4 or later of a rally attempt, a close at least
  1.25 % above the prior close (`C_t / C_{t-1} - 1 >= 0.0125`) on higher volume,
  with the low not undercut (the attempt's low is the lowest close by construction).
* Regime: from an uptrend the regime turns to `correction` on a session whose close
  is below SMA50 and that has 6 or more distribution days or a close at least 8 %
  below the highest close of the last 252 sessions (today included;
  `C / H252 - 1 <= -0.08`). A correction lasts until a follow-through day, which
  starts an uptrend (the trigger is checked again from the next session on). An
  uptrend with 5 or more distribution days is `uptrend under pressure`, otherwise
  `confirmed uptrend`.
* Start: the state machine starts on the first session with an SMA200 (200 closes):
  `confirmed uptrend` when `C > SMA50 > SMA200` there, else `correction` (with that
  close as the low). Earlier sessions have no regime (null); distribution days are
  counted from the first sessions on.

SMAs are plain means of the last n closes; EMA21 uses alpha 2/22, seeded with the
first close, defined from the 21st close. Sessions without a close are dropped;
a missing volume never makes a higher-volume session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analytics._numeric import ema_series

CONFIRMED_UPTREND = "confirmed uptrend"
UPTREND_UNDER_PRESSURE = "uptrend under pressure"
CORRECTION = "correction"
REGIMES = (CONFIRMED_UPTREND, UPTREND_UNDER_PRESSURE, CORRECTION)

DISTRIBUTION_DROP = -0.002  # close at least 0.2 % below the prior close
DISTRIBUTION_SESSIONS = 25  # a distribution day counts for 25 sessions
DISTRIBUTION_CANCEL_GAIN = 0.05  # ... until a later close is >= 5 % above it
FOLLOW_THROUGH_GAIN = 0.0125  # close at least 1.25 % above the prior close
FOLLOW_THROUGH_MIN_DAY = 4  # on day 4 or later of the rally attempt
PRESSURE_DISTRIBUTION_DAYS = 5  # uptrend under pressure from 5 distribution days
CORRECTION_DISTRIBUTION_DAYS = 6  # correction trigger: 6 distribution days ...
CORRECTION_DRAWDOWN = -0.08  # ... or a close >= 8 % below the 252-session high
HIGH_LOOKBACK = 252
SMA_FAST, SMA_SLOW = 50, 200
EMA_WINDOW = 21
STRIP_SESSIONS = 25
PERCENT = 100.0

REGIME_COLUMNS = [
    "close",
    "volume",
    "change_pct",
    "ema21",
    "sma50",
    "sma200",
    "high_252",
    "distribution_day",
    "distribution_days",
    "rally_day",
    "follow_through_day",
    "regime",
]


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b - 1.0


def _higher(v: np.ndarray) -> np.ndarray:
    """Return per session: volume above the prior session's (False at the start)."""
    out = np.zeros(len(v), dtype=bool)
    with np.errstate(invalid="ignore"):
        out[1:] = v[1:] > v[:-1]
    return out


def _changes(c: np.ndarray) -> np.ndarray:
    out = np.full(len(c), np.nan)
    out[1:] = _ratio(c[1:], c[:-1])
    return out


def distribution_flags(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """Return per session whether it is a distribution day."""
    with np.errstate(invalid="ignore"):
        return (_changes(close) <= DISTRIBUTION_DROP) & _higher(volume)


def distribution_ends(close: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Return, per distribution day index, the first session it no longer counts."""
    n, span = len(close), DISTRIBUTION_SESSIONS - 1
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    later = np.concatenate([close[1:], np.full(span, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(later, span)[days]
    with np.errstate(invalid="ignore"):
        hits = _ratio(windows, close[days, None]) >= DISTRIBUTION_CANCEL_GAIN
    offset = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, span + 1)
    return np.minimum(days + offset, n)


def distribution_counts(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """Return how many distribution days count on each session."""
    days = np.flatnonzero(distribution_flags(close, volume))
    delta = np.zeros(len(close) + 1, dtype=np.int64)
    np.add.at(delta, days, 1)
    np.add.at(delta, distribution_ends(close, days), -1)
    return np.cumsum(delta)[: len(close)]


def _sma(c: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(c).rolling(n, min_periods=n).mean().to_numpy()


def _ema(c: np.ndarray, n: int) -> np.ndarray:
    out = ema_series(c, 2.0 / (n + 1))
    out[: n - 1] = np.nan
    return out


def _run_states(
    c: np.ndarray,
    higher: np.ndarray,
    counts: np.ndarray,
    sma50: np.ndarray,
    sma200: np.ndarray,
    high: np.ndarray,
) -> tuple[list[Any], list[Any], list[bool]]:
    """Walk the sessions once: (regime, rally day, follow-through day) per session."""
    n = len(c)
    regimes: list[Any] = [None] * n
    rally: list[Any] = [None] * n
    ftd = [False] * n
    valid = np.flatnonzero(~np.isnan(sma200))
    if len(valid) == 0:
        return regimes, rally, ftd
    start = int(valid[0])
    uptrend = bool(c[start] > sma50[start] > sma200[start])
    low, day1 = c[start], None
    for t in range(start, n):
        if t > start and uptrend:
            drawdown = c[t] / high[t] - 1.0 <= CORRECTION_DRAWDOWN
            heavy = counts[t] >= CORRECTION_DISTRIBUTION_DAYS
            if c[t] < sma50[t] and (heavy or drawdown):
                uptrend, low, day1 = False, c[t], None
        elif t > start:
            if c[t] < low:
                low, day1 = c[t], None
            elif day1 is None:
                day1 = t if c[t] > c[t - 1] else None
            elif (
                t - day1 + 1 >= FOLLOW_THROUGH_MIN_DAY
                and c[t] / c[t - 1] - 1.0 >= FOLLOW_THROUGH_GAIN
                and higher[t]
            ):
                uptrend, ftd[t] = True, True
            if not uptrend and day1 is not None:
                rally[t] = t - day1 + 1
        if uptrend:
            pressure = counts[t] >= PRESSURE_DISTRIBUTION_DAYS
            regimes[t] = UPTREND_UNDER_PRESSURE if pressure else CONFIRMED_UPTREND
        else:
            regimes[t] = CORRECTION
    return regimes, rally, ftd


def market_regime(close: pd.Series, volume: pd.Series | None = None) -> pd.DataFrame:
    """Return the regime state machine over a daily series, one row per session."""
    close = pd.Series(close, dtype=np.float64).dropna().sort_index()
    if volume is None:
        volume = pd.Series(np.nan, index=close.index)
    v = pd.Series(volume, dtype=np.float64).reindex(close.index).to_numpy()
    c = close.to_numpy()
    index = pd.DatetimeIndex(close.index, name="date")
    if len(c) == 0:
        return pd.DataFrame({k: [] for k in REGIME_COLUMNS}, index=index)
    counts = distribution_counts(c, v)
    sma50, sma200 = _sma(c, SMA_FAST), _sma(c, SMA_SLOW)
    high = pd.Series(c).rolling(HIGH_LOOKBACK, min_periods=1).max().to_numpy()
    regimes, rally, ftd = _run_states(c, _higher(v), counts, sma50, sma200, high)
    return pd.DataFrame(
        {
            "close": c,
            "volume": v,
            "change_pct": PERCENT * _changes(c),
            "ema21": _ema(c, EMA_WINDOW),
            "sma50": sma50,
            "sma200": sma200,
            "high_252": high,
            "distribution_day": distribution_flags(c, v),
            "distribution_days": counts,
            "rally_day": pd.array(rally, dtype="Int64"),
            "follow_through_day": ftd,
            "regime": pd.Series(regimes, index=index, dtype=object),
        },
        index=index,
    )


def counting_dates(frame: pd.DataFrame) -> list[pd.Timestamp]:
    """Return the distribution days that still count on the frame's last session."""
    if frame.empty:
        return []
    c = frame["close"].to_numpy(dtype=np.float64)
    days = np.flatnonzero(frame["distribution_day"].to_numpy(dtype=bool))
    ends = distribution_ends(c, days)
    live = days[ends >= len(c)]
    return [frame.index[i] for i in live]


def _pct_vs(close: float, ref: float) -> float | None:
    if ref != ref or close != close or ref == 0:
        return None
    return PERCENT * (close / ref - 1.0)


def _iso(day: Any) -> str | None:
    return None if day is None else pd.Timestamp(day).date().isoformat()


def regime_strip(frame: pd.DataFrame, sessions: int = STRIP_SESSIONS) -> list[dict]:
    """Return the last `sessions` sessions: change, higher volume, distribution."""
    tail = frame.tail(sessions)
    counting = set(counting_dates(frame))
    higher = _higher(frame["volume"].to_numpy(dtype=np.float64))[-len(tail) :]
    return [
        {
            "date": _iso(day),
            "change_pct": None if pd.isna(row.change_pct) else float(row.change_pct),
            "higher_volume": bool(up),
            "distribution_day": bool(row.distribution_day),
            "counting": day in counting,
            "follow_through_day": bool(row.follow_through_day),
        }
        for (day, row), up in zip(tail.iterrows(), higher, strict=True)
    ]


def regime_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """Return the regime on the frame's last session with what it was computed from."""
    if frame.empty:
        return {
            "session": None,
            "sessions": 0,
            "regime": None,
            "distribution_days": 0,
            "distribution_dates": [],
            "follow_through_day": None,
            "rally_day": None,
            "regime_since": None,
            "close": None,
            "close_vs_ema21_pct": None,
            "close_vs_sma50_pct": None,
            "close_vs_sma200_pct": None,
            "strip": [],
        }
    last = frame.iloc[-1]
    ftd_days = frame.index[frame["follow_through_day"].to_numpy(dtype=bool)]
    regime = last["regime"]
    since = None
    if regime is not None:
        labels = frame["regime"].to_numpy(dtype=object)
        in_uptrend = regime != CORRECTION
        same = (labels != CORRECTION) if in_uptrend else (labels == CORRECTION)
        breaks = np.flatnonzero(~same)
        since = frame.index[breaks[-1] + 1 if len(breaks) else 0]
    rally = last["rally_day"]
    return {
        "session": _iso(frame.index[-1]),
        "sessions": int(len(frame)),
        "regime": regime,
        "distribution_days": int(last["distribution_days"]),
        "distribution_dates": [_iso(d) for d in counting_dates(frame)],
        "follow_through_day": _iso(ftd_days[-1]) if len(ftd_days) else None,
        "rally_day": None if pd.isna(rally) else int(rally),
        "regime_since": _iso(since),
        "close": float(last["close"]),
        "close_vs_ema21_pct": _pct_vs(last["close"], last["ema21"]),
        "close_vs_sma50_pct": _pct_vs(last["close"], last["sma50"]),
        "close_vs_sma200_pct": _pct_vs(last["close"], last["sma200"]),
        "strip": regime_strip(frame),
    }


def regimes_of(
    panels: dict[str, pd.DataFrame], symbols: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Return the regime summary of each symbol present in close/volume panels."""
    close, volume = panels.get("close"), panels.get("volume")
    out = {}
    for sym in symbols:
        if close is None or sym not in close.columns:
            continue
        vol = None if volume is None or sym not in volume else volume[sym]
        out[sym] = regime_summary(market_regime(close[sym], vol))
    return out
