"""The as-of session's bar per symbol: daily close, or minutes rolled up plus live bars.

Shared by the market state and the RRG entry point: both resolve an `as_of`
against the calendar, the stored range and the live bars the same way
(`resolve_request`), then read the session's row (`session_row`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashapp.market import asof as asof_calendar
from dashapp.market.asof import MARKET_TZ, parse_as_of
from dashapp.market.context import current_store, extension
from dashapp.store import BAR_FIELDS, DataVersion, Store


@dataclass(frozen=True)
class Request:
    """An `as_of` resolved for one call: store, cache, live bars, session, version."""

    store: Store
    cache: Any
    label: str
    live: Any
    dv: DataVersion
    res: asof_calendar.Resolved
    version: str


def resolve_request(as_of: Any, store: Store | None, cache: Any, live: Any) -> Request:
    """Resolve `as_of` with the app's store, cache and live bars unless given."""
    store = store or current_store()
    cache = cache if cache is not None else extension("cache")
    label, ts, is_minute = parse_as_of(as_of)
    live = (
        (live if live is not None else extension("livebars"))
        if label == "now"
        else None
    )
    dv = store.data_version()
    res = asof_calendar.resolve(store, dv, ts, is_minute, newest_session(dv, live))
    version = dv.key + (f"-live{live.version}" if live is not None else "")
    return Request(store, cache, label, live, dv, res, version)


def session_row(
    store: Store,
    symbols: list[str],
    dv: DataVersion,
    ts: pd.Timestamp | None,
    is_minute: bool,
    live: Any,
    now_session: dt.date | None = None,
) -> tuple[dt.date | None, pd.DataFrame, bool]:
    """Return the as-of session, its bar per symbol (indexed by symbol), intraday?"""
    if is_minute:
        session = ts.date()
        return session, intraday_row(store, symbols, session, ts, None), True
    if ts is not None:
        session = ts.date()
    else:
        session = now_session or newest_session(dv, live)
        if session is None:
            return None, pd.DataFrame(), False
    daily = store.read_daily(symbols, start=session, end=session)
    if ts is None and (dv.newest_daily is None or session > dv.newest_daily):
        return session, intraday_row(store, symbols, session, None, live), True
    if daily.empty:
        row = intraday_row(store, symbols, session, None, None)
        return (session, row, True) if len(row) else (session, row, False)
    return session, daily.set_index("symbol")[list(BAR_FIELDS)], False


def newest_session(dv: DataVersion, live: Any) -> dt.date | None:
    """Return the newest session that has any stored or live bar."""
    candidates = []
    if dv.newest_daily is not None:
        candidates.append(dv.newest_daily)
    newest_min = dv.newest_minute
    if live is not None and live.newest_ts() is not None:
        live_ts = pd.Timestamp(live.newest_ts(), unit="ms", tz="UTC")
        newest_min = live_ts if newest_min is None else max(newest_min, live_ts)
    if newest_min is not None:
        candidates.append(newest_min.tz_convert(MARKET_TZ).date())
    return max(candidates) if candidates else None


def intraday_row(
    store: Store,
    symbols: list[str],
    session: dt.date,
    until: pd.Timestamp | None,
    live: Any,
) -> pd.DataFrame:
    """Build the session's running bar per symbol from minute bars (+ live bars)."""
    day_start = pd.Timestamp(session).tz_localize(MARKET_TZ).tz_convert("UTC")
    end = day_start + pd.Timedelta(days=1) - pd.Timedelta(minutes=1)
    if until is not None:
        end = min(end, until.tz_convert("UTC"))
    row = store.intraday_bars(symbols, day_start, end).set_index("symbol")
    if live is not None:
        row = merge_live(row, live.bars(symbols), day_start, end)
    return row[list(BAR_FIELDS)] if len(row) else pd.DataFrame(columns=BAR_FIELDS)


def merge_live(
    row: pd.DataFrame, bars: dict, day_start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Fold in-progress live bars newer than the stored minutes into `row`."""
    lo, hi = day_start.value // 1_000_000, end.value // 1_000_000
    updates = {}
    for sym, bar in bars.items():
        if not lo <= bar.ts <= hi:
            continue
        if sym in row.index:
            cur = row.loc[sym]
            if bar.ts <= cur["last_ts"].value // 1_000_000:
                continue  # already stored: the database copy wins
            updates[sym] = {
                "open": cur["open"],
                "high": max(cur["high"], bar.high),
                "low": min(cur["low"], bar.low),
                "close": bar.close,
                "volume": cur["volume"] + bar.volume,
            }
        else:
            updates[sym] = {
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
            }
    if not updates:
        return row
    extra = pd.DataFrame.from_dict(updates, orient="index")
    return extra.combine_first(row[list(BAR_FIELDS)])
