"""US equity trading sessions (NYSE calendar): tag bars pre / regular / post.

Uses `exchange_calendars` XNYS for holidays and early closes. Extended hours
are 04:00 ET to the open (pre) and the close to 20:00 ET (post; four hours
after an early close). Every other time is "closed". Bars are tagged by their
START time. Pure functions with no dependency on the rest of ingest, so readers
can use them too.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

MARKET_TZ = "America/New_York"
CALENDAR = "XNYS"
PRE, REGULAR, POST, CLOSED = "pre", "regular", "post", "closed"
SESSIONS = (PRE, REGULAR, POST, CLOSED)
PRE_OPEN = dt.time(4, 0)
POST_CLOSE = dt.time(20, 0)
POST_MAX = pd.Timedelta(hours=4)
FALLBACK_OPEN = dt.time(9, 30)
FALLBACK_CLOSE = dt.time(16, 0)


class SessionBounds(NamedTuple):
    """One trading day's boundaries, tz-aware UTC."""

    day: dt.date
    pre_open: pd.Timestamp
    open: pd.Timestamp
    close: pd.Timestamp
    post_close: pd.Timestamp

    @property
    def early_close(self) -> bool:
        """Return True when the regular session closes before 16:00 ET."""
        return self.close.tz_convert(MARKET_TZ).time() < FALLBACK_CLOSE


@functools.lru_cache(maxsize=1)
def _calendar() -> Any:
    import exchange_calendars as xcals

    return xcals.get_calendar(CALENDAR)


@functools.lru_cache(maxsize=1)
def _regular_table() -> tuple[dt.date, dt.date, dict[dt.date, tuple[int, int]]]:
    """Return (first day, last day, {day: (open_ns, close_ns)}) of the calendar."""
    cal = _calendar()
    opens = cal.opens.dt.as_unit("ns")
    closes = cal.closes.dt.as_unit("ns")
    days = [d.date() for d in opens.index]
    table = dict(
        zip(days, zip(opens.array.asi8, closes.array.asi8, strict=True), strict=True)
    )
    return days[0], days[-1], table


def _local(day: dt.date, at: dt.time) -> pd.Timestamp:
    return pd.Timestamp.combine(day, at).tz_localize(MARKET_TZ).tz_convert("UTC")


@functools.lru_cache(maxsize=4096)
def session_bounds(day: dt.date) -> SessionBounds | None:
    """Return the session boundaries of a market date, or None on non-trading days."""
    first, last, table = _regular_table()
    if first <= day <= last:
        hit = table.get(day)
        if hit is None:
            return None
        open_ = pd.Timestamp(hit[0], tz="UTC")
        close = pd.Timestamp(hit[1], tz="UTC")
    else:
        # Outside the calendar's range: weekdays with regular hours, no holidays.
        if day.weekday() >= 5:
            return None
        open_ = _local(day, FALLBACK_OPEN)
        close = _local(day, FALLBACK_CLOSE)
    post = min(close + POST_MAX, _local(day, POST_CLOSE))
    return SessionBounds(day, _local(day, PRE_OPEN), open_, close, post)


def _to_timestamp(ts: Any) -> pd.Timestamp:
    if isinstance(ts, int | np.integer):
        return pd.Timestamp(int(ts), unit="ms", tz="UTC")
    stamp = pd.Timestamp(ts)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def market_date(ts: Any) -> dt.date:
    """Return the New York calendar date of a time (epoch ms, datetime, str)."""
    return _to_timestamp(ts).tz_convert(MARKET_TZ).date()


def session_of(ts: Any) -> str:
    """Return "pre", "regular", "post" or "closed" for one bar start time."""
    stamp = _to_timestamp(ts)
    bounds = session_bounds(stamp.tz_convert(MARKET_TZ).date())
    if bounds is None:
        return CLOSED
    if bounds.pre_open <= stamp < bounds.open:
        return PRE
    if bounds.open <= stamp < bounds.close:
        return REGULAR
    if bounds.close <= stamp < bounds.post_close:
        return POST
    return CLOSED


def tag_sessions(ts: Any) -> np.ndarray:
    """Return the session tag of each time in an array-like (vectorised)."""
    values = pd.Series(ts)
    if pd.api.types.is_numeric_dtype(values):
        index = pd.DatetimeIndex(pd.to_datetime(values, unit="ms", utc=True))
    else:
        index = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    out = np.full(len(index), CLOSED, dtype=object)
    if not len(index):
        return out
    local_days = index.tz_convert(MARKET_TZ).tz_localize(None).normalize()
    codes, uniques = pd.factorize(local_days)
    edges = np.full((len(uniques), 4), np.iinfo(np.int64).min, dtype=np.int64)
    for i, day in enumerate(uniques):
        bounds = session_bounds(day.date())
        if bounds is not None:
            edges[i] = [b.value for b in bounds[1:]]
    per_row = edges[codes]
    t = index.as_unit("ns").asi8
    pre_open, open_, close, post = (per_row[:, k] for k in range(4))
    out[(t >= pre_open) & (t < open_)] = PRE
    out[(t >= open_) & (t < close)] = REGULAR
    out[(t >= close) & (t < post)] = POST
    return out


def is_active(ts: Any) -> bool:
    """Return True when bars are expected (pre, regular or post session)."""
    return session_of(ts) != CLOSED


def next_active(ts: Any, horizon_days: int = 14) -> pd.Timestamp | None:
    """Return when the next pre/regular/post period starts after `ts` (or now)."""
    stamp = _to_timestamp(ts)
    if is_active(stamp):
        return stamp
    day = stamp.tz_convert(MARKET_TZ).date()
    for offset in range(horizon_days + 1):
        bounds = session_bounds(day + dt.timedelta(days=offset))
        if bounds is not None and bounds.pre_open > stamp:
            return bounds.pre_open
    return None


def last_session_start(ts: Any, horizon_days: int = 14) -> pd.Timestamp | None:
    """Return the pre-open of the latest trading day that began at or before `ts`."""
    stamp = _to_timestamp(ts)
    day = stamp.tz_convert(MARKET_TZ).date()
    for offset in range(horizon_days + 1):
        bounds = session_bounds(day - dt.timedelta(days=offset))
        if bounds is not None and bounds.pre_open <= stamp:
            return bounds.pre_open
    return None


def session_ms(ts_ms: int) -> str:
    """Return the session tag of a bar start given in epoch milliseconds."""
    return session_of(int(ts_ms))


def warm() -> None:
    """Load the calendar now (it takes about a second) instead of on first use."""
    _regular_table()
    log.debug("loaded %s calendar", CALENDAR)


__all__ = [
    "CLOSED",
    "POST",
    "PRE",
    "REGULAR",
    "SESSIONS",
    "SessionBounds",
    "is_active",
    "market_date",
    "next_active",
    "session_bounds",
    "session_ms",
    "session_of",
    "tag_sessions",
    "warm",
]
