"""Validate Massive `A`/`AM` events before they reach the roll-up or the writer.

A feed event is stored only when it is a plausible bar: a symbol that fits the
column and was subscribed (any well-formed symbol under `AM.*`), finite
numbers that are not booleans, `0 < low <= min(open, close) <= max(open,
close) <= high`, `0 <= volume <= 1e12`, and start/end on the event's grid
(minute for `AM`, second for `A`) within [the previous session day, now + 5
min]. Everything else is rejected: counted by reason, the first few of each
reason logged with the raw event, never stored.

`BarAssembler.feed` runs a fast inline check on the common path and calls
`FeedValidator.reason` only when that check fails, so `reason` is the
definition and the inline check merely a shortcut that never accepts more.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from ingest import sessions

log = logging.getLogger(__name__)

SYMBOL_MAX_LEN = 24  # ohlcv_1min.symbol is VARCHAR(24)
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Za-z0-9.\-/:^=]*$")
MAX_VOLUME = 1e12
FUTURE_SLACK_MS = 5 * 60_000
GRID_MS = {"A": 1_000, "AM": 60_000}
LOG_FIRST = 5
_INF = float("inf")
KNOWN_SYMBOLS_MAX = 200_000
SESSION_LOOKBACK_DAYS = 15
WINDOW_REFRESH_MS = 60_000
PRICE_FIELDS = ("o", "h", "l", "c", "vw")
NUMBER_FIELDS = (*PRICE_FIELDS, "v")
REQUIRED = ("sym", "s", *NUMBER_FIELDS)

# Reasons, in the order they are checked.
MALFORMED = "malformed"  # not decodable: missing fields, strings for numbers
BAD_SYMBOL = "bad_symbol"
UNSUBSCRIBED = "unsubscribed"
NOT_A_NUMBER = "not_a_number"
NOT_FINITE = "not_finite"
BAD_PRICE = "bad_price"
OHLC_ORDER = "ohlc_order"
BAD_VOLUME = "bad_volume"
OFF_GRID = "off_grid"
OUT_OF_RANGE = "time_out_of_range"
REASONS = (
    MALFORMED,
    BAD_SYMBOL,
    UNSUBSCRIBED,
    NOT_A_NUMBER,
    NOT_FINITE,
    BAD_PRICE,
    OHLC_ORDER,
    BAD_VOLUME,
    OFF_GRID,
    OUT_OF_RANGE,
)


def wall_ms() -> int:
    """Return the wall clock in epoch milliseconds."""
    return int(time.time() * 1000)


def symbol_ok(sym: Any) -> bool:
    """Tell whether `sym` is a well-formed ticker that fits the symbol column."""
    return (
        type(sym) is str
        and 0 < len(sym) <= SYMBOL_MAX_LEN
        and SYMBOL_RE.match(sym) is not None
    )


def _is_number(x: Any) -> bool:
    return (type(x) is float or type(x) is int) and not isinstance(x, bool)


def previous_session_start_ms(now_ms: int) -> int:
    """Return midnight (New York) of the session day before the current one.

    The current session day is today when it trades, else the last day that
    did; bars of the session before it may still be re-sent as corrections.
    """
    day = sessions.market_date(now_ms)
    found: list[dt.date] = []
    for back in range(SESSION_LOOKBACK_DAYS):
        candidate = day - dt.timedelta(days=back)
        if sessions.session_bounds(candidate) is not None:
            found.append(candidate)
            if len(found) == 2:
                break
    start_day = found[-1] if found else day - dt.timedelta(days=1)
    midnight = dt.datetime.combine(start_day, dt.time(0))
    stamp = pd.Timestamp(midnight).tz_localize(sessions.MARKET_TZ)
    return int(stamp.value // 1_000_000)


class FeedValidator:
    """Decide whether feed events may be stored; count and log the rejects."""

    def __init__(
        self,
        symbols: Iterable[str] | None = None,
        *,
        clock_ms: Callable[[], int] = wall_ms,
        log_first: int = LOG_FIRST,
    ) -> None:
        self.subscribed: frozenset[str] | None = (
            None if symbols is None else frozenset(symbols)
        )
        self.clock_ms = clock_ms
        self.log_first = int(log_first)
        # Symbols known good: the fast path's membership test.
        self.known: set[str] = (
            set() if symbols is None else {s for s in symbols if symbol_ok(s)}
        )
        self.counts: dict[str, int] = {}
        self._lower_ms = 0
        self._lower_until = -1

    # ------------------------------------------------------------- window
    def window(self, grid_ms: int = GRID_MS["AM"]) -> tuple[int, int]:
        """Return [lowest, highest] start allowed now for events of `grid_ms`."""
        lowest, now = self._lowest_now()
        return lowest, now + FUTURE_SLACK_MS - grid_ms

    def windows(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Return the `A` and `AM` windows of one clock reading (one per frame)."""
        lowest, now = self._lowest_now()
        top = now + FUTURE_SLACK_MS
        return (lowest, top - GRID_MS["A"]), (lowest, top - GRID_MS["AM"])

    def _lowest_now(self) -> tuple[int, int]:
        now = self.clock_ms()
        if now >= self._lower_until or now < self._lower_until - WINDOW_REFRESH_MS:
            self._lower_ms = previous_session_start_ms(now)
            self._lower_until = now + WINDOW_REFRESH_MS
        return self._lower_ms, now

    # ------------------------------------------------------------- checks
    def reason(
        self, ev: Mapping[str, Any], kind: str, bounds: tuple[int, int] | None = None
    ) -> str | None:
        """Return why event `ev` of `kind` ("A"/"AM") must be rejected, or None."""
        grid = GRID_MS[kind]
        if not isinstance(ev, Mapping) or any(k not in ev for k in REQUIRED):
            return MALFORMED
        sym = ev["sym"]
        if not symbol_ok(sym):
            return BAD_SYMBOL
        if self.subscribed is not None and sym not in self.subscribed:
            return UNSUBSCRIBED
        values = [ev[k] for k in NUMBER_FIELDS]
        if not all(_is_number(x) for x in values):
            return NOT_A_NUMBER
        if not all(math.isfinite(x) for x in values):
            return NOT_FINITE
        o, h, lo, c, vw, v = values
        if not lo > 0 or vw < 0:
            return BAD_PRICE
        if not lo <= min(o, c) <= max(o, c) <= h:
            return OHLC_ORDER
        if not 0 <= v <= MAX_VOLUME:
            return BAD_VOLUME
        s, e = ev["s"], ev.get("e", None)
        if type(s) is not int or s % grid:
            return OFF_GRID
        if e is not None and (isinstance(e, bool) or e != s + grid):
            return OFF_GRID
        lowest, highest = bounds if bounds is not None else self.window(grid)
        if not lowest <= s <= highest:
            return OUT_OF_RANGE
        return None

    def accept(self, ev: Any, kind: str, bounds: tuple[int, int]) -> bool:
        """Return True when `ev` is valid; otherwise count and log it."""
        try:  # the common case, cheaply; `reason` decides everything else
            s, sym, grid = ev["s"], ev["sym"], GRID_MS[kind]
            o, h, lo, c, v, vw = ev["o"], ev["h"], ev["l"], ev["c"], ev["v"], ev["vw"]
            if (
                type(s) is int
                and type(sym) is str
                and sym in self.known
                and bounds[0] <= s <= bounds[1]
                and not s % grid
                and 0.0 < lo <= o <= h
                and lo <= c <= h < _INF
                and 0 <= v <= MAX_VOLUME
                and 0.0 <= vw < _INF
                and ev.get("e", s + grid) == s + grid
                and type(o) is not bool
                and type(h) is not bool
                and type(lo) is not bool
                and type(c) is not bool
                and type(v) is not bool
                and type(vw) is not bool
            ):
                return True
        except (KeyError, TypeError):
            pass
        why = self.reason(ev, kind, bounds)
        if why is None:
            if len(self.known) < KNOWN_SYMBOLS_MAX:
                self.known.add(ev["sym"])
            return True
        self.reject(why, ev)
        return False

    def reject(self, reason: str, ev: Any) -> None:
        """Count one rejected event; log the first few of each reason."""
        n = self.counts.get(reason, 0) + 1
        self.counts[reason] = n
        if n <= self.log_first:
            log.warning(
                "rejected feed event (%s, #%d of this reason): %.500r", reason, n, ev
            )

    @property
    def rejected(self) -> int:
        """Return how many events were rejected in total."""
        return sum(self.counts.values())
