"""Bars for the page queries: settled daily history plus the running session.

Settled daily bars are cached per daily-data version; the running session's
bar comes from the minute bars (rolled up in SQL) and the live in-progress bars.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import pandas as pd

from dashapp.market.asof import MARKET_TZ, live_cap, parse_as_of, session_on_or_before
from dashapp.market.context import current_store, extension
from dashapp.market.dataversion import cached, current_data_version

BARS = ("open", "high", "low", "close", "volume")


def _session_of(ts: pd.Timestamp) -> dt.date:
    return ts.tz_convert(MARKET_TZ).date()


def session_minutes(
    symbols: Sequence[str],
    session: dt.date,
    until: pd.Timestamp | None = None,
    live: bool = True,
) -> pd.DataFrame:
    """Return one session's minute bars (plus live in-progress bars when `live`)."""
    start = pd.Timestamp(session).tz_localize(MARKET_TZ).tz_convert("UTC")
    end = start + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if until is not None:
        end = min(end, until.tz_convert("UTC"))
    bars = current_store().read_minute(list(symbols), start=start, end=end)
    store = extension("livebars") if live and until is None else None
    if store is not None and len(store):
        extra = store.snapshot(list(symbols))
        extra = extra[(extra["ts"] >= start) & (extra["ts"] <= end)]
        if len(extra):
            extra = extra[list(bars.columns)]
            frames = [f for f in (bars, extra) if len(f)]
            bars = pd.concat(frames, ignore_index=True)
            bars = bars.drop_duplicates(["symbol", "ts"], keep="last")
    return bars.sort_values(["symbol", "ts"], ignore_index=True)


MINUTE_LOOKBACK_DAYS = 7  # calendar days beyond 1.5 per session: covers holidays


def recent_minutes(
    symbols: Sequence[str],
    session: dt.date,
    sessions: int = 1,
    until: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Return the minute bars of the last `sessions` sessions up to `session`.

    Sessions are the New York dates that hold minute bars, so a holiday or a
    session without minutes is skipped rather than shown as a gap.
    """
    today = session_minutes(symbols, session, until)
    if sessions <= 1:
        return today
    span = MINUTE_LOOKBACK_DAYS + int(1.5 * sessions)
    first = pd.Timestamp(session - dt.timedelta(days=span)).tz_localize(MARKET_TZ)
    start_today = pd.Timestamp(session).tz_localize(MARKET_TZ).tz_convert("UTC")
    older = current_store().read_minute(
        list(symbols),
        start=first.tz_convert("UTC"),
        end=start_today - pd.Timedelta(microseconds=1),
    )
    bars = pd.concat([f for f in (older, today) if len(f)] or [today])
    if bars.empty:
        return today
    dates = pd.to_datetime(bars["ts"], utc=True).dt.tz_convert(MARKET_TZ).dt.date
    keep = sorted(set(dates))[-sessions:]
    shown = bars[dates.isin(keep).to_numpy()]
    return shown.sort_values(["symbol", "ts"], ignore_index=True)


def minute_session(as_of: Any) -> tuple[dt.date | None, pd.Timestamp | None]:
    """Return the session whose minute bars `as_of` looks at, and the cut-off."""
    label, ts, is_minute = parse_as_of(as_of)
    if is_minute:
        return ts.date(), ts
    if label != "now":
        return session_on_or_before(ts.date()), None
    newest = current_data_version().newest_minute
    live = extension("livebars")
    live_ms = live.newest_ts() if live is not None and len(live) else None
    if live_ms is not None:
        live_ts = pd.Timestamp(live_ms, unit="ms", tz="UTC")
        newest = live_ts if newest is None or live_ts > newest else newest
    if newest is None:
        return None, None
    # Before the open (pre-market bars) "now" is still the last complete session.
    return min(_session_of(newest), live_cap()[0]), None


def _today_bars(
    symbols: Sequence[str], session: dt.date, until: pd.Timestamp | None
) -> pd.DataFrame:
    """Return the session's running bar per symbol (minutes rolled up in SQL + live)."""
    start = pd.Timestamp(session).tz_localize(MARKET_TZ).tz_convert("UTC")
    end = start + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    if until is not None:
        end = min(end, until.tz_convert("UTC"))
    rows = current_store().intraday_bars(list(symbols), start, end)
    rows = rows.set_index("symbol") if len(rows) else pd.DataFrame(columns=BARS)
    live = extension("livebars") if until is None else None
    if live is not None and len(live):
        rows = _fold_live(rows, live.bars(list(symbols)), start, end)
    if rows.empty:
        return pd.DataFrame(columns=["symbol", "date", *BARS])
    out = rows[list(BARS)].astype(float).reset_index(names="symbol")
    out["date"] = pd.Timestamp(session)
    return out


def _fold_live(rows: pd.DataFrame, bars: dict, start, end) -> pd.DataFrame:
    """Fold in-progress live bars newer than the stored minutes into `rows`."""
    lo, hi = start.value // 1_000_000, end.value // 1_000_000
    rows = rows.copy()
    for sym, bar in bars.items():
        if not lo <= bar.ts <= hi:
            continue
        if sym in rows.index:
            last = rows.at[sym, "last_ts"] if "last_ts" in rows else None
            if last is not None and bar.ts <= pd.Timestamp(last).value // 1_000_000:
                continue  # already stored: the database copy wins
            rows.at[sym, "high"] = max(rows.at[sym, "high"], bar.high)
            rows.at[sym, "low"] = min(rows.at[sym, "low"], bar.low)
            rows.at[sym, "close"] = bar.close
            rows.at[sym, "volume"] = rows.at[sym, "volume"] + bar.volume
        else:
            rows.loc[sym, list(BARS)] = [
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
            ]
    return rows


def settled_daily(symbols: Sequence[str], end: dt.date, days: int) -> pd.DataFrame:
    """Return daily bars in (end - days, end], cached per daily-data version.

    Minute bars do not move the daily version, so a new minute re-reads nothing.
    """
    symbols = sorted(set(symbols))
    digest = hashlib.sha1(",".join(symbols).encode()).hexdigest()[:16]
    key = f"q:daily:{digest}:{end}:{days}:d{current_data_version().daily_seq}"
    start = end - dt.timedelta(days=days)
    return cached(
        key, lambda: current_store().read_daily(symbols, start=start, end=end)
    )


def daily_with_today(symbols: Sequence[str], as_of: Any, days: int) -> pd.DataFrame:
    """Return daily bars up to `as_of`, plus the running bar of an intraday session.

    Same rule as the market-state snapshot: "now" adds the newest minute session
    when it is newer than the newest daily bar; a minute as-of uses the daily
    history before that session plus the minutes up to that minute.
    """
    label, ts, is_minute = parse_as_of(as_of)
    session = None
    if is_minute:
        session = ts.date()
        end = session - dt.timedelta(days=1)
    elif label == "now":
        end = current_data_version().newest_daily or dt.date.today()
        running, _ = minute_session(None)
        if running is not None and running > end:
            session = running
    else:
        end = ts.date()
    history = settled_daily(symbols, end, days)
    if session is None:
        return history
    today = _today_bars(symbols, session, ts if is_minute else None)
    if today.empty:
        return history
    cols = [c for c in history.columns if c in today.columns]
    return pd.concat([history, today[cols]], ignore_index=True)


def settled_end(as_of: Any = None) -> dt.date | None:
    """Return the last session whose daily bars are settled as of `as_of`."""
    label, ts, is_minute = parse_as_of(as_of)
    if is_minute:
        return ts.date() - dt.timedelta(days=1)
    if label == "now":
        return current_data_version().newest_daily
    return ts.date()
