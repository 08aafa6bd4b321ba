"""The Symbol page's chart data: bars, moving averages, stage runs, RS lines."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import analytics
from analytics.constants import MANSFIELD_WEEKS, RS_LINE_SCALE, STAGE_MA_WEEKS
from analytics.stage_history import week_ids, weekly_close_from_rows
from dashapp.market.asof import MARKET_TZ
from dashapp.market.bars import (
    BARS,
    daily_with_today,
    minute_session,
    recent_minutes,
    session_minutes,
    settled_end,
)
from dashapp.market.context import current_store
from dashapp.market.dataversion import cached, current_data_version
from dashapp.store.reference import BENCHMARK

INTERVALS = ("1m", "D", "W")
DAILY_MA_WINDOWS = (50, 150, 200)
WEEKLY_MA_WINDOWS = (10, STAGE_MA_WEEKS)
CHART_DAILY_SESSIONS = 260  # about one year of candles on the daily chart
CHART_WEEKS = 156  # three years of candles on the weekly chart
HISTORY_DAYS = {"D": 800, "W": 5 * 365 + 120}  # enough for SMA200 / MA30 + Mansfield
# Range presets: (interval, how many sessions / weeks are shown; None = all stored).
RANGES: dict[str, tuple[str, int | None]] = {
    "1D": ("1m", 1),
    "5D": ("1m", 5),
    "1M": ("D", 21),
    "3M": ("D", 63),
    "6M": ("D", 126),
    "1Y": ("D", 252),
    "2Y": ("D", 504),
    "5Y": ("W", 261),
    "MAX": ("W", None),
}
# The former interval choices (old links): same view as before.
LEGACY_RANGES = {
    "1m": ("1m", 1),
    "D": ("D", CHART_DAILY_SESSIONS),
    "W": ("W", CHART_WEEKS),
}
DEFAULT_RANGE = "1Y"
MAX_HISTORY_DAYS = 60 * 365
# Calendar days read before the first shown bar: SMA200, or MA30 + Mansfield 52.
WARMUP_DAYS = {"D": 300, "W": 7 * 90}


def range_spec(key: Any) -> tuple[str, int | None]:
    """Return (interval, bars shown) of a range preset or a former interval."""
    text = str(key or "")
    if text in LEGACY_RANGES:
        return LEGACY_RANGES[text]
    return RANGES.get(text.upper(), RANGES[DEFAULT_RANGE])


def history_days(interval: str, keep: int | None) -> int:
    """Return the calendar days of daily bars to read for `keep` shown bars."""
    if keep is None:
        return MAX_HISTORY_DAYS
    per_bar = 7 if interval == "W" else 1.45  # calendar days per week / session
    return max(HISTORY_DAYS[interval], int(keep * per_bar) + WARMUP_DAYS[interval])


def _tail(values: Any, keep: int | None) -> Any:
    return values if keep is None else values.tail(keep)


def symbol_info(symbol: str) -> dict[str, Any] | None:
    """Return the symbols-table row of `symbol` (None when unknown)."""
    frame = current_store().symbols_frame([symbol])
    if frame.empty:
        return None
    return {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].to_dict().items()}


@dataclass
class SymbolChart:
    """Everything the symbol chart draws, already aligned and trimmed."""

    symbol: str
    interval: str
    bars: pd.DataFrame
    mas: dict[str, pd.Series] = field(default_factory=dict)
    stage_runs: list[tuple[pd.Timestamp, pd.Timestamp, int]] = field(
        default_factory=list
    )
    rs: pd.Series | None = None
    mansfield: pd.Series | None = None
    session: dt.date | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def _stage_runs(history: pd.Series) -> list[tuple[pd.Timestamp, pd.Timestamp, int]]:
    """Return (first week end, last week end, stage) for each run of one stage."""
    values = pd.to_numeric(history, errors="coerce")
    runs = []
    start = prev = None
    current = None
    for when, stage in values.items():
        stage = None if pd.isna(stage) else int(stage)
        if stage != current:
            if current is not None:
                runs.append((start, prev, current))
            start, current = when, stage
        prev = when
    if current is not None:
        runs.append((start, prev, current))
    return runs


def mansfield_series(close_w: pd.Series, bench_w: pd.Series) -> pd.Series:
    """Return Mansfield RS 100 * (RP / SMA52(RP) - 1) with RP = 100 * C / SPY."""
    rp = RS_LINE_SCALE * close_w / bench_w.reindex(close_w.index)
    sma = rp.rolling(MANSFIELD_WEEKS, min_periods=MANSFIELD_WEEKS).mean()
    return 100.0 * (rp / sma - 1.0)


def _figures(symbol: str, weekly: dict, bench_w: pd.Series | None) -> dict[str, Any]:
    close_w = weekly["close"][symbol]
    bench_frame = None if bench_w is None else bench_w
    current, history = analytics.weinstein_stages(
        weekly["close"][[symbol]], weekly["volume"][[symbol]], bench_frame
    )
    row = current.iloc[0].to_dict() if len(current) else {}
    figs = {k: row.get(k) for k in ("stage", "weeks_in_stage", "pv", "slope")}
    figs["mansfield_rs"] = row.get("mansfield_rs")
    figs["volume_ratio"] = row.get("volume_ratio")
    figs["ma30"] = row.get("ma30")
    figs["history"] = history[symbol] if symbol in history else pd.Series(dtype=float)
    figs["weekly_close"] = close_w
    return figs


def chart_for_range(symbol: str, range_key: Any, as_of: Any = None) -> SymbolChart:
    """Return the chart of one symbol for a range preset ("1D" ... "MAX")."""
    interval, keep = range_spec(range_key)
    return symbol_chart(symbol, interval, as_of, keep)


def symbol_chart(
    symbol: str, interval: str = "D", as_of: Any = None, keep: Any = "default"
) -> SymbolChart:
    """Return bars, moving averages, stage runs and RS lines for one symbol.

    `keep` is how many sessions (daily), weeks (weekly) or minute sessions
    ("1m") are shown; None shows every stored bar.
    """
    interval = interval if interval in INTERVALS else "D"
    if keep == "default":
        keep = LEGACY_RANGES[interval][1]
    if interval == "1m":
        return _intraday_chart(symbol, as_of, int(keep or 1))
    bars = daily_with_today([symbol, BENCHMARK], as_of, history_days(interval, keep))
    # Same settled bars and same running bar: same chart (a new minute of another
    # symbol, or a minute bar of a settled session, changes nothing here).
    end = settled_end(as_of)
    today = bars[bars["date"] > pd.Timestamp(end)] if end is not None else bars
    running = hashlib.sha1(today[list(BARS)].to_numpy().tobytes()).hexdigest()[:16]
    seq = current_data_version().daily_seq
    key = f"q:symbol-chart:{symbol}:{interval}:{keep}:{end}:d{seq}:{running}"
    return cached(key, lambda: _daily_chart(symbol, interval, bars, keep))


def _daily_chart(
    symbol: str, interval: str, bars: pd.DataFrame, keep: int | None
) -> SymbolChart:
    """Compute the daily or weekly chart data of one symbol from its bars."""
    panels = analytics.panels_from_bars(bars)
    close = panels["close"]
    if close.empty or symbol not in close or close[symbol].isna().all():
        return SymbolChart(symbol, interval, pd.DataFrame())
    weekly = analytics.weekly_bars(panels)
    bench_w = weekly["close"][BENCHMARK] if BENCHMARK in weekly["close"] else None
    full = _with_older_weeks(symbol, weekly, bars)
    full_bench = full["close"][BENCHMARK] if BENCHMARK in full["close"] else None
    figs = _figures(symbol, full, full_bench)
    if interval == "W":
        src = {k: v[symbol] for k, v in weekly.items()}
        windows, prefix = WEEKLY_MA_WINDOWS, "MA {}w"
        bench = bench_w
    else:
        src = {k: v[symbol] for k, v in panels.items()}
        windows, prefix = DAILY_MA_WINDOWS, "SMA {}"
        bench = close[BENCHMARK] if BENCHMARK in close else None
    frame = pd.DataFrame(src).dropna(subset=["close"])
    frame.index.name = "x"
    mas = {
        prefix.format(n): _tail(frame["close"].rolling(n, min_periods=n).mean(), keep)
        for n in windows
    }
    rs = None
    if bench is not None:
        rs = _tail(RS_LINE_SCALE * frame["close"] / bench.reindex(frame.index), keep)
    mansfield = None
    if bench_w is not None:
        mansfield = mansfield_series(weekly["close"][symbol].dropna(), bench_w)
    shown = _tail(frame, keep)
    first = shown.index[0] if len(shown) else None
    runs = [
        r for r in _stage_runs(figs.pop("history")) if first is None or r[1] >= first
    ]
    figs.update(_price_figures(frame, panels, symbol))
    chart = SymbolChart(symbol, interval, shown.reset_index(), mas, runs, rs, None)
    if mansfield is not None and first is not None:
        chart.mansfield = mansfield[mansfield.index >= first - pd.Timedelta(days=7)]
    chart.figures = figs
    return chart


def _with_older_weeks(symbol: str, weekly: dict, bars: pd.DataFrame) -> dict:
    """Prepend every older stored weekly close, so stages count the whole run."""
    recent = weekly["close"]
    if recent.empty:
        return weekly
    end = pd.Timestamp(bars["date"].max()).date()
    rows = current_store().read_weekly_closes([symbol, BENCHMARK], end=end)
    full = weekly_close_from_rows(rows)
    older = full[week_ids(full.index) < week_ids(recent.index).min()]
    if older.empty:
        return weekly
    close = pd.concat([older.reindex(columns=recent.columns), recent])
    return {"close": close, "volume": weekly["volume"].reindex(close.index)}


def _price_figures(frame: pd.DataFrame, panels: dict, symbol: str) -> dict[str, Any]:
    daily = panels["close"][symbol].dropna()
    out: dict[str, Any] = {"last": None, "change": None, "pct": None}
    if len(daily):
        out["last"] = float(daily.iloc[-1])
        out["date"] = daily.index[-1].date()
    if len(daily) > 1:
        out["change"] = float(daily.iloc[-1] - daily.iloc[-2])
        out["pct"] = float(daily.iloc[-1] / daily.iloc[-2] - 1)
    year = daily.tail(252)
    highs = panels["high"][symbol].dropna().tail(252)
    lows = panels["low"][symbol].dropna().tail(252)
    if len(year):
        out["high_52w"] = float(highs.max()) if len(highs) else None
        out["low_52w"] = float(lows.min()) if len(lows) else None
        if out["high_52w"]:
            out["from_high"] = out["last"] / out["high_52w"] - 1
    return out


def _intraday_chart(symbol: str, as_of: Any, sessions: int = 1) -> SymbolChart:
    session, until = minute_session(as_of)
    if session is None:
        return SymbolChart(symbol, "1m", pd.DataFrame())
    bars = recent_minutes([symbol], session, sessions, until)
    return SymbolChart(symbol, "1m", intraday_frame(bars), session=session)


def intraday_frame(bars: pd.DataFrame) -> pd.DataFrame:
    """Return minute bars with `x` = bar start as New York wall-clock text."""
    if bars.empty:
        return pd.DataFrame(columns=["x", "open", "high", "low", "close", "volume"])
    local = pd.to_datetime(bars["ts"], utc=True).dt.tz_convert(MARKET_TZ)
    frame = bars[["open", "high", "low", "close", "volume"]].astype(float)
    frame.insert(0, "x", local.dt.strftime("%Y-%m-%d %H:%M"))
    return frame.reset_index(drop=True)


def intraday_since(symbol: str, session: dt.date, since_x: str | None) -> pd.DataFrame:
    """Return the session's minute bars from the bar at `since_x` (inclusive) on."""
    start = None
    if since_x:
        start = pd.Timestamp(since_x).tz_localize(MARKET_TZ).tz_convert("UTC")
    bars = session_minutes([symbol], session)
    if start is not None and len(bars):
        bars = bars[bars["ts"] >= start]
    return intraday_frame(bars)


def intraday_session(as_of: Any = None) -> dt.date | None:
    """Return the session the 1-minute chart shows for `as_of`."""
    return minute_session(as_of)[0]
