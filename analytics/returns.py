"""Returns over sessions, IBD-style RS score and rating, RS line and its new highs.

Conventions:

* `R_n = C_t / C_{t-n} - 1` where t is the panel's last session and n counts sessions
  (rows) of the panel. A symbol with no close at t or at t-n gets NaN for R_n; prices
  are never carried forward across gaps.
* YTD = C_t / (the symbol's last close in the previous calendar year) - 1, NaN if the
  symbol has no close in that year.
* RS score `S = 0.4*R63 + 0.2*R126 + 0.2*R189 + 0.2*R252`.
* RS rating = `round(rank(pct=True) * 98 + 1)` over the symbols that have at least
  253 sessions of closes and a score (pandas "average" rank for ties, so tied scores
  share a rating). `round` is numpy's round-half-to-even applied to the float64 value,
  the same rule as Python's built-in `round`: 1.5 -> 2, 2.5 -> 2. The result is 1..99
  (Int64, null for symbols outside the ranking population).
* RS line = `100 * P / B`; "RS new high" is true when today's RS line is >= the max of
  the prior 251 sessions' RS line (a 252-session, 52-week window), all of them valid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._numeric import NAN, as_2d, safe_div
from analytics.constants import (
    RETURN_WINDOWS,
    RS_LINE_SCALE,
    RS_MIN_SESSIONS,
    RS_NEW_HIGH_WINDOW,
    RS_RATING_MIN,
    RS_RATING_SPAN,
    RS_WEIGHTS,
)


def return_column(n: int) -> str:
    """Return the column name of the n-session return."""
    return f"ret_{n}d"


def lag_return(a: np.ndarray, n: int) -> np.ndarray:
    """Return C_t / C_{t-n} - 1 at the last row of a (time, symbol) array."""
    t = a.shape[0]
    if t == 0 or n >= t:
        return np.full(a.shape[1], NAN)
    return safe_div(a[t - 1], a[t - 1 - n]) - 1.0


def ytd_base(a: np.ndarray, index: pd.DatetimeIndex) -> np.ndarray:
    """Return each symbol's last close in the calendar year before the last session."""
    if len(index) == 0:
        return np.full(a.shape[1], NAN)
    years = index.year.to_numpy()
    prior = np.flatnonzero(years == years[-1] - 1)
    if len(prior) == 0:
        return np.full(a.shape[1], NAN)
    out = a[prior[-1]].copy()
    gaps = np.flatnonzero(np.isnan(out))
    if len(gaps):
        # Walk back through the prior year for symbols without a close on its last day.
        block = a[prior[0] : prior[-1] + 1, gaps]
        seen = ~np.isnan(block)
        last = block.shape[0] - 1 - np.argmax(seen[::-1], axis=0)
        out[gaps] = np.where(seen.any(axis=0), block[last, np.arange(len(gaps))], NAN)
    return out


def returns_array(
    a: np.ndarray,
    index: pd.DatetimeIndex,
    windows: tuple[int, ...] = RETURN_WINDOWS,
    ytd: bool = True,
) -> dict[str, np.ndarray]:
    """Return {column: per-symbol return} for the last row of a close array."""
    out = {return_column(n): lag_return(a, n) for n in windows}
    if ytd:
        last = a[-1] if a.shape[0] else np.full(a.shape[1], NAN)
        out["ret_ytd"] = safe_div(last, ytd_base(a, index)) - 1.0
    return out


def returns(
    close: pd.DataFrame,
    windows: tuple[int, ...] = RETURN_WINDOWS,
    ytd: bool = True,
) -> pd.DataFrame:
    """Return per-symbol returns over `windows` sessions and YTD at the last session."""
    a = as_2d(close.to_numpy(dtype=np.float64))
    cols = returns_array(a, pd.DatetimeIndex(close.index), windows, ytd)
    frame = pd.DataFrame(cols, index=close.columns.copy())
    frame.index.name = "symbol"
    return frame


def rs_score_array(a: np.ndarray) -> np.ndarray:
    """Return S = 0.4*R63 + 0.2*R126 + 0.2*R189 + 0.2*R252 at the last row."""
    score = np.zeros(a.shape[1])
    for i, (n, w) in enumerate(RS_WEIGHTS):
        term = w * lag_return(a, n)
        score = term if i == 0 else score + term
    return score


def rs_scores(close: pd.DataFrame) -> pd.Series:
    """Return the IBD-style RS score of each symbol at the last session."""
    a = as_2d(close.to_numpy(dtype=np.float64))
    return pd.Series(rs_score_array(a), index=close.columns.copy(), name="rs_score")


def sessions_available(close: pd.DataFrame) -> pd.Series:
    """Return the number of sessions with a close, per symbol."""
    counts = close.notna().sum(axis=0).astype(np.int64)
    return counts.rename("sessions")


def rating_array(
    scores: np.ndarray, sessions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (RS rating, is-null mask) arrays; see the module docstring.

    Same numbers as pandas `rank(method="average", pct=True)`: tied scores share
    the mean of their 1-based positions, divided by the population size.
    """
    scores = np.asarray(scores, dtype=np.float64)
    eligible = ~np.isnan(scores) & (np.asarray(sessions) >= RS_MIN_SESSIONS)
    values = scores[eligible]
    n = len(values)
    rating = np.zeros(len(scores), dtype=np.int64)
    if n:
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        first = np.r_[True, ordered[1:] != ordered[:-1]]
        starts = np.flatnonzero(first)
        ends = np.r_[starts[1:], n]
        mean_position = (starts + 1 + ends) / 2
        ranks = np.empty(n)
        ranks[order] = mean_position[np.cumsum(first) - 1]
        pct = ranks / n
        rating[eligible] = np.round(pct * RS_RATING_SPAN + RS_RATING_MIN).astype(
            np.int64
        )
    return rating, ~eligible


def rs_ratings(scores: pd.Series, sessions_available: pd.Series) -> pd.Series:
    """Return RS ratings 1..99 (Int64); null below 253 sessions or without a score."""
    sessions = sessions_available.reindex(scores.index).fillna(0).to_numpy()
    values, null = rating_array(scores.to_numpy(dtype=np.float64), sessions)
    array = pd.arrays.IntegerArray(values, null)
    return pd.Series(array, index=scores.index, name="rs_rating")


def rs_line(close: pd.DataFrame, bench: pd.Series) -> pd.DataFrame:
    """Return the RS line 100 * P / B (NaN where B is missing)."""
    b = bench.reindex(close.index).to_numpy(dtype=np.float64)
    a = close.to_numpy(dtype=np.float64)
    rs = safe_div(RS_LINE_SCALE * a, b[:, None]) if a.size else a.copy()
    return pd.DataFrame(rs, index=close.index, columns=close.columns)


def new_high_last(a: np.ndarray, window: int) -> np.ndarray:
    """Return a[-1] >= max(a[-window:-1]) per column; False unless all are valid."""
    t = a.shape[0]
    if t < window or window < 2:
        return np.zeros(a.shape[1], dtype=bool)
    prior = np.max(a[t - window : t - 1], axis=0)
    with np.errstate(invalid="ignore"):
        return a[t - 1] >= prior


def rs_new_high(
    close: pd.DataFrame, bench: pd.Series, window: int = RS_NEW_HIGH_WINDOW
) -> pd.Series:
    """Flag symbols whose RS line is at a new `window`-session high today."""
    rs = rs_line(close, bench).to_numpy()
    flags = new_high_last(rs, window)
    return pd.Series(flags, index=close.columns.copy(), name="rs_new_high")
