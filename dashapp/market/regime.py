"""Market regime of SPY (and QQQ / IWM when stored) as of a session.

The regime is a state machine over the whole stored daily series of each index
(`analytics.regime`); the as-of session's bar is the daily bar or, intraday, the
running bar built from the minute bars and the live bars (same rule as the market
state). Computed once per (as_of, data version) through the app cache.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

import analytics
from analytics.regime import market_regime as regime_frame
from analytics.regime import regime_summary
from dashapp.market.session_bars import resolve_request, session_row
from dashapp.store import Store
from dashapp.store.origin import fake_origins
from dashapp.store.reference import BENCHMARK

REGIME_SYMBOLS = (BENCHMARK, "QQQ", "IWM")
REGIME_HISTORY_DAYS = 366 * 60  # the whole stored series (SPY starts in 1993)
NO_DATA = "no price data stored"


def session_panels(
    store: Store,
    symbols: list[str],
    req: Any,
    history_days: int,
) -> tuple[dt.date | None, dict[str, pd.DataFrame], bool]:
    """Return (session, OHLCV panels up to it, intraday?) for a resolved request.

    The settled daily history ends the day before the session; the session's row
    is its daily bar or, intraday, its running bar (`session_row`).
    """
    dv, res = req.dv, req.res
    session, row, intraday = session_row(
        store, symbols, dv, res.ts, res.is_minute, req.live, res.session
    )
    if session is None:
        return None, analytics.panels_from_bars(pd.DataFrame()), False
    start = session - dt.timedelta(days=history_days)
    history = store.read_daily(symbols, start=start, end=session - dt.timedelta(1))
    if len(row):
        today = row.reset_index(names="symbol")
        today["date"] = pd.Timestamp(session)
        frames = [f for f in (history, today) if len(f)]
        history = pd.concat(frames, ignore_index=True)
    return session, analytics.panels_from_bars(history), intraday


def _index_entry(symbol: str, panels: dict[str, pd.DataFrame]) -> dict[str, Any]:
    close, volume = panels.get("close"), panels.get("volume")
    if close is None or symbol not in close.columns:
        return {
            "symbol": symbol,
            **regime_summary(regime_frame(pd.Series())),
            "reason": NO_DATA,
        }
    frame = regime_frame(close[symbol], volume[symbol] if volume is not None else None)
    return {"symbol": symbol, **regime_summary(frame), "reason": None}


def market_regime(
    as_of: Any = None,
    symbols: tuple[str, ...] = REGIME_SYMBOLS,
    *,
    store: Store | None = None,
    cache: Any = None,
    live: Any = None,
) -> dict[str, Any]:
    """Return the regime of each index at `as_of` (SPY first; others when stored).

    Raises `AsOfOutOfRange` / `BadRequest` like `market_state`.
    """
    req = resolve_request(as_of, store, cache, live)
    store, cache = req.store, req.cache
    key = (
        f"regime:{req.label}:{req.res.session}:{req.res.closed}:"
        f"{','.join(symbols)}:{req.version}"
    )

    def compute() -> dict[str, Any]:
        session, panels, intraday = session_panels(
            store, list(symbols), req, REGIME_HISTORY_DAYS
        )
        close = panels.get("close")
        stored = set() if close is None else set(close.columns)
        shown = [s for s in symbols if s == symbols[0] or s in stored]
        origins = fake_origins(store)
        return {
            "as_of": req.label,
            "session": None if session is None else session.isoformat(),
            "intraday": bool(intraday),
            "session_closed": bool(req.res.closed),
            "data_version": req.version,
            "demo_data": bool(origins),
            "data_origins": origins,
            "indexes": [_index_entry(s, panels) for s in shown],
        }

    if cache is None:
        return compute()
    return cache.get_or_compute(key, compute)
