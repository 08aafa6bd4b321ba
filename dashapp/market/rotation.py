"""Relative rotation (RRG) of any symbol list against any benchmark, as of a session.

The RRG of the Sectors page, notebooks and tests; the REST endpoint reads the
sector ETFs' rotation from the market state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

import analytics
import analytics.constants
from dashapp.market.asof import BadRequest
from dashapp.market.session_bars import resolve_request, session_row
from dashapp.store import Store
from dashapp.store.reference import BENCHMARK, sector_etfs

ROTATION_CALENDAR_DAYS = 760  # 30 weekly bars of SMA + 4 of momentum + tails


def sector_rotation(
    period: str = "weekly",
    tail: int = analytics.constants.RRG_DEFAULT_TAIL,
    as_of: Any = None,
    symbols: list[str] | None = None,
    benchmark: str = BENCHMARK,
    *,
    store: Store | None = None,
    cache: Any = None,
    live: Any = None,
) -> pd.DataFrame:
    """Return RRG points (symbol, date, rs_ratio, rs_momentum, quadrant, heading).

    Defaults to the 11 SPDR sector ETFs against SPY; any symbol list against any
    benchmark works. The as-of session's running bar is included intraday.
    """
    if period not in analytics.constants.RRG_PERIODS:
        raise BadRequest(f"period={period!r}: use weekly or daily")
    if not 1 <= int(tail) <= 260:
        raise BadRequest(f"tail={tail!r}: use 1..260")
    req = resolve_request(as_of, store, cache, live)
    store, cache, label, live = req.store, req.cache, req.label, req.live
    dv, res, version = req.dv, req.res, req.version
    symbols = list(symbols or sector_etfs()["symbol"])
    key = (
        f"rrg:{period}:{tail}:{label}:{res.session}:{benchmark}:"
        f"{','.join(symbols)}:{version}"
    )

    def compute() -> pd.DataFrame:
        needed = sorted({*symbols, benchmark})
        session, row, _intraday = session_row(
            store, needed, dv, res.ts, res.is_minute, live, res.session
        )
        if session is None:
            return analytics.rrg(pd.DataFrame(), None, period=period, tail=tail)
        start = session - dt.timedelta(days=ROTATION_CALENDAR_DAYS)
        end = session - dt.timedelta(days=1)
        history = store.read_daily(needed, start=start, end=end)
        close = analytics.panel_from_bars(history) if len(history) else pd.DataFrame()
        if len(row):
            last = row["close"].rename(pd.Timestamp(session)).to_frame().T
            close = pd.concat(
                [close, last.reindex(columns=close.columns.union(last.columns))]
            )
        if benchmark not in close:
            return analytics.rrg(pd.DataFrame(), None, period=period, tail=tail)
        prices = close.reindex(columns=[s for s in symbols if s in close.columns])
        return analytics.rrg(prices, close[benchmark], period=period, tail=int(tail))

    if cache is None:
        return compute()
    return cache.get_or_compute(key, compute)
