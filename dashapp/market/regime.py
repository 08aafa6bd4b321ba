"""Market regime of SPY (and QQQ / IWM when stored) as of a session.

The regime is a state machine over the whole stored daily series of each index
(`analytics.regime`); the as-of session's bar is the daily bar or, intraday, the
running bar built from the minute bars and the live bars (same rule as the market
state). Computed once per (as_of, data version) through the app cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pandas as pd

import analytics
from analytics.regime import market_regime as regime_frame
from analytics.regime import regime_summary
from dashapp.market.cache import LocalCache
from dashapp.market.session_bars import resolve_request, session_row
from dashapp.store import Store
from dashapp.store.origin import fake_origins
from dashapp.store.reference import BENCHMARK

REGIME_SYMBOLS = (BENCHMARK, "QQQ", "IWM")
REGIME_HISTORY_DAYS = 366 * 60  # the whole stored series (SPY starts in 1993)
NO_DATA = "no price data stored"
SETTLED_CACHE_ENTRIES = 4  # ~15 MB each for 500 names x 2.8 years


# Settled daily panels per (store, symbols, session, daily data version): a new
# minute only appends the running session's row; a new daily bar is a new key.
_settled = LocalCache(max_entries=SETTLED_CACHE_ENTRIES)


def _settled_panels(
    store: Store, symbols: list[str], req: Any, session: dt.date, days: int
) -> dict[str, pd.DataFrame]:
    digest = hashlib.sha1(",".join(sorted(symbols)).encode()).hexdigest()[:16]
    dv = req.dv
    key = f"{id(store)}:{digest}:{session}:{days}:{dv.daily_seq}:{dv.newest_daily}"

    def read() -> dict[str, pd.DataFrame]:
        start = session - dt.timedelta(days=days)
        end = session - dt.timedelta(days=1)
        return analytics.panels_from_bars(store.read_daily(symbols, start, end))

    return _settled.get_or_compute(key, read)


def _append_row(
    panels: dict[str, pd.DataFrame], row: pd.DataFrame, session: dt.date
) -> dict[str, pd.DataFrame]:
    """Return the panels with the session's row (field -> per-symbol values) added."""
    close = panels["close"]
    columns = close.columns.union(pd.Index(row.index.astype(str)), sort=True)
    index = pd.DatetimeIndex([pd.Timestamp(session)], name="date")
    out = {}
    for name, frame in panels.items():
        values = row[name] if name in row else pd.Series(dtype=float)
        values = values.astype(float).reindex(columns).to_numpy()[None, :]
        last = pd.DataFrame(values, index=index, columns=columns)
        out[name] = pd.concat([frame.reindex(columns=columns), last])
    return out


def session_panels(
    store: Store,
    symbols: list[str],
    req: Any,
    history_days: int,
) -> tuple[dt.date | None, dict[str, pd.DataFrame], bool]:
    """Return (session, OHLCV panels up to it, intraday?) for a resolved request.

    The settled daily history ends the day before the session (cached per daily
    data version); the session's row is its daily bar or, intraday, its running
    bar (`session_row`).
    """
    dv, res = req.dv, req.res
    session, row, intraday = session_row(
        store, symbols, dv, res.ts, res.is_minute, req.live, res.session
    )
    if session is None:
        return None, analytics.panels_from_bars(pd.DataFrame()), False
    panels = _settled_panels(store, symbols, req, session, history_days)
    if len(row):
        panels = _append_row(panels, row, session)
    return session, panels, intraday


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
