"""Long bars to (session x symbol) panels, and the one shared weekly roll-up."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._numeric import NAN
from analytics.constants import BAR_FIELDS


def empty_panel(columns: pd.Index | list[str] | None = None) -> pd.DataFrame:
    """Return an empty float panel with a DatetimeIndex named `date`."""
    index = pd.DatetimeIndex([], name="date")
    cols = pd.Index([] if columns is None else list(columns), name="symbol")
    return pd.DataFrame(index=index, columns=cols, dtype=np.float64)


def _clean_bars(bars: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in bars.columns if c in ("symbol", "date", *BAR_FIELDS)]
    dates = pd.to_datetime(bars["date"])
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    out = bars.loc[:, keep].assign(
        symbol=bars["symbol"].astype(str), date=dates.dt.normalize()
    )
    return out.drop_duplicates(["symbol", "date"], keep="last")


def panels_from_bars(
    bars: pd.DataFrame, fields: tuple[str, ...] = BAR_FIELDS
) -> dict[str, pd.DataFrame]:
    """Pivot long bars (symbol, date, open, high, low, close, volume) into panels."""
    if bars is None or len(bars) == 0 or "symbol" not in bars or "date" not in bars:
        return {f: empty_panel() for f in fields}
    clean = _clean_bars(bars)
    present = [f for f in fields if f in clean.columns]
    wide = clean.pivot(index="date", columns="symbol", values=present).sort_index()
    symbols = pd.Index(sorted(clean["symbol"].unique()), name="symbol")
    index = pd.DatetimeIndex(wide.index, name="date")
    out: dict[str, pd.DataFrame] = {}
    for f in fields:
        if f in present:
            block = wide[f].reindex(columns=symbols).to_numpy(dtype=np.float64)
        else:
            block = np.full((len(index), len(symbols)), NAN)
        out[f] = pd.DataFrame(block, index=index, columns=symbols)
    return out


def panel_from_bars(bars: pd.DataFrame, field: str = "close") -> pd.DataFrame:
    """Pivot long bars into one (session x symbol) panel of `field`."""
    return panels_from_bars(bars, fields=(field,))[field]


def week_bounds(index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Return (first row, last row) of each ISO week (Mon-Sun) in a sorted index."""
    if len(index) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    days = index.to_numpy(dtype="datetime64[D]").astype(np.int64)
    # 1970-01-01 was a Thursday: shifting by 3 days makes weeks start on Monday.
    week = (days + 3) // 7
    starts = np.flatnonzero(np.r_[True, week[1:] != week[:-1]])
    ends = np.r_[starts[1:] - 1, len(index) - 1]
    return starts, ends


def _weekly_last(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    out = a[ends]
    gaps = np.flatnonzero(np.isnan(out).any(axis=0))
    if len(gaps) == 0:
        return out
    # Walk back inside each week to its last valid value (weeks have <= 7 sessions),
    # only in the columns that miss one.
    sub, src = out[:, gaps], a[:, gaps]
    for back in range(1, int((ends - starts).max(initial=0)) + 1):
        missing = np.isnan(sub)
        if not missing.any():
            break
        rows = ends - back
        np.copyto(
            sub, src[np.maximum(rows, 0)], where=(rows >= starts)[:, None] & missing
        )
    out[:, gaps] = sub
    return out


def _weekly_first(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    out = a[starts]
    for ahead in range(1, int((ends - starts).max(initial=0)) + 1):
        missing = np.isnan(out)
        if not missing.any():
            break
        rows = starts + ahead
        ok = (rows <= ends)[:, None] & missing
        np.copyto(out, a[np.minimum(rows, a.shape[0] - 1)], where=ok)
    return out


def _weekly_reduce(
    a: np.ndarray, starts: np.ndarray, ends: np.ndarray, op: np.ufunc
) -> np.ndarray:
    if a.strides[-1] != a.itemsize:  # column-major: reduce along contiguous columns
        with np.errstate(invalid="ignore"):
            return op.reduceat(a, starts, axis=0)
    out = np.empty((len(starts), a.shape[1]))
    for k, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        op.reduce(a[s : e + 1], axis=0, out=out[k])
    return out


def _weekly_sum(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    sums = _weekly_reduce(a, starts, ends, np.add)
    gaps = np.flatnonzero(np.isnan(sums).any(axis=0))
    if len(gaps):  # symbols with a missing value somewhere: sum what exists
        sub = a[:, gaps]
        valid = ~np.isnan(sub)
        part = _weekly_reduce(np.where(valid, sub, 0.0), starts, ends, np.add)
        seen = _weekly_reduce(valid.astype(np.float64), starts, ends, np.add)
        sums[:, gaps] = np.where(seen > 0, part, NAN)
    return sums


def weekly_arrays(
    arrays: dict[str, np.ndarray], index: pd.DatetimeIndex
) -> tuple[dict[str, np.ndarray], pd.DatetimeIndex]:
    """Roll daily (session x symbol) arrays up to ISO weeks (see `weekly_bars`)."""
    starts, ends = week_bounds(index)
    out: dict[str, np.ndarray] = {}
    for name, a in arrays.items():
        if len(starts) == 0:
            out[name] = np.zeros((0, a.shape[1]))
        elif name == "open":
            out[name] = _weekly_first(a, starts, ends)
        elif name == "high":
            out[name] = _weekly_reduce(a, starts, ends, np.fmax)
        elif name == "low":
            out[name] = _weekly_reduce(a, starts, ends, np.fmin)
        elif name == "volume":
            out[name] = _weekly_sum(a, starts, ends)
        else:
            out[name] = _weekly_last(a, starts, ends)
    return out, pd.DatetimeIndex(index[ends], name="date")


def weekly_bars(panels: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Roll daily panels up to ISO weeks, indexed by the week's last session date.

    Per symbol: open = first valid open of the week, high = max, low = min,
    close = last valid close, volume = sum; NaN when the symbol has no value that week.
    """
    if not panels:
        return {}
    ref = next(iter(panels.values()))
    index = pd.DatetimeIndex(ref.index)
    arrays = {k: np.asarray(v.to_numpy(dtype=np.float64)) for k, v in panels.items()}
    weekly, windex = weekly_arrays(arrays, index)
    return {
        k: pd.DataFrame(v, index=windex, columns=panels[k].columns)
        for k, v in weekly.items()
    }


def weekly_close(close: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Return the weekly close (last valid close of each ISO week) of a panel/series."""
    if isinstance(close, pd.Series):
        frame = weekly_bars({"close": close.to_frame()})["close"]
        return frame.iloc[:, 0].rename(close.name)
    return weekly_bars({"close": close})["close"]
