"""Ride out database outages: spill, probe with backoff, replay oldest first.

Mixed into `ingest.writer.BarWriter` (it uses the writer's store, lock, queue
and stats). When a write fails the batch is spilled, the database is probed
with backoff, and once it answers the spill files are replayed (oldest first)
and deleted. When even the disk fails the bars stay in memory. Nothing is
dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from ingest.quarantine import describe
from ingest.spill import Item, SpillLog

log = logging.getLogger("ingest.writer")  # the writer's log, as before the split

PROBE_MIN_S = 0.2
PROBE_MAX_S = 10.0
REPLAY_CHUNK_ROWS = 20_000


class OutageRecovery:
    """Spill, probe and replay for BarWriter."""

    def _spill(self, items: Sequence[Item], requeue: bool = True) -> bool:
        """Append items to the spill log (caller holds the lock).

        When even the disk fails the items go back to the front of the queue
        (`requeue`): memory beyond the bound beats losing bars.
        """
        try:
            n = self.spill.append(items)
        except OSError as exc:
            self.stats["spill_errors"] += 1
            log.error("cannot write the spill file (%s); keeping bars in memory", exc)
            self.spill.rotate()
            if requeue:
                for item in reversed(items):
                    self._items.appendleft(item)
                    self._queued_rows += len(item[1])
            return False
        self._episode = True
        self.stats["spilled_rows"] += n
        self.stats["spill_pending_rows"] += n
        return True

    def _db_failed(self, exc: BaseException) -> None:
        self.stats["write_errors"] += 1
        self.last_error = describe(exc)[:200]
        if self._db_ok:
            log.error(
                "database write failed, spilling bars to disk: %s", self.last_error
            )
        self._db_ok = False
        # A ping can pass while writes still fail (a locked SQLite file), so
        # the delay grows over consecutive failures, not only failed pings.
        self._failures += 1
        self._probe_delay = min(
            PROBE_MIN_S * 2 ** (self._failures - 1), self.probe_max_s
        )
        self._probe_at = time.monotonic() + self._probe_delay

    def _maybe_probe(self, stopping: bool) -> None:
        if stopping or time.monotonic() < self._probe_at:
            return
        try:
            self.store.ping()
        except Exception as exc:  # still down
            self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            self._probe_delay = min(self._probe_delay * 2, self.probe_max_s)
            self._probe_at = time.monotonic() + self._probe_delay
            return
        log.info("database is back; replaying spilled bars")
        self._db_ok = True

    def _replay(self, stopping: bool) -> None:
        """Write spill files back, oldest first; delete each when done."""
        with self._cond:
            self.spill.rotate()
            files = self.spill.files()
        for path in files:
            chunk: list[Item] = []
            rows = 0
            for item in SpillLog.read(path):
                chunk.append(item)
                rows += len(item[1])
                if rows >= REPLAY_CHUNK_ROWS:
                    if not self._replay_chunk(chunk):
                        return
                    chunk, rows = [], 0
                    self._drain_queue_if_full()
            if chunk and not self._replay_chunk(chunk):
                return
            path.unlink(missing_ok=True)
            log.info("replayed spill file %s", path.name)
        with self._cond:
            if not self.spill.files():
                self.stats["spill_pending_rows"] = 0

    def _replay_chunk(self, chunk: list[Item]) -> bool:
        rows = self._merge(chunk, True)
        if rows and not self._upsert(rows, source="spill"):
            return False
        n = sum(len(r) for _s, r in chunk)
        self.stats["replayed_rows"] += n
        with self._cond:
            self.stats["spill_pending_rows"] = max(
                0, self.stats["spill_pending_rows"] - n
            )
        return True

    def _drain_queue_if_full(self) -> None:
        """Keep the live queue moving during a long replay."""
        with self._cond:
            busy = self._queued_rows > self.max_queue_rows // 2
        if busy:
            items, _ = self._take()
            if items:
                self._write(items)
