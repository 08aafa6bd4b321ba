"""The US equity session clock, the live feed's state and how fresh the bars are."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from dashapp.market.asof import MARKET_TZ
from dashapp.market.asof import now as asof_now
from dashapp.market.context import extension
from dashapp.market.dataversion import current_data_version
from dashapp.market.overview import data_origins, is_demo

FEED_FRESH_SECONDS = 180
_CLOCK_MEMO: dict[int, dict[str, Any]] = {}
CLOCK_MEMO_SIZE = 8
PRE_OPEN = dt.time(4, 0)
POST_CLOSE = dt.time(20, 0)


def _calendar():
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS")


def market_clock(now: pd.Timestamp | None = None) -> dict[str, Any]:
    """Return the US equity session now (pre/regular/post/closed) and the next open."""
    if now is None:
        minute = int(asof_now().timestamp() // 60)  # tests may pin the clock
    else:
        now = pd.Timestamp(now)
        now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
        minute = int(now.timestamp() // 60)
    # Sessions change on minute boundaries: compute once per minute, not per poll.
    hit = _CLOCK_MEMO.get(minute)
    if hit is None:
        if len(_CLOCK_MEMO) > CLOCK_MEMO_SIZE:
            _CLOCK_MEMO.clear()
        hit = _CLOCK_MEMO[minute] = _clock(
            pd.Timestamp(minute * 60, unit="s", tz="UTC")
        )
    return hit


def _clock(now: pd.Timestamp) -> dict[str, Any]:
    local = now.tz_convert(MARKET_TZ)
    try:
        cal = _calendar()
        day = pd.Timestamp(local.date())
        if cal.is_session(day):
            open_, close = cal.session_open(day), cal.session_close(day)
        else:
            open_ = close = None
        nxt = cal.next_open(now) if open_ is None or now >= open_ else open_
    except Exception:  # calendar unavailable or out of range: fall back to clock
        open_, close, nxt = None, None, None
    session = "closed"
    if open_ is not None:
        pre = pd.Timestamp.combine(local.date(), PRE_OPEN).tz_localize(MARKET_TZ)
        post = pd.Timestamp.combine(local.date(), POST_CLOSE).tz_localize(MARKET_TZ)
        if pre <= now < open_:
            session = "pre"
        elif open_ <= now < close:
            session = "regular"
        elif close <= now < post:
            session = "post"
    return {
        "session": session,
        "next_open": None if nxt is None else pd.Timestamp(nxt).tz_convert(MARKET_TZ),
        "now": local,
    }


def feed_status(detail: bool = False) -> dict[str, Any]:
    """Return whether live ingest runs in this process and is connected.

    Cheap by default (every poll asks); `detail=True` also asks the service
    for its source and a one-line detail (once per render).
    """
    svc = extension("ingest")
    if svc is None or getattr(svc, "no_feed", None):
        error = extension("ingest_error") if svc is None else None
        note = (
            f"live feed failed to start: {error}" if error else "live feed not running"
        )
        if svc is not None:
            note = f"no live feed: {svc.no_feed}"
        return {
            "running": False,
            "connected": False,
            "failed": bool(error),
            "detail": note,
        }
    out = {"running": True, "connected": bool(getattr(svc, "connected", False))}
    status = getattr(svc, "status", None)
    if detail and callable(status):
        info = status()
        if isinstance(info, dict):
            out.update(source=info.get("source"), detail=info.get("detail"))
    return out


def freshness(now: pd.Timestamp | None = None) -> dict[str, Any]:
    """Return the newest stored/live bar times, their age, feed state and demo flag."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    version = current_data_version()
    newest = version.newest_minute
    live = extension("livebars")
    live_ms = live.newest_ts() if live is not None and len(live) else None
    if live_ms is not None:
        live_ts = pd.Timestamp(live_ms, unit="ms", tz="UTC")
        newest = live_ts if newest is None or live_ts > newest else newest
    age = None if newest is None else (now - newest).total_seconds()
    return {
        "newest_minute": newest,
        "newest_daily": version.newest_daily,
        "age_seconds": age,
        "fresh": age is not None and age <= FEED_FRESH_SECONDS,
        "feed": feed_status(detail=True),
        "demo": is_demo(),
        "origins": data_origins(),
    }
