"""The Market page's index cards and the dollar volume of a symbol list."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dashapp.market.bars import (
    daily_with_today,
    minute_session,
    session_minutes,
    settled_daily,
    settled_end,
)
from dashapp.market.dataversion import cached, current_data_version

INDEX_SYMBOLS = ("SPY", "QQQ", "IWM", "DIA")
SPARK_SESSIONS = 30
SPARK_POINTS = 120  # an intraday sparkline needs no more points than pixels
DOLLAR_VOLUME_SESSIONS = 21
DOLLAR_VOLUME_DAYS = 40


@dataclass
class IndexQuote:
    """One index card: last price, change vs the previous close, sparkline."""

    symbol: str
    last: float | None = None
    change: float | None = None
    pct: float | None = None
    spark: list[float] = field(default_factory=list)
    spark_kind: str = "daily"


def index_quotes(
    as_of: Any = None, symbols: Sequence[str] = INDEX_SYMBOLS
) -> list[IndexQuote]:
    """Return index cards (SPY, QQQ, IWM, DIA) at `as_of`."""
    bars = daily_with_today(symbols, as_of, days=SPARK_SESSIONS * 2)
    daily = {sym: g.sort_values("date") for sym, g in bars.groupby("symbol")}
    session, until = minute_session(as_of)
    minutes = {}
    if session is not None:
        frame = session_minutes(symbols, session, until)
        minutes = {
            sym: g["close"].to_numpy(float) for sym, g in frame.groupby("symbol")
        }
    out = []
    for sym in symbols:
        quote = IndexQuote(sym)
        rows = daily.get(sym)
        if rows is not None and len(rows):
            closes = rows["close"].to_numpy(dtype=float)
            quote.last = float(closes[-1])
            if len(closes) > 1:
                quote.change = float(closes[-1] - closes[-2])
                quote.pct = float(closes[-1] / closes[-2] - 1)
            quote.spark = closes[-SPARK_SESSIONS:].tolist()
            intraday = minutes.get(sym)
            if intraday is not None and len(intraday) > 1:
                if session == rows["date"].iloc[-1].date():
                    keep = np.arange(
                        0, len(intraday), max(1, len(intraday) // SPARK_POINTS)
                    )
                    keep = np.union1d(keep, [len(intraday) - 1])
                    quote.spark = intraday[keep].tolist()
                    quote.spark_kind = "intraday"
        out.append(quote)
    return out


def dollar_volume(symbols: Sequence[str], as_of: Any = None) -> pd.Series:
    """Return the mean daily dollar volume of the last 21 settled sessions."""
    end = settled_end(as_of)
    if end is None:
        return pd.Series(dtype=float)
    symbols = sorted(set(symbols))
    digest = hashlib.sha1(",".join(symbols).encode()).hexdigest()[:16]

    def compute() -> pd.Series:
        bars = settled_daily(symbols, end, DOLLAR_VOLUME_DAYS)
        if bars.empty:
            return pd.Series(dtype=float)
        bars = bars.sort_values("date").groupby("symbol").tail(DOLLAR_VOLUME_SESSIONS)
        dv = bars["close"].astype(float) * bars["volume"].astype(float)
        return dv.groupby(bars["symbol"]).mean()

    version = current_data_version().daily_seq
    return cached(f"q:dollar-volume:{digest}:{end}:d{version}", compute)
