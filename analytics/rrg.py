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
from analytics.panel import weekly_arrays

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
    index = pd.DatetimeIndex(close.index)
    p = close.to_numpy(dtype=np.float64)
    b = bench.reindex(index).to_numpy(dtype=np.float64)[:, None]
    if period == "weekly":
        weekly, index = weekly_arrays({"close": p, "bench": b}, index)
        p, b = weekly["close"], weekly["bench"]
    return p, b[:, 0], index


def rrg(
    close: pd.DataFrame,
    bench: pd.Series,
    period: str = "weekly",
    tail: int | None = RRG_DEFAULT_TAIL,
) -> pd.DataFrame:
    """Return RRG points (symbol, date, rs_ratio, rs_momentum, quadrant, heading)."""
    if close.shape[0] == 0 or close.shape[1] == 0 or bench is None:
        if period not in RRG_PERIODS:
            raise ValueError(f"period must be one of {RRG_PERIODS}, got {period!r}")
        return pd.DataFrame({c: [] for c in RRG_COLUMNS})
    p, b, index = _bars(close, bench, period)
    symbols = np.asarray([str(c) for c in close.columns.tolist()], dtype=object)
    return rrg_frame(symbols, index, p, b, tail)


def rrg_frame(
    symbols: np.ndarray,
    dates: pd.DatetimeIndex,
    prices: np.ndarray,
    bench: np.ndarray,
    tail: int | None,
) -> pd.DataFrame:
    """Return the long RRG frame for bar arrays (bars x symbols) and a benchmark."""
    ratio, momentum = rrg_arrays(prices, bench)
    heading = heading_of(ratio, momentum)
    first = 0 if tail is None else max(prices.shape[0] - tail, 0)
    by_name = np.argsort(symbols, kind="stable")
    # Symbol-major layout: for each symbol its bars in date order.
    ratio = ratio[first:, by_name].T.ravel()
    momentum = momentum[first:, by_name].T.ravel()
    heading = heading[first:, by_name].T.ravel()
    when = pd.DatetimeIndex(dates)[first:].to_numpy()
    keep = ~(np.isnan(ratio) | np.isnan(momentum))
    names = np.repeat(symbols[by_name], len(when))[keep]
    quadrants = quadrant_of(ratio[keep], momentum[keep])
    return pd.DataFrame(
        {
            "symbol": pd.Series(names, dtype=object),
            "date": np.tile(when, len(symbols))[keep],
            "rs_ratio": ratio[keep],
            "rs_momentum": momentum[keep],
            "quadrant": pd.Series(quadrants, dtype=object),
            "heading": heading[keep],
        }
    )


def rrg_latest(
    close: pd.DataFrame, bench: pd.Series, period: str = "weekly"
) -> pd.DataFrame:
    """Return each symbol's RRG point on the panel's last bar (NaN if it has none)."""
    points = rrg(close, bench, period=period, tail=1).set_index("symbol")
    symbols = pd.Index([str(c) for c in close.columns.tolist()], name="symbol")
    return points.reindex(symbols)
