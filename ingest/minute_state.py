"""One symbol's minute as the roll-up builds it from per-second `A` bars.

The per-second bars of the minute are kept keyed by their start, so a re-sent
second replaces its earlier version and the minute is recomputed from the
seconds: nothing is ever summed twice. Each is kept packed (six doubles in a
`bytes`), not as a tuple: a tuple kept per event is an object the garbage
collector tracks, and a busy feed would set off a collection every few frames.
"""

from __future__ import annotations

import struct

from dashapp.store.livebars import LiveBar
from ingest.sessions import session_of

MS_PER_MINUTE = 60_000
# One second's bar as kept: open, high, low, close, volume, price x volume.
SECOND = struct.Struct("6d")
pack_second = SECOND.pack

_new_tuple = tuple.__new__

# One finished bar as the writer takes it.
BarRow = tuple  # (symbol, ts_ms, open, high, low, close, volume, vwap, trades)


_SESSION_CACHE: dict[int, str] = {}
SESSION_CACHE_SIZE = 4096


def minute_session(minute_ms: int) -> str:
    """Return the session tag of a minute start (cached: one lookup per minute)."""
    tag = _SESSION_CACHE.get(minute_ms)
    if tag is None:
        if len(_SESSION_CACHE) >= SESSION_CACHE_SIZE:
            _SESSION_CACHE.clear()
        tag = _SESSION_CACHE[minute_ms] = session_of(minute_ms)
    return tag


def round4(x: float) -> float:
    """Round to 4 decimals half-to-even, as Massive prints vwap."""
    return round(x * 10_000.0) / 10_000.0


class MinuteState:
    """One symbol's minute as built from per-second bars."""

    __slots__ = (
        "symbol",
        "minute",
        "end",
        "secs",
        "first_s",
        "last_s",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "pv",
        "am",
        "done",
        "incomplete",
    )

    def __init__(self, symbol: str, minute: int, incomplete: bool) -> None:
        self.symbol = symbol
        self.minute = minute
        self.end = minute + MS_PER_MINUTE
        self.secs: dict[int, bytes] = {}  # packed: no tuple for the GC to track
        self.first_s = minute + MS_PER_MINUTE
        self.last_s = minute - 1
        self.open = 0.0
        self.high = float("-inf")
        self.low = float("inf")
        self.close = 0.0
        self.volume = 0
        self.pv = 0.0
        self.am = False  # its AM bar arrived: nothing to roll up
        self.done = False  # rolled up and handed to the writer
        self.incomplete = incomplete

    def second(self, s: int) -> tuple | None:
        """Return second `s` as (open, high, low, close, volume, pv), or None."""
        packed = self.secs.get(s)
        return None if packed is None else SECOND.unpack(packed)

    def fold(self, s: int, bar: tuple) -> bool:
        """Fold second `s` in any order; return True when it replaced a second."""
        secs = self.secs
        if s in secs:
            secs[s] = pack_second(*bar)
            self.recompute()
            return True
        secs[s] = pack_second(*bar)
        if s > self.last_s:
            self.last_s = s
            self.close = bar[3]
        if s < self.first_s:
            self.first_s = s
            self.open = bar[0]
        if bar[1] > self.high:
            self.high = bar[1]
        if bar[2] < self.low:
            self.low = bar[2]
        self.volume += bar[4]
        self.pv += bar[5]
        return False

    def recompute(self) -> None:
        """Rebuild the minute from its per-second bars (after a re-sent second)."""
        secs = {s: SECOND.unpack(b) for s, b in self.secs.items()}
        first = min(secs)
        last = max(secs)
        self.first_s, self.last_s = first, last
        self.open = secs[first][0]
        self.close = secs[last][3]
        self.high = max(b[1] for b in secs.values())
        self.low = min(b[2] for b in secs.values())
        volume = sum(b[4] for b in secs.values())
        self.volume = int(volume) if volume.is_integer() else volume
        self.pv = sum(b[5] for b in secs.values())

    def vwap(self) -> float:
        """Return the volume-weighted average price of the minute so far."""
        if self.volume > 0:
            return round4(self.pv / self.volume)
        return self.close

    def row(self) -> BarRow:
        """Return the minute as a writer row (trades unknown from A events)."""
        return (
            self.symbol,
            self.minute,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.vwap(),
            None,
        )

    def live_bar(self, now_ms: int) -> LiveBar:
        """Return the minute as an in-progress live bar."""
        # tuple.__new__ skips the NamedTuple's Python-level __new__ (hot path).
        return _new_tuple(
            LiveBar,
            (
                self.symbol,
                self.minute,
                self.open,
                self.high,
                self.low,
                self.close,
                self.volume,
                self.vwap(),
                None,
                self.am or self.done,
                now_ms,
                minute_session(self.minute),
            ),
        )
