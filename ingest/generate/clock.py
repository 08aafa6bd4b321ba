"""The market clock of the per-second generators: ET times, sessions, day shape.

Epoch-ms <-> America/New_York helpers, the NYSE session calendar (holidays,
early closes; a weekday rule where `exchange_calendars` cannot answer) and the
intraday profile: each minute's share of the day's volume and its volatility
multiplier (a U shape in the regular session, thinner extended hours, a trickle
overnight for the 24/7 demo).
"""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

ET = ZoneInfo("America/New_York")
SECONDS = 60
MS_PER_SECOND = 1000
MS_PER_MINUTE = 60_000
HOURS_MODES = ("all", "extended", "regular")

EXTENDED_OPEN_MIN = 4 * 60
REGULAR_OPEN_MIN = 9 * 60 + 30
REGULAR_CLOSE_MIN = 16 * 60
EXTENDED_CLOSE_MIN = 20 * 60

# Share of a day's volume by session part; overnight is per minute (24/7 demo).
REGULAR_SHARE = 0.88
PRE_SHARE = 0.05
POST_SHARE = 0.07
OVERNIGHT_MINUTE_SHARE = 1e-4
# Volatility multipliers outside the regular session.
EXTENDED_VOL_MULT = 0.5
OVERNIGHT_VOL_MULT = 0.25


def et_datetime(ms: int) -> datetime:
    """Return the America/New_York wall time of an epoch-ms instant."""
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC).astimezone(ET)


def et_midnight_ms(d: date) -> int:
    """Return epoch ms of midnight America/New_York on date `d`."""
    return int(datetime(d.year, d.month, d.day, tzinfo=ET).timestamp() * 1000)


def to_epoch_ms(value: datetime | date | str | int | float | pd.Timestamp) -> int:
    """Convert a datetime, date (midnight ET), ISO string or epoch ms to epoch ms."""
    if isinstance(value, int | float | np.integer | np.floating):
        return int(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return et_midnight_ms(value)
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize(ET)
    return int(ts.value // 1_000_000)


class SessionCalendar:
    """NYSE sessions (holidays, early closes) with a weekday fallback."""

    def __init__(self) -> None:
        self._sessions: dict[date, tuple[int, int] | None] = {}
        self._cal = None
        self._bounds: tuple[date, date] | None = None

    def regular_minutes(self, d: date) -> tuple[int, int] | None:
        """Return (open, close) minute-of-day ET of the session on `d`, else None."""
        if d not in self._sessions:
            self._sessions[d] = self._lookup(d)
        return self._sessions[d]

    def _lookup(self, d: date) -> tuple[int, int] | None:
        cal = self._calendar(d)
        if cal is None:
            if d.weekday() >= 5:
                return None
            return REGULAR_OPEN_MIN, REGULAR_CLOSE_MIN
        day = pd.Timestamp(d)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library's own pandas deprecations
            if not cal.is_session(day):
                return None
            opened = cal.session_open(day).tz_convert(ET)
            closed = cal.session_close(day).tz_convert(ET)
        return opened.hour * 60 + opened.minute, closed.hour * 60 + closed.minute

    def _calendar(self, d: date):
        if self._bounds and self._bounds[0] <= d <= self._bounds[1]:
            return self._cal
        try:
            import exchange_calendars as xcals

            lo = min(d, date.today()) - timedelta(days=400)
            hi = max(d, date.today()) + timedelta(days=400)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cal = xcals.get_calendar(
                    "XNYS", start=lo.isoformat(), end=hi.isoformat()
                )
            first, last = cal.first_session.date(), cal.last_session.date()
        except Exception as exc:  # noqa: BLE001 - any calendar failure: weekday rule
            log.debug("exchange calendar unavailable for %s: %s", d, exc)
            return None
        self._cal, self._bounds = cal, (first, last)
        return cal if first <= d <= last else None

    def phase(self, minute_ms: int) -> tuple[str, float]:
        """Return (pre|regular|post|closed, position 0..1 within the part)."""
        local = et_datetime(minute_ms)
        mod = local.hour * 60 + local.minute
        bounds = self.regular_minutes(local.date())
        if bounds is None:
            return "closed", 0.0
        opened, closed = bounds
        if opened <= mod < closed:
            return "regular", (mod - opened + 0.5) / (closed - opened)
        if EXTENDED_OPEN_MIN <= mod < opened:
            return "pre", (mod - EXTENDED_OPEN_MIN + 0.5) / (opened - EXTENDED_OPEN_MIN)
        if closed <= mod < EXTENDED_CLOSE_MIN:
            return "post", (mod - closed + 0.5) / (EXTENDED_CLOSE_MIN - closed)
        return "closed", 0.0

    def session_length(self, minute_ms: int) -> tuple[int, int, int]:
        """Return the minute counts of (pre, regular, post) on this minute's date."""
        bounds = self.regular_minutes(et_datetime(minute_ms).date())
        opened, closed = bounds or (REGULAR_OPEN_MIN, REGULAR_CLOSE_MIN)
        return (
            opened - EXTENDED_OPEN_MIN,
            closed - opened,
            EXTENDED_CLOSE_MIN - closed,
        )

    def is_open(self, minute_ms: int, hours: str) -> bool:
        """Tell whether the minute is traded under `hours` (all|extended|regular)."""
        if hours == "all":
            return True
        part, _ = self.phase(minute_ms)
        if hours == "regular":
            return part == "regular"
        return part != "closed"

    def is_regular(self, minute_ms: int) -> bool:
        """Tell whether the minute lies in the regular session."""
        return self.phase(minute_ms)[0] == "regular"

    def last_open_at_or_before(self, ms: int) -> int:
        """Return epoch ms of the latest regular-session open at or before `ms`."""
        d = et_datetime(ms).date()
        for back in range(30):
            day = d - timedelta(days=back)
            bounds = self.regular_minutes(day)
            if bounds is None:
                continue
            opened = et_midnight_ms(day) + bounds[0] * MS_PER_MINUTE
            if opened <= ms:
                return opened
        return ms - ms % MS_PER_MINUTE


CALENDAR = SessionCalendar()


def _u_shape(x: np.ndarray | float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return 0.55 + 2.2 * np.exp(-x / 0.035) + 1.1 * np.exp(-(1.0 - x) / 0.03)


_U_MEAN = float(_u_shape((np.arange(390) + 0.5) / 390).mean())


def intraday_profile(
    minute_ms: int, calendar: SessionCalendar = CALENDAR
) -> tuple[float, float]:
    """Return (fraction of daily volume, volatility multiplier) for one minute."""
    part, x = calendar.phase(minute_ms)
    if part == "closed":
        return OVERNIGHT_MINUTE_SHARE, OVERNIGHT_VOL_MULT
    pre, regular, post = calendar.session_length(minute_ms)
    if part == "regular":
        u = float(_u_shape(x))
        vol_mult = float(np.clip(np.sqrt(u / _U_MEAN), 0.6, 2.5))
        return REGULAR_SHARE * u / (_U_MEAN * regular), vol_mult
    if part == "pre":
        ramp = 0.2 + 1.6 * x  # mean 1: volume builds toward the open
        return PRE_SHARE * ramp / pre, EXTENDED_VOL_MULT
    fade = 1.8 - 1.6 * x  # mean 1: volume fades after the close
    return POST_SHARE * fade / post, EXTENDED_VOL_MULT
