"""The session clock: which minutes trade, when they are generated and sent."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pandas as pd

from ingest.simulator.minutes import Minute, build_minute
from ingest.synthetic import (
    CALENDAR,
    MS_PER_MINUTE,
    MS_PER_SECOND,
    SECONDS,
    to_epoch_ms,
)

MAX_CATCH_UP_MINUTES = 5
LOOKAHEAD_SCAN_MINUTES = 60 * 24 * 30


class SessionClock:
    """Generate the market's minutes and pace them (mixed into `Simulator`).

    Works on the facade's state (`_market`, `_truth`, `_day`, `_encoder`,
    `_emit_lock`, ...) and sends through `WebSocketServer._deliver`.
    """

    def _initial_minute(self) -> int | None:
        """Return the first minute the clock will emit."""
        if self._replay:
            first = self._market.next_minute(None)
            if (
                self._start_ms is not None
                and first is not None
                and first < self._start_ms
            ):
                first = self._market.next_minute(self._start_ms - 1)
            return first
        if self._start_ms is not None:
            start = self._start_ms - self._start_ms % MS_PER_MINUTE
        elif self._wall_locked:
            now = int(time.time() * 1000)
            start = now - now % MS_PER_MINUTE
        else:
            start = CALENDAR.last_open_at_or_before(int(time.time() * 1000))
        return self._open_at_or_after(start)

    def _open_at_or_after(self, ms: int) -> int | None:
        for k in range(LOOKAHEAD_SCAN_MINUTES):
            m = ms + k * MS_PER_MINUTE
            if CALENDAR.is_open(m, self.hours):
                return m
        return None

    def _following_minute(self, after_ms: int | None) -> int | None:
        """Return the next minute to generate after `after_ms` (None: the first)."""
        if after_ms is None:
            return self._initial_minute()
        if self._replay:
            return self._market.next_minute(after_ms)
        return self._open_at_or_after(after_ms + MS_PER_MINUTE)

    def _backfill(self) -> None:
        """Silently generate `backfill_minutes` open minutes before the start."""
        if not self._backfill_minutes or self._replay or self._gen_ms is not None:
            return
        first = self._initial_minute()
        if first is None:
            return
        minutes: list[int] = []
        m = first - MS_PER_MINUTE
        while len(minutes) < self._backfill_minutes and first - m < 60 * 86_400_000:
            if CALENDAR.is_open(m, self.hours):
                minutes.append(m)
            m -= MS_PER_MINUTE
        for m in reversed(minutes):
            self._truth.add(self._generate(m))
        self._gen_ms = minutes[0] if minutes else None
        self._next_first = first

    def _generate(self, minute_ms: int, first_second: int = 0) -> Minute:
        sb = self._market.generate(minute_ms)
        if first_second:
            sb = sb.keep_from(first_second)
        self._gen_ms = minute_ms
        regular = CALENDAR.is_regular(minute_ms)
        return build_minute(sb, self._day, self._encoder, regular)

    def _generate_next(self) -> Minute | None:
        nxt = self._next_first
        if nxt is not None:
            self._next_first = None
        else:
            nxt = self._following_minute(self._gen_ms)
        return None if nxt is None else self._generate(nxt)

    def _sim_now_ms(self) -> int:
        if self._wall_locked:
            return int(time.time() * 1000)
        wall0, sim0 = self._clock_anchor
        return sim0 + int((time.monotonic() - wall0) * 1000 * (self.speed or 1.0))

    def _anchor(self, sim_ms: int) -> None:
        self._clock_anchor = (time.monotonic(), sim_ms)

    def now(self) -> pd.Timestamp:
        """Return the simulated time (fast mode: the end of the last minute sent)."""
        if self.is_fast:
            last = self._truth.latest()
            ms = (
                (last + MS_PER_MINUTE)
                if last is not None
                else (self._initial_minute() or 0)
            )
            return pd.Timestamp(ms, unit="ms", tz="UTC")
        return pd.Timestamp(self._sim_now_ms(), unit="ms", tz="UTC")

    async def _run_clock(self) -> None:
        """Emit A each simulated second and AM after each simulated minute."""
        nxt = self._next_first or self._following_minute(self._gen_ms)
        self._next_first = None
        if nxt is not None and not self._wall_locked:
            self._anchor(nxt)
        first = True
        while True:
            if nxt is None:
                self.finished.set()
                await asyncio.sleep(0.5)
                continue
            now = self._sim_now_ms()
            if nxt > now:
                if self._wall_locked:
                    await asyncio.sleep(min((nxt - now) / 1000, 1.0))
                    continue
                self._anchor(nxt)
                now = nxt
            if self._wall_locked and now - nxt > MAX_CATCH_UP_MINUTES * MS_PER_MINUTE:
                nxt = self._open_at_or_after(now - now % MS_PER_MINUTE)
                continue
            if self._wall_locked and nxt + MS_PER_MINUTE <= now:
                # Minutes that passed while the server was down: record, don't send.
                self._truth.add(self._generate(nxt))
                nxt = self._following_minute(nxt)
                continue
            skip = (
                (now - nxt) // MS_PER_SECOND + 1 if first and self._wall_locked else 0
            )
            minute = self._generate(nxt, int(min(skip, SECONDS)))
            first = False
            await self._play_minute(minute)
            nxt = self._following_minute(minute.minute_ms)

    async def _play_minute(self, minute: Minute) -> None:
        """Emit a minute's seconds as the clock reaches them, then its AM."""
        self._playing = minute
        while True:
            now = self._sim_now_ms()
            due = min(max((now - minute.minute_ms) // MS_PER_SECOND, 0), SECONDS)
            async with self._emit_lock:
                while minute.sent < due:
                    await self._emit_second(minute, minute.sent, block=False)
                    minute.sent += 1
                if due >= SECONDS:
                    await self._finish_minute(minute, block=False)
                    self._playing = None
                    return
            next_edge = minute.minute_ms + (minute.sent + 1) * MS_PER_SECOND
            wait = (next_edge - now) / 1000 / (1.0 if self._wall_locked else self.speed)
            await asyncio.sleep(max(wait, 0.0005))

    async def _emit_second(self, minute: Minute, j: int, block: bool) -> None:
        rows = minute.second_rows(j)
        if rows.stop > rows.start:
            await self._deliver(
                "A", minute.a_sym[rows], lambda sel: minute.encode_a(j, sel), block
            )

    async def _finish_minute(self, minute: Minute, block: bool) -> None:
        minute.sent = SECONDS
        self._truth.add(minute)
        self._stats["minutes"] += 1
        await self._deliver("AM", minute.bars.sym_idx, minute.encode_am, block)

    async def aadvance(self, minutes: int | None = None, until: Any = None) -> int:
        """Emit the next minutes now (fast mode); return how many were emitted.

        `minutes` caps the count, `until` (exclusive) the time; with neither,
        one minute. A replay runs out at the end of its file.
        """
        if not self.is_fast:
            raise RuntimeError("advance() needs speed='fast'")
        if minutes is None and until is None:
            minutes = 1
        end_ms = to_epoch_ms(until) if until is not None else None
        done = 0
        async with self._emit_lock:
            while minutes is None or done < minutes:
                minute = self._prepared.popleft() if self._prepared else None
                minute = minute or self._generate_next()
                if minute is None:
                    self.finished.set()  # the replay ran out
                    break
                if end_ms is not None and minute.minute_ms >= end_ms:
                    self._prepared.appendleft(minute)  # keep it for later
                    break
                for j in range(SECONDS):
                    await self._emit_second(minute, j, block=True)
                await self._finish_minute(minute, block=True)
                done += 1
                await asyncio.sleep(0)
        return done

    def advance(
        self,
        minutes: int | None = None,
        until: Any = None,
        timeout: float | None = None,
    ) -> int:
        """Emit the next `minutes` (or all before `until`) as fast as clients read."""
        return self._call(self.aadvance(minutes, until), timeout)

    async def aprepare(self, minutes: int) -> int:
        """Generate and serialise the next minutes ahead of `advance()`."""
        async with self._emit_lock:
            made = 0
            for _ in range(minutes):
                minute = self._generate_next()
                if minute is None:
                    break
                minute.preencode()
                self._prepared.append(minute)
                made += 1
            return made

    def prepare(self, minutes: int, timeout: float | None = None) -> int:
        """Pre-generate and pre-serialise minutes so `advance()` only sends."""
        return self._call(self.aprepare(minutes), timeout)

    def prepared_events(self) -> dict[str, int]:
        """Return the number of A and AM events waiting in prepared minutes."""
        return {
            "A": sum(m.a_events for m in self._prepared),
            "AM": sum(len(m.bars) for m in self._prepared),
        }
