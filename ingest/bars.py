"""Decode Massive frames and assemble minute bars (finished `AM`, live from `A`).

`BarAssembler.feed(frame)` is the hot path of live ingest: one `orjson.loads`
per frame, then a tight loop that takes a valid `A` event's fields in one
`itemgetter` call, checks them inline and folds them; every other event goes to
the slow path (`ingest.bars_events`). It

* turns each `AM` event into a finished bar row keyed (symbol, s = minute start)
  for the writer; re-sent corrections simply produce a newer row for the same key;
* folds each `A` (per-second) event into the live bar of its symbol's minute.
  The per-second bars of the minute are kept keyed by their `s`, so a re-sent
  second replaces its earlier version and the minute is recomputed from the
  seconds: nothing is ever summed twice;
* counts malformed and unknown events and skips them; status events are
  returned to the caller (the stream client handles the handshake).

A minute whose `AM` never arrives is written from its per-second bars once the
stream clock passed its end plus a grace period (`expire`), unless the minute
was not fully observed (the connection dropped during it): those are left to
the REST gap backfill, which has the exact bar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

import orjson

from dashapp.store.livebars import LiveBar, LiveBarStore
from ingest.bars_events import FrameEvents, numbers
from ingest.minute_state import (
    MS_PER_MINUTE,
    BarRow,
    MinuteState,
    minute_session,
    pack_second,
)
from ingest.validate import MAX_VOLUME, FeedValidator

log = logging.getLogger(__name__)

DEFAULT_GRACE_MS = 10_000
_loads = orjson.loads
_DecodeError = orjson.JSONDecodeError
# An A event's fields in one C call (KeyError/TypeError: the slow path). The
# key strings are orjson's own: it reuses one object per key from frame to
# frame, so each lookup matches by identity instead of comparing characters.
A_FIELDS = ("ev", "sym", "s", "o", "h", "l", "c", "v", "vw", "e")
_fields = itemgetter(*_loads(orjson.dumps(dict.fromkeys(A_FIELDS, 0))))
_NO_STATUS: list[dict] = []
_NO_BOUNDS = ((0, 0), (0, 0))


class BarAssembler(FrameEvents):
    """Frame decoder + minute roll-up + live bars; single-threaded (the reader)."""

    def __init__(
        self,
        emit: Callable[[list[BarRow]], Any],
        live: LiveBarStore | None = None,
        grace_ms: int = DEFAULT_GRACE_MS,
        validator: FeedValidator | None = None,
    ) -> None:
        self.emit = emit
        self.validator = validator
        self.live = live
        self.grace_ms = int(grace_ms)
        self.states: dict[str, MinuteState] = {}
        self.pending: dict[tuple[str, int], MinuteState] = {}
        self._seen: set[str] = set()  # symbols with an A event on this connection
        self._touched: dict[str, MinuteState] = {}
        self._final: dict[str, LiveBar] = {}
        self.stream_ms = 0  # newest event end time seen: the stream clock
        self.last_am_minute: int | None = None
        self.newest_am_since_connect: int | None = None
        self.am_symbols: set[str] = set()
        self.last_wall: dict[str, float | None] = {"A": None, "AM": None}
        self.counts = {
            "frames": 0,
            "bad_frames": 0,
            "events_A": 0,
            "events_AM": 0,
            "status": 0,
            "malformed": 0,
            "unknown": 0,
            "late_seconds": 0,
            "resent_seconds": 0,
            "rollups": 0,
            "skipped_incomplete": 0,
        }
        self._init_events()

    # ---------------------------------------------------------------- frames
    def feed(self, raw: bytes | str) -> list[dict]:
        """Process one WebSocket frame; return its status events (usually none)."""
        counts = self.counts
        counts["frames"] += 1
        try:
            events = _loads(raw)
        except _DecodeError:
            counts["bad_frames"] += 1
            self._warn(
                "not_json", "skipped a frame that is not JSON (%d bytes)", len(raw)
            )
            return _NO_STATUS
        if type(events) is not list:
            counts["bad_frames"] += 1
            self._warn("not_array", "skipped a frame that is not a JSON array")
            return _NO_STATUS
        states = self.states
        touched = self._touched
        other = self.event
        fields = _fields
        pack = pack_second
        max_volume = MAX_VOLUME
        skipped = 0  # events not folded as A bars
        top = -1000  # newest A second folded in this frame
        check = self.validator
        if check is not None:
            bounds = check.windows()
            a_lo, a_hi = bounds[0]
        else:
            bounds = _NO_BOUNDS
        for ev in events:
            try:
                kind, sym, s, o, h, lo, c, v, vw, e = fields(ev)
            except (KeyError, TypeError):
                kind = None
            if kind != "A":
                bar = other(ev, bounds)
                if bar is None:
                    skipped += 1
                    continue
                sym, s, o, h, lo, c, v, vw = bar
                st = states.get(sym)
            elif check is not None:
                # Shortcut of FeedValidator.reason: never accepts more. A
                # non-number raises TypeError here; orjson never decodes an
                # infinity or NaN, so prices need no finiteness check. Only
                # validated symbols have a state: a state means a known symbol.
                try:
                    st = states[sym]
                    ok = (
                        type(s) is int
                        and a_lo <= s <= a_hi
                        and e == s + 1000
                        and not s % 1000
                        and 0.0 < lo <= o <= h
                        and lo <= c <= h
                        and 0 <= v <= max_volume
                        and 0.0 <= vw
                        # A bool is 0 or 1: only values that small need a
                        # type check (low > 1 puts open, high, close above 1).
                        and (
                            lo > 1.0
                            or (
                                type(o) is not bool
                                and type(h) is not bool
                                and type(lo) is not bool
                                and type(c) is not bool
                            )
                        )
                        and (v > 1 or type(v) is not bool)
                        and (vw > 1.0 or type(vw) is not bool)
                    )
                except (KeyError, TypeError):
                    ok = False
                if not ok:
                    bar = other(ev, bounds)
                    if bar is None:
                        skipped += 1
                        continue
                    st = states.get(sym)
            elif (
                type(s) is not int
                or type(sym) is not str
                or not numbers(o, h, lo, c, v, vw)
            ):
                self._bad += 1
                skipped += 1
                continue
            else:
                st = states.get(sym)
            pv = vw * v
            if st is not None and st.last_s < s < st.end:
                # The common case: the next second of the current minute.
                st.secs[s] = pack(o, h, lo, c, v, pv)
                st.last_s = s
                st.close = c
                if h > st.high:
                    st.high = h
                if lo < st.low:
                    st.low = lo
                st.volume += v
                st.pv += pv
            else:
                st = self._other_second(sym, st, s, (o, h, lo, c, v, pv))
                if st is None:
                    skipped += 1
                    continue
            touched[sym] = st
            if s > top:
                top = s
        return self._frame_done(len(events) - skipped, top)

    def _frame_done(self, n_a: int, top: int) -> list[dict]:
        """Count the frame, move the stream clock, hand over its AM bars."""
        counts = self.counts
        if top + 1000 > self.stream_ms:
            self.stream_ms = top + 1000
        if n_a:
            counts["events_A"] += n_a
            self.last_wall["A"] = time.time()
        rows = self._am_rows
        if rows:
            self._am_rows = []
            counts["events_AM"] += len(rows)
            self.last_wall["AM"] = time.time()
        statuses = self._statuses
        if statuses:
            self._statuses = []
            counts["status"] += len(statuses)
        else:
            statuses = _NO_STATUS
        bad, self._bad = self._bad, 0
        if bad:
            counts["malformed"] += bad
            self._warn("malformed", "skipped %d malformed event(s) in a frame", bad)
        if rows:
            self._finished(rows)
        return statuses

    def _other_second(
        self, sym: str, st: MinuteState | None, s: int, bar: tuple
    ) -> MinuteState | None:
        """Fold a second that is not the next one of the current minute (rare)."""
        minute = s - s % MS_PER_MINUTE
        if st is None or st.minute != minute:
            st = self._switch(sym, st, minute)
            if st is None:
                return None
        if st.fold(s, bar):
            self.counts["resent_seconds"] += 1
        return st

    def _switch(
        self, sym: str, st: MinuteState | None, minute: int
    ) -> MinuteState | None:
        """Return the state an A event of `minute` folds into (rare path)."""
        if st is not None and minute < st.minute:
            old = self.pending.get((sym, minute))
            if old is None or old.am or old.done:
                self.counts["late_seconds"] += 1
                return None
            return old
        if st is not None and not (st.am or st.done):
            self.pending[(sym, st.minute)] = st
        first_on_connection = sym not in self._seen
        if first_on_connection:
            self._seen.add(sym)
        new = MinuteState(sym, minute, incomplete=first_on_connection)
        self.states[sym] = new
        return new

    def _finished(self, rows: list[BarRow]) -> None:
        """Hand AM bars to the writer; they settle their minutes' live state."""
        states, pending, final = self.states, self.pending, self._final
        newest = self.last_am_minute or 0
        for row in rows:
            sym, minute = row[0], row[1]
            st = states.get(sym)
            if st is not None and st.minute == minute:
                st.am = True
            else:
                old = pending.pop((sym, minute), None)
                if old is not None:
                    old.am = True
            final[sym] = LiveBar(
                sym, minute, *row[2:9], True, self.stream_ms, minute_session(minute)
            )
            if minute > newest:
                newest = minute
        self.last_am_minute = newest
        since = self.newest_am_since_connect
        if since is None or newest > since:
            self.newest_am_since_connect = max(r[1] for r in rows)
        self.am_symbols.update(r[0] for r in rows)
        self.emit(rows)

    # ----------------------------------------------------------- periodic
    def expire(self, now_ms: int | None = None) -> int:
        """Write roll-ups of minutes whose AM is overdue; return how many."""
        now = self.stream_ms if now_ms is None else now_ms
        cutoff = now - self.grace_ms - MS_PER_MINUTE  # minute start at or before
        rows: list[BarRow] = []
        for key in [k for k, st in self.pending.items() if st.minute <= cutoff]:
            self._roll_up(self.pending.pop(key), rows)
        for st in self.states.values():
            if st.minute <= cutoff and not (st.am or st.done):
                self._roll_up(st, rows)
        if rows:
            self.counts["rollups"] += len(rows)
            log.info("wrote %d minute bar(s) rolled up from per-second bars", len(rows))
            self.emit(rows)
        return len(rows)

    def _roll_up(self, st: MinuteState, rows: list[BarRow]) -> None:
        if st.am or st.done:
            return
        st.done = True
        if st.incomplete or not st.secs:
            self.counts["skipped_incomplete"] += 1
            return
        rows.append(st.row())
        self._touched[st.symbol] = st

    def publish(self, now_ms: int) -> int:
        """Push changed live bars to the live-bar store; return how many."""
        if self.live is None:
            self._touched.clear()
            self._final.clear()
            return 0
        bars: list[LiveBar] = list(self._final.values())
        final_syms, states = self._final, self.states
        for sym in self._touched:
            st = states.get(sym)
            if st is None or (sym in final_syms and final_syms[sym].ts >= st.minute):
                continue
            bars.append(st.live_bar(now_ms))
        self._touched.clear()
        self._final.clear()
        return self.live.publish(bars) if bars else 0

    def connection_reset(self) -> None:
        """Note a new connection: minutes in progress were not fully observed."""
        for st in self.states.values():
            st.incomplete = True
        for st in self.pending.values():
            st.incomplete = True
        self._seen.clear()
        self.newest_am_since_connect = None

    def drain(self, include_open: bool = False) -> list[BarRow]:
        """Return roll-ups of ended minutes whose AM is missing (shutdown flush).

        The minute still in progress is partial; it is included only when asked.
        """
        rows: list[BarRow] = []
        open_after = self.stream_ms - MS_PER_MINUTE
        for st in list(self.pending.values()) + list(self.states.values()):
            if include_open or st.minute <= open_after:
                self._roll_up(st, rows)
        self.pending.clear()
        if rows:
            self.counts["rollups"] += len(rows)
        return rows

    def forget(self, symbols: Iterable[str]) -> None:
        """Drop the state of symbols no longer subscribed."""
        for sym in symbols:
            self.states.pop(sym, None)
            self._seen.discard(sym)
        self.pending = {k: v for k, v in self.pending.items() if k[0] in self.states}
