"""A simulator start that keeps fast-simulator bars inside the feed window.

A fast simulator left to its default starts at the latest regular open, so
in the first minutes after 09:30 ET its bars run ahead of the wall clock and
the feed validator (window up to now + 5 min) rightly rejects them. Tests
that point a fast simulator at an ingest validating against the wall clock
start it at the latest regular open at least `LEAD_HOURS` ago instead: the
bars stay in the past (for up to that many simulated hours) and within the
previous session, whatever the time of day, weekday or holiday.
"""

from __future__ import annotations

import time

import pandas as pd

from ingest.synthetic import CALENDAR

LEAD_HOURS = 7
MS_PER_HOUR = 3_600_000


def past_open(now_ms: int | None = None) -> pd.Timestamp:
    """Return the latest regular-session open at least `LEAD_HOURS` before now."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    opened = CALENDAR.last_open_at_or_before(now - LEAD_HOURS * MS_PER_HOUR)
    return pd.Timestamp(opened, unit="ms", tz="UTC")
