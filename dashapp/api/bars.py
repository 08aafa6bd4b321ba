"""Stored bars of one symbol: `/ticks/recent` (minute bars) and `/bars/<symbol>`.

`/api/ticks/recent` serves stored minute bars only (`ohlcv_1min`); the
in-progress live bar of the current minute is not included.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashapp.api.blueprint import endpoint
from dashapp.api.responses import csv_response, records
from dashapp.api.spec import ApiError, Param
from dashapp.market.context import current_store
from dashapp.store.origin import fake_origins

MAX_TICKS = 1_000
MAX_BARS = 10_000
MAX_SINCE = 4_102_444_800  # 2100-01-01
TICK_FIELDS = ("open", "high", "low", "close", "volume")
TICK = {
    "type": "object",
    "required": ["symbol", "timestamp", "open", "high", "low", "close", "volume"],
    "properties": {
        "symbol": {"type": "string"},
        "timestamp": {"type": "number"},
        "open": {"type": "number"},
        "high": {"type": "number"},
        "low": {"type": "number"},
        "close": {"type": "number"},
        "volume": {"type": "number"},
    },
}
BAR = {
    "type": "object",
    "required": ["time", "open", "high", "low", "close", "volume"],
    "properties": {
        "time": {"type": "string"},
        "open": {"type": "number"},
        "high": {"type": "number"},
        "low": {"type": "number"},
        "close": {"type": "number"},
        "volume": {"type": "number"},
    },
}


@endpoint(
    "/ticks/recent",
    "Recent stored minute bars of one symbol, newest first.",
    params=(
        Param("symbol", "symbol", "Ticker, e.g. AAPL.", required=True),
        Param(
            "since",
            "integer",
            "Only bars starting after this Unix time (s).",
            minimum=0,
            maximum=MAX_SINCE,
        ),
        Param(
            "limit",
            "integer",
            "Maximum bars.",
            default=100,
            minimum=1,
            maximum=MAX_TICKS,
        ),
    ),
    response={
        "type": "object",
        "required": ["symbol", "count", "ticks"],
        "properties": {
            "symbol": {"type": "string"},
            "count": {"type": "integer"},
            "demo_data": {"type": "boolean"},
            "ticks": {"type": "array", "items": TICK},
        },
    },
    tabular=True,
    cached=True,
)
def ticks_recent(symbol: str, since: int | None, limit: int, format: str):  # noqa: A002
    """Return the newest stored minute bars (not the in-progress live bar)."""
    start = None if since is None else dt.datetime.fromtimestamp(since, dt.UTC)
    rows = current_store().recent_minute_bars(symbol, since=start, limit=limit)
    if format == "csv":
        frame = pd.DataFrame(rows, columns=["timestamp", *TICK_FIELDS])
        frame.insert(0, "symbol", symbol)
        return csv_response(frame, f"ticks_{symbol}")
    ticks = [
        {"symbol": symbol, "timestamp": ts, "open": o, "high": h, "low": lo,
         "close": c, "volume": v}
        for ts, o, h, lo, c, v in rows
    ]  # fmt: skip
    return {
        "symbol": symbol,
        "count": len(ticks),
        "demo_data": _demo_data(),
        "ticks": ticks,
    }


def _demo_data() -> bool:
    """Tell whether demo or simulated bars are stored (what answers derive from)."""
    return bool(fake_origins(current_store()))


def _weekly(daily: pd.DataFrame) -> pd.DataFrame:
    """Roll daily bars to weeks (last session of each ISO week)."""
    if daily.empty:
        return daily
    frame = daily.set_index("date")
    try:
        from analytics import weekly_bars
    except ImportError:
        weekly_bars = None
    if weekly_bars is not None:
        panels = {c: frame[[c]] for c in ("open", "high", "low", "close", "volume")}
        weeks = weekly_bars(panels)
        out = pd.DataFrame({c: weeks[c].iloc[:, 0] for c in weeks}).dropna(
            subset=["close"]
        )
        return out.rename_axis("date").reset_index()
    iso = frame.index.isocalendar()
    groups = frame.groupby([iso["year"], iso["week"]], sort=True)
    out = groups.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    out["date"] = groups.apply(lambda w: w.index.max(), include_groups=False).to_numpy()
    return out.reset_index(drop=True)


@endpoint(
    "/bars/<symbol>",
    "OHLCV bars of one symbol: minute, daily or weekly.",
    params=(
        Param("symbol", "symbol", "Ticker, e.g. AAPL.", required=True, location="path"),
        Param(
            "timeframe", "enum", "Bar size.", default="1d", choices=("1min", "1d", "1w")
        ),
        Param("start", "datetime", "First bar (date or UTC time)."),
        Param("end", "datetime", "Last bar (date or UTC time)."),
        Param(
            "limit",
            "integer",
            "Newest bars kept.",
            default=1_000,
            minimum=1,
            maximum=MAX_BARS,
        ),
    ),
    response={
        "type": "object",
        "required": ["symbol", "timeframe", "count", "bars"],
        "properties": {
            "symbol": {"type": "string"},
            "timeframe": {"type": "string"},
            "count": {"type": "integer"},
            "demo_data": {"type": "boolean"},
            "bars": {"type": "array", "items": BAR},
        },
    },
    tabular=True,
    cached=True,
    statuses=(404,),
)
def bars(symbol: str, timeframe: str, start, end, limit: int, format: str):  # noqa: A002
    """Return the newest `limit` bars in [start, end], oldest first."""
    store = current_store()
    if store.symbols_frame([symbol]).empty:
        raise ApiError(404, "unknown_symbol", f"no symbol {symbol}", symbol=symbol)
    if timeframe == "1min":
        frame = store.read_minute(
            [symbol], start=start, end=end, limit=limit, newest_first=True
        )
        frame = frame.iloc[::-1]
        times = frame["ts"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    else:
        frame = store.read_daily(
            [symbol],
            start=None if start is None else start.date(),
            end=None if end is None else end.date(),
        )
        if timeframe == "1w":
            frame = _weekly(frame)
        frame = frame.tail(limit)
        times = frame["date"].map(lambda d: pd.Timestamp(d).strftime("%Y-%m-%d"))
    out = pd.DataFrame({"time": times.to_numpy() if len(frame) else []})
    for col in ("open", "high", "low", "close", "volume"):
        out[col] = frame[col].astype(float).to_numpy() if len(frame) else []
    if format == "csv":
        return csv_response(out, f"bars_{symbol}_{timeframe}")
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "count": len(out),
        "demo_data": _demo_data(),
        "bars": records(out),
    }
