"""Which session an `as_of` means, from the XNYS exchange calendar.

"now" before the open, on weekends and holidays is the last complete session;
a date that is not a session resolves to the session before it; a date after
the newest or before the oldest stored data is an error naming the stored
range (`AsOfOutOfRange`, answered 422 by the REST API). Tests pin the clock
with `fixed_clock`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

MARKET_TZ = "America/New_York"
CALENDAR = "XNYS"
MAX_WALK_BACK_DAYS = 10
RANGE_MEMO_SIZE = 16

_clock: Callable[[], pd.Timestamp] | None = None
_range_memo: dict[Any, tuple[dt.date | None, dt.date | None]] = {}


class BadRequest(ValueError):
    """A caller passed a universe or as_of that cannot be served."""


class AsOfOutOfRange(BadRequest):
    """as_of lies after the newest or before the oldest stored session."""

    code = "as_of_out_of_range"

    def __init__(self, message: str, first: dt.date | None, last: dt.date | None):
        super().__init__(message)
        self.first = first
        self.last = last


# ------------------------------------------------------------------- clock
def now() -> pd.Timestamp:
    """Return the current time in UTC (the pinned one while a test fixes it)."""
    return _clock() if _clock is not None else pd.Timestamp.now(tz="UTC")


@contextmanager
def fixed_clock(when: Any) -> Iterator[pd.Timestamp]:
    """Pin `now()` to one instant (naive times are New York time)."""
    global _clock
    stamp = pd.Timestamp(when)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(MARKET_TZ)
    stamp = stamp.tz_convert("UTC")
    previous, _clock = _clock, (lambda: stamp)
    try:
        yield stamp
    finally:
        _clock = previous


# ---------------------------------------------------------------- calendar
@functools.lru_cache(maxsize=1)
def _calendar() -> Any:
    import exchange_calendars as xcals

    return xcals.get_calendar(CALENDAR)


def _in_calendar(day: dt.date) -> bool:
    cal = _calendar()
    return cal.first_session.date() <= day <= cal.last_session.date()


@functools.lru_cache(maxsize=8192)
def is_session(day: dt.date) -> bool:
    """Tell whether a date is an XNYS trading session (weekdays outside its range)."""
    if _in_calendar(day):
        return bool(_calendar().is_session(pd.Timestamp(day)))
    return day.weekday() < 5


@functools.lru_cache(maxsize=8192)
def session_on_or_before(day: dt.date) -> dt.date:
    """Return `day` when it is a session, else the session before it."""
    for back in range(MAX_WALK_BACK_DAYS + 1):
        candidate = day - dt.timedelta(days=back)
        if is_session(candidate):
            return candidate
    return day  # no session in ten days: only beyond any real calendar


@functools.lru_cache(maxsize=64)
def _bounds(day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    if not is_session(day):
        return None
    if _in_calendar(day):
        cal = _calendar()
        return cal.session_open(pd.Timestamp(day)), cal.session_close(pd.Timestamp(day))
    local = pd.Timestamp(day).tz_localize(MARKET_TZ)
    return (
        (local + pd.Timedelta(hours=9, minutes=30)).tz_convert("UTC"),
        (local + pd.Timedelta(hours=16)).tz_convert("UTC"),
    )


def live_cap(at: pd.Timestamp | None = None) -> tuple[dt.date, bool]:
    """Return the newest session "now" may show and whether it is still open.

    From the open on, that is today (open until the close); before the open,
    on weekends and holidays it is the last complete session.
    """
    at = now() if at is None else at
    today = at.tz_convert(MARKET_TZ).date()
    bounds = _bounds(today)
    if bounds is not None and at >= bounds[0]:
        return today, at < bounds[1]
    return session_on_or_before(today - dt.timedelta(days=1)), False


# ------------------------------------------------------------------ ranges
def stored_range(store: Any, dv: Any) -> tuple[dt.date | None, dt.date | None]:
    """Return the (oldest, newest) stored session, memoised per data version."""
    key = (id(store), dv.key)
    hit = _range_memo.get(key)
    if hit is not None:
        return hit
    newest = dv.newest_daily
    if dv.newest_minute is not None:
        minute_day = dv.newest_minute.tz_convert(MARKET_TZ).date()
        newest = minute_day if newest is None else max(newest, minute_day)
    oldest = store.oldest_daily()
    if oldest is None and newest is not None:
        oldest = newest if dv.newest_daily is None else dv.newest_daily
    if len(_range_memo) >= RANGE_MEMO_SIZE:
        _range_memo.clear()
    _range_memo[key] = (oldest, newest)
    return oldest, newest


@dataclass(frozen=True)
class Resolved:
    """An as_of turned into a session: the timestamp to use and its session."""

    ts: pd.Timestamp | None
    is_minute: bool
    session: dt.date | None
    closed: bool


def resolve(
    store: Any, dv: Any, ts: pd.Timestamp | None, is_minute: bool, newest: Any
) -> Resolved:
    """Resolve a parsed as_of (None = now) against the calendar and stored range.

    `newest` is the newest session with any stored or live bar (for "now").
    """
    if ts is None:
        if newest is None:
            return Resolved(None, False, None, False)
        cap, open_now = live_cap()
        session = min(newest, cap)
        return Resolved(None, False, session, not (open_now and session == cap))
    day = ts.date()
    session = session_on_or_before(day)
    oldest, last = stored_range(store, dv)
    if last is None:
        raise AsOfOutOfRange(f"as_of={day}: no bars are stored yet", None, None)
    if session > last or day < oldest:
        asked = ts.strftime("%Y-%m-%dT%H:%M") if is_minute else day.isoformat()
        raise AsOfOutOfRange(
            f"as_of={asked} is outside the stored data ({oldest} .. {last})",
            oldest,
            last,
        )
    if is_minute and session == day:
        _require_minute_bars(store, dv, ts, session)
        return Resolved(ts, True, session, True)
    return Resolved(pd.Timestamp(session), False, session, True)


def _require_minute_bars(
    store: Any, dv: Any, ts: pd.Timestamp, session: dt.date
) -> None:
    """Refuse a minute as_of of a past session that has no minute bars up to it."""
    if session >= live_cap()[0]:
        return  # today's bars may still be in progress (live bars, not stored yet)
    bounds = _bounds(session)
    start = bounds[0] if bounds else pd.Timestamp(session).tz_localize("UTC")
    at = ts if ts.tzinfo else ts.tz_localize(MARKET_TZ)
    key = ("minute", id(store), dv.key, session, at)
    if key not in _range_memo:
        if len(_range_memo) >= RANGE_MEMO_SIZE:
            _range_memo.clear()
        _range_memo[key] = (store.minute_bar_count(start, at), None)
    if _range_memo[key][0]:
        return
    first, last = store.minute_range()
    first_day, last_day = (
        None if t is None else pd.Timestamp(t).tz_convert(MARKET_TZ).date()
        for t in (first, last)
    )
    stored = f"{first_day} .. {last_day}" if first_day else "none"
    raise AsOfOutOfRange(
        f"as_of={ts.strftime('%Y-%m-%dT%H:%M')}: no minute bars are stored for "
        f"{session} up to that minute (minute bars: {stored}); ask for the date "
        f"{session} for its end-of-day state",
        first_day,
        last_day,
    )


def parse_as_of(as_of: Any) -> tuple[str, pd.Timestamp | None, bool]:
    """Return (normalised label, timestamp or None for now, is_minute)."""
    if as_of is None or (
        isinstance(as_of, str) and as_of.strip().lower() in ("", "now")
    ):
        return "now", None, False
    text = str(as_of).strip()
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise BadRequest(
            f"as_of={text!r} is not a date (YYYY-MM-DD) or minute (YYYY-MM-DDTHH:MM)"
        ) from exc
    if ts is pd.NaT or ts.year < 1990 or ts.year > 2100:
        raise BadRequest(f"as_of={text!r} is out of range")
    is_minute = len(text) > 10
    if not is_minute:
        return ts.date().isoformat(), ts.normalize(), False
    ts = ts.tz_localize(MARKET_TZ) if ts.tzinfo is None else ts.tz_convert(MARKET_TZ)
    ts = ts.floor("min")
    return ts.strftime("%Y-%m-%dT%H:%M"), ts, True
