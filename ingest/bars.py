"""Decode Massive frames and assemble minute bars (finished `AM`, live from `A`).

`BarAssembler.feed(frame)` is the hot path of live ingest: one `orjson.loads`
per frame, then a tight loop with no per-event objects beyond what the decoder
makes. It

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
from typing import Any

import orjson

from dashapp.store.livebars import LiveBar, LiveBarStore
from ingest.minute_state import MS_PER_MINUTE, BarRow, MinuteState, minute_session
from ingest.validate import GRID_MS, MALFORMED, MAX_VOLUME, FeedValidator

log = logging.getLogger(__name__)

DEFAULT_GRACE_MS = 10_000
UNKNOWN_KINDS_KEPT = 32
WARN_EVERY_S = 10.0
_loads = orjson.loads
_DecodeError = orjson.JSONDecodeError
_NO_STATUS: list[dict] = []
_INF = float("inf")


class BarAssembler:
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
        self.unknown_kinds: dict[str, int] = {}
        self._warned: dict[str, float] = {}

    def _warn(self, key: str, message: str, *args: Any) -> None:
        """Log a warning at most once per WARN_EVERY_S per kind (counts go on)."""
        now = time.monotonic()
        if now >= self._warned.get(key, 0.0):
            self._warned[key] = now + WARN_EVERY_S
            total = self.counts["bad_frames"] + self.counts["malformed"]
            log.warning(message + " (%d bad so far)", *args, total)

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
        statuses = _NO_STATUS
        states = self.states
        touched = self._touched
        rows: list[BarRow] | None = None
        n_a = n_am = bad = 0
        stream_ms = self.stream_ms
        check = self.validator
        if check is not None:
            known = check.known
            a_bounds = check.window(GRID_MS["A"])
            am_bounds = check.window(GRID_MS["AM"])
            a_lo, a_hi = a_bounds
        for ev in events:
            if type(ev) is not dict:
                bad += 1
                continue
            kind = ev.get("ev")
            if kind == "A":
                try:
                    sym = ev["sym"]
                    s = ev["s"]
                    o = ev["o"]
                    h = ev["h"]
                    lo = ev["l"]
                    c = ev["c"]
                    v = ev["v"]
                    vw = ev["vw"]
                    pv = vw * v + 0.0
                    o + h + lo + c + v + 0.0  # noqa: B018 - TypeError on non-numbers
                except (KeyError, TypeError):
                    bad += 1
                    if check is not None:
                        check.reject(MALFORMED, ev)
                    continue
                if check is not None:
                    # Shortcut of FeedValidator.reason: never accepts more.
                    if not (
                        type(s) is int
                        and type(sym) is str
                        and sym in known
                        and a_lo <= s <= a_hi
                        and not s % 1000
                        and 0.0 < lo <= o <= h
                        and lo <= c <= h < _INF
                        and 0 <= v <= MAX_VOLUME
                        and 0.0 <= vw < _INF
                        and ev.get("e") == s + 1000
                        # A bool is 0 or 1: only values that small need a type
                        # check (low > 1 puts open, high and close above 1).
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
                    ) and not check.accept(ev, "A", a_bounds):
                        continue
                elif type(s) is not int or type(sym) is not str:
                    bad += 1
                    continue
                minute = s - s % MS_PER_MINUTE
                st = states.get(sym)
                if st is None or st.minute != minute:
                    st = self._switch(sym, st, minute)
                    if st is None:
                        continue
                n_a += 1
                secs = st.secs
                if s in secs:
                    secs[s] = (o, h, lo, c, v, pv)
                    st.recompute()
                    self.counts["resent_seconds"] += 1
                else:
                    secs[s] = (o, h, lo, c, v, pv)
                    if s > st.last_s:
                        st.last_s = s
                        st.close = c
                    if s < st.first_s:
                        st.first_s = s
                        st.open = o
                    if h > st.high:
                        st.high = h
                    if lo < st.low:
                        st.low = lo
                    st.volume += v
                    st.pv += pv
                touched[sym] = st
                if s + 1000 > stream_ms:
                    stream_ms = s + 1000
            elif kind == "AM":
                row = self._minute_row(ev)
                if row is None:
                    bad += 1
                    if check is not None:
                        check.reject(MALFORMED, ev)
                    continue
                if check is not None:
                    if not check.accept(ev, "AM", am_bounds):
                        continue
                elif type(row[1]) is not int or row[1] % MS_PER_MINUTE:
                    bad += 1
                    continue
                n_am += 1
                if rows is None:
                    rows = []
                rows.append(row)
                if row[1] + MS_PER_MINUTE > stream_ms:
                    stream_ms = row[1] + MS_PER_MINUTE
            elif kind == "status":
                if statuses is _NO_STATUS:
                    statuses = []
                statuses.append(ev)
            else:
                self._unknown(kind)
        self.stream_ms = stream_ms
        if n_a:
            counts["events_A"] += n_a
            self.last_wall["A"] = time.time()
        if n_am:
            counts["events_AM"] += n_am
            self.last_wall["AM"] = time.time()
        counts["status"] += len(statuses)
        if bad:
            counts["malformed"] += bad
            self._warn("malformed", "skipped %d malformed event(s) in a frame", bad)
        if rows is not None:
            self._finished(rows)
        return statuses

    def _minute_row(self, ev: dict) -> BarRow | None:
        try:
            sym = ev["sym"]
            s = ev["s"]
            row = (
                sym,
                s,
                ev["o"] + 0.0,
                ev["h"] + 0.0,
                ev["l"] + 0.0,
                ev["c"] + 0.0,
                ev["v"] + 0,
                ev["vw"] + 0.0,
                None,
            )
        except (KeyError, TypeError):
            return None
        if type(sym) is not str:
            return None
        return row

    def _unknown(self, kind: Any) -> None:
        self.counts["unknown"] += 1
        name = kind if isinstance(kind, str) else type(kind).__name__
        if name in self.unknown_kinds or len(self.unknown_kinds) < UNKNOWN_KINDS_KEPT:
            self.unknown_kinds[name] = self.unknown_kinds.get(name, 0) + 1
        if self.unknown_kinds.get(name, 0) <= 1:
            log.warning("skipping unknown event type %r", name)

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
