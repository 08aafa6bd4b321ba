"""End-of-day roll-up: regular-session minute bars into one daily bar per symbol.

After the regular session closes (XNYS calendar, early closes included) the
session's `ohlcv_1min` bars with a start in [open, close) become the day's
`ohlcv_daily` row: open = first, high = max, low = min, close = last, volume =
sum, source = the origin of its minute bars (simulated minutes roll up as
simulated, so loading real history later removes every generated row at once).
Re-running writes nothing when nothing changed. Rows imported from files are
better than a minute roll-up (they include the auctions) and are kept unless
`force` is given.

`maybe_run_eod(store, now)` is the scheduler hook the ingest service calls (for
example once a minute): it rolls up each session that closed since the last
run, 16 minutes after the close (Massive corrects bars for about 15 minutes).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashapp.store import BAR_FIELDS, Store
from dashapp.store.origin import DEMO, MASSIVE, SIMULATED
from ingest.sessions import MARKET_TZ, session_bounds

log = logging.getLogger(__name__)

EOD_SOURCE = MASSIVE
DEMO_SOURCE = DEMO
# Origins a roll-up may replace; imported daily bars are kept unless forced.
REPLACEABLE = frozenset({MASSIVE, SIMULATED, DEMO})
EOD_META_KEY = "eod_last_session"
EOD_GRACE = pd.Timedelta(minutes=16)
MAX_CATCH_UP_SESSIONS = 5
MAX_SCAN_DAYS = 15
ONE_SECOND = pd.Timedelta(seconds=1)


# ----------------------------------------------------------- session helpers
def is_session(day: dt.date) -> bool:
    """Return True when `day` is an XNYS trading day."""
    return session_bounds(day) is not None


def previous_session(day: dt.date) -> dt.date:
    """Return the last XNYS session strictly before `day`."""
    for back in range(1, MAX_SCAN_DAYS):
        candidate = day - dt.timedelta(days=back)
        if is_session(candidate):
            return candidate
    raise ValueError(f"no trading session in the {MAX_SCAN_DAYS} days before {day}")


def next_session(day: dt.date) -> dt.date:
    """Return the first XNYS session strictly after `day`."""
    for ahead in range(1, MAX_SCAN_DAYS):
        candidate = day + dt.timedelta(days=ahead)
        if is_session(candidate):
            return candidate
    raise ValueError(f"no trading session in the {MAX_SCAN_DAYS} days after {day}")


def sessions_back(end: dt.date, count: int) -> list[dt.date]:
    """Return the `count` sessions ending at `end` (or the session before it)."""
    day = end if is_session(end) else previous_session(end)
    out = [day]
    while len(out) < count:
        day = previous_session(day)
        out.append(day)
    return out[::-1]


def sessions_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Return the sessions in [start, end]."""
    out, day = [], start
    while day <= end:
        if is_session(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def market_today(now: Any = None) -> dt.date:
    """Return the New York date of `now` (default: the current time)."""
    stamp = pd.Timestamp.now(tz="UTC") if now is None else _utc(now)
    return stamp.tz_convert(MARKET_TZ).date()


def last_closed_session(now: Any = None, grace: pd.Timedelta = EOD_GRACE) -> dt.date:
    """Return the newest session whose close (+ grace) is at or before `now`."""
    stamp = pd.Timestamp.now(tz="UTC") if now is None else _utc(now)
    day = market_today(stamp)
    bounds = session_bounds(day)
    if bounds is not None and bounds.close + grace <= stamp:
        return day
    return previous_session(day)


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


# ------------------------------------------------------------------ roll-up
@dataclass(frozen=True)
class EodResult:
    """What one session's roll-up did."""

    day: dt.date
    symbols: int
    written: int
    unchanged: int
    kept: int


def daily_from_minutes(minutes: pd.DataFrame) -> pd.DataFrame:
    """Roll one session's minute bars into a bar per symbol (first/max/min/last/sum)."""
    ordered = minutes.sort_values(["symbol", "ts"], kind="stable")
    grouped = ordered.groupby("symbol", sort=True)
    out = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
        }
    )
    return out.reset_index()


def rollup_session(store: Store, day: dt.date, *, force: bool = False) -> EodResult:
    """Write `day`'s regular-session roll-up into ohlcv_daily; skip unchanged rows."""
    bounds = session_bounds(day)
    if bounds is None:
        raise ValueError(f"{day} is not an XNYS trading session")
    minutes = store.read_minute(start=bounds.open, end=bounds.close - ONE_SECOND)
    if minutes.empty:
        return EodResult(day, 0, 0, 0, 0)
    bars = daily_from_minutes(minutes)
    bars["date"] = pd.Timestamp(day)
    # The roll-up inherits the origin of its minute bars.
    origins = store.minute_origins(bounds.open, bounds.close - ONE_SECOND)
    bars["source"] = bars["symbol"].map(origins).fillna(EOD_SOURCE)
    existing = store.read_daily(start=day, end=day).set_index("symbol")
    old = existing[[*BAR_FIELDS, "source"]].add_suffix("_old")
    merged = bars.join(old, on="symbol")
    present = merged["source_old"].notna() | merged["close_old"].notna()
    same = present & merged["source_old"].eq(merged["source"])
    for col in BAR_FIELDS:
        old = merged[f"{col}_old"].astype(np.float64)
        same &= np.isclose(merged[col].astype(np.float64), old, rtol=0, atol=1e-9)
    kept = present & ~merged["source_old"].isin(REPLACEABLE) & (not force) & ~same
    todo = bars[~(kept | same).to_numpy()]
    if len(todo):
        store.upsert_daily_bars(todo)
    result = EodResult(day, len(bars), len(todo), int(same.sum()), int(kept.sum()))
    log.info(
        "EOD %s: %d symbols, %d written, %d unchanged, %d kept (imported/backfilled)",
        day,
        result.symbols,
        result.written,
        result.unchanged,
        result.kept,
    )
    return result


def maybe_run_eod(store: Store, now: Any = None) -> list[EodResult]:
    """Roll up every session that closed since the last run; cheap when none did."""
    target = last_closed_session(now)
    last = store.get_meta(EOD_META_KEY)
    if last is not None and last >= target.isoformat():
        return []
    if last is None:
        todo = [target]
    else:
        after = next_session(dt.date.fromisoformat(last))
        todo = sessions_between(after, target)[-MAX_CATCH_UP_SESSIONS:]
    results = []
    for day in todo:
        results.append(rollup_session(store, day))
        store.set_meta(EOD_META_KEY, day.isoformat())
    return results


class EodScheduler:
    """Run `maybe_run_eod` about once a minute in a daemon thread (ingest leader)."""

    def __init__(
        self,
        store: Store,
        interval_s: float = 60.0,
        after: Callable[[], Any] | None = None,
    ) -> None:
        self.store = store
        self.interval_s = interval_s
        # Nightly follow-up once a session was rolled up (e.g. ingest.splits).
        self.after = after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eod", daemon=True)

    def start(self) -> EodScheduler:
        """Start the thread; return self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                results = maybe_run_eod(self.store)
                for result in results:
                    log.info("end-of-day roll-up: %s", result)
            except Exception:  # a failed roll-up is retried next minute
                log.exception("end-of-day roll-up failed")
                results = []
            if results and self.after is not None:
                try:
                    self.after()
                except Exception:  # e.g. the splits endpoint is down: try tomorrow
                    log.exception("end-of-day follow-up failed")
            self._stop.wait(self.interval_s)
