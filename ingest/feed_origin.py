"""Which feed live ingest may use, and where the simulator starts from.

The built-in simulator only runs over demo data or an empty store unless asked
for (`TICKSTOCK_SIMULATOR=true`): simulated prices must never sit next to real
history. When it runs it starts from the newest stored daily closes, however
old they are.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd

from dashapp.store.origin import (
    MASSIVE,
    SIMULATED,
    SIMULATED_KEY,
    fake_origins,
    has_real_bars,
)

log = logging.getLogger(__name__)

ANCHOR_CALENDAR_DAYS = 45  # enough sessions for the simulator's volatility seed
DAILY_COLUMNS = ["symbol", "date", "open", "high", "low", "close", "volume"]


def simulator_decision(mode: str, store: Any) -> tuple[bool, str]:
    """Return (may the simulator run, why) for a TICKSTOCK_SIMULATOR mode."""
    mode = (mode or "auto").lower()
    if mode == "true":
        return True, "TICKSTOCK_SIMULATOR=true"
    if mode == "false":
        return False, "TICKSTOCK_SIMULATOR=false"
    if has_real_bars(store):
        return False, (
            "real market data is stored and MASSIVE_API_KEY is unset "
            "(set TICKSTOCK_SIMULATOR=true to simulate anyway)"
        )
    return True, "demo-only or empty store"


def anchor_daily(store: Any, symbols: list[str] | None) -> pd.DataFrame | None:
    """Return the newest stored daily bars (the simulator starts from their closes)."""
    try:
        newest = store.data_version().newest_daily
        if newest is None:
            return None
        start = newest - dt.timedelta(days=ANCHOR_CALENDAR_DAYS)
        frame = store.read_daily(symbols, start=start, end=newest)
    except Exception as exc:  # no daily history yet is fine
        log.debug("no daily history for the simulator: %s", exc)
        return None
    return frame[DAILY_COLUMNS]


def mark_feed_origin(store: Any, origin: str) -> int:
    """Record which feed writes bars; a real feed removes generated bars first."""
    if origin == SIMULATED:
        store.set_meta(SIMULATED_KEY, "1")
        return 0
    if origin == MASSIVE and fake_origins(store):
        removed = store.delete_fake_bars()
        if removed:
            log.info("live Massive feed: removed %d demo/simulated bars", removed)
        return removed
    return 0
