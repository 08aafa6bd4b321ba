"""Relative Rotation Graph (ratio-of-averages family), weekly or daily.

* `RS = 100 * P / B`, with the benchmark aligned to the panel's sessions (a missing
  benchmark value gives a missing RS value).
* `RS-Ratio = 100 * SMA10(RS) / SMA30(RS)`; an SMA needs all its bars present.
* `RS-Momentum = 100 * RS-Ratio_t / RS-Ratio_{t-4}` (bars, not calendar time).
* Weekly uses `weekly_bars` (last valid close of each ISO week), daily uses sessions.
* Quadrant: Leading (ratio >= 100 and momentum >= 100), Weakening (>= 100, < 100),
  Lagging (< 100, < 100), Improving (< 100, >= 100).
* `heading` is the direction of the step from the previous bar's point to this one,
  in degrees counter-clockwise from the +RS-Ratio axis, in [0, 360):
  0 = moving right, 90 = up, 180 = left, 270 = down. NaN if the previous point is
  missing or the point did not move.
* A tail is the last N bars of the panel; bars where a symbol has no point are dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._numeric import NAN, rolling_mean, safe_div, shift
from analytics.constants import (
    IMPROVING,
    LAGGING,
    LEADING,
    RRG_CENTER,
    RRG_DEFAULT_TAIL,
    RRG_LONG,
    RRG_MOMENTUM_LAG,
    RRG_PERIODS,
    RRG_SHORT,
    RS_LINE_SCALE,
    WEAKENING,
)
from analytics.panel import weekly_close

RRG_COLUMNS = ["symbol", "date", "rs_ratio", "rs_momentum", "quadrant", "heading"]


def quadrant_of(ratio: np.ndarray, momentum: np.ndarray) -> np.ndarray:
    """Return the RRG quadrant names (None where either coordinate is missing)."""
    ratio = np.asarray(ratio, dtype=np.float64)
    momentum = np.asarray(momentum, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        right = ratio >= RRG_CENTER
        up = momentum >= RRG_CENTER
    names = np.where(
        right, np.where(up, LEADING, WEAKENING), np.where(up, IMPROVING, LAGGING)
    ).astype(object)
    names[np.isnan(ratio) | np.isnan(momentum)] = None
    return names


def rrg_arrays(p: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (RS-Ratio, RS-Momentum) for prices p (bars x symbols) and bench b."""
    rs = safe_div(RS_LINE_SCALE * p, b[:, None])
    ratio = safe_div(
        RRG_CENTER * rolling_mean(rs, RRG_SHORT), rolling_mean(rs, RRG_LONG)
    )
    momentum = safe_div(RRG_CENTER * ratio, shift(ratio, RRG_MOMENTUM_LAG))
    return ratio, momentum


def heading_of(ratio: np.ndarray, momentum: np.ndarray) -> np.ndarray:
    """Return the heading in degrees of each bar's step from the previous bar."""
    dr = ratio - shift(ratio, 1)
    dm = momentum - shift(momentum, 1)
    deg = np.degrees(np.arctan2(dm, dr)) % 360.0
    still = (dr == 0) & (dm == 0)
    return np.where(still, NAN, deg)


def _bars(close: pd.DataFrame, bench: pd.Series, period: str):
    if period not in RRG_PERIODS:
        raise ValueError(f"period must be one of {RRG_PERIODS}, got {period!r}")
    aligned = bench.reindex(close.index).astype(np.float64)
    if period == "weekly":
        return weekly_close(close), weekly_close(aligned)
    return close, aligned


def rrg(
    close: pd.DataFrame,
    bench: pd.Series,
    period: str = "weekly",
    tail: int | None = RRG_DEFAULT_TAIL,
) -> pd.DataFrame:
    """Return RRG points (symbol, date, rs_ratio, rs_momentum, quadrant, heading)."""
    if close.shape[0] == 0 or close.shape[1] == 0 or bench is None:
        return pd.DataFrame({c: [] for c in RRG_COLUMNS})
    prices, b = _bars(close, bench, period)
    p = prices.to_numpy(dtype=np.float64)
    ratio, momentum = rrg_arrays(p, b.to_numpy(dtype=np.float64))
    heading = heading_of(ratio, momentum)
    rows = slice(None) if tail is None else slice(max(p.shape[0] - tail, 0), None)
    ratio, momentum, heading = ratio[rows], momentum[rows], heading[rows]
    dates = prices.index[rows]
    n_dates, n_sym = ratio.shape
    frame = pd.DataFrame(
        {
            "symbol": np.tile(np.asarray(prices.columns, dtype=object), n_dates),
            "date": np.repeat(dates.to_numpy(), n_sym),
            "rs_ratio": ratio.ravel(),
            "rs_momentum": momentum.ravel(),
            "heading": heading.ravel(),
        }
    )
    frame = frame[frame["rs_ratio"].notna() & frame["rs_momentum"].notna()]
    frame.insert(
        4,
        "quadrant",
        quadrant_of(frame["rs_ratio"].to_numpy(), frame["rs_momentum"].to_numpy()),
    )
    return frame.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)


def rrg_latest(
    close: pd.DataFrame, bench: pd.Series, period: str = "weekly"
) -> pd.DataFrame:
    """Return the last RRG point of each symbol on the panel's last bar, by symbol."""
    points = rrg(close, bench, period=period, tail=1)
    return points.set_index("symbol")
