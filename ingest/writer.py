"""The one thread that writes minute bars: bounded queue, spill file, replay.

`BarWriter.submit(rows)` never waits on the database: it appends to a bounded
in-memory queue and returns; when the queue is full the rows go straight to an
append-only spill file (`ingest.spill`) instead. The writer thread takes
batches off the queue, keeps the last version of each (symbol, ts) key, and
upserts them in one transaction per batch (`ingest.writer_batches`: bad rows
are set aside, never stall the writer). When a write fails the batch is
spilled, the database is probed with backoff, and once it answers the spill
files are replayed oldest first (`ingest.writer_recovery`). Nothing is dropped.

Ordering: every submission gets a sequence number. While spill files exist (an
"episode"), the writer remembers the sequence of every key it wrote and skips
any row older than what is already stored, so replayed and queued rows can
interleave without an old correction overwriting a newer one.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.quarantine import Quarantine
from ingest.spill import Item, SpillLog
from ingest.writer_batches import BatchWrites
from ingest.writer_recovery import PROBE_MAX_S, PROBE_MIN_S, OutageRecovery

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE_ROWS = 250_000
DEFAULT_BATCH_ROWS = 20_000
DEFAULT_LINGER_S = 0.02
MAX_LINGER_S = 0.25
# PostgreSQL: a full-market minute is written as this many concurrent
# transactions on disjoint symbol ranges (SQLite ignores it).
DEFAULT_PARALLEL = 2
CHECKPOINT_EVERY_S = 5.0
LATENCY_WINDOW = 2_000


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-quantile (0..1) of values by nearest rank, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[k]


class BarWriter(BatchWrites, OutageRecovery):
    """Single writer thread for `ohlcv_1min` fed by a bounded queue."""

    def __init__(
        self,
        store: Any,
        spill_dir: str | Path,
        *,
        max_queue_rows: int = DEFAULT_MAX_QUEUE_ROWS,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        linger_s: float = DEFAULT_LINGER_S,
        probe_max_s: float = PROBE_MAX_S,
        parallel: int = DEFAULT_PARALLEL,
        name: str = "tickstock-writer",
        source: str = "massive",
    ) -> None:
        self.store = store
        self.source = source  # origin stored with every bar (dashapp.store.origin)
        self.spill = SpillLog(Path(spill_dir))
        self.max_queue_rows = int(max_queue_rows)
        self.batch_rows = int(batch_rows)
        self.linger_s = float(linger_s)
        self.probe_max_s = float(probe_max_s)
        self.parallel = max(1, int(parallel))
        self.name = name
        self.quarantine = Quarantine(store, self.spill.dir)
        # SQLite keeps whatever it is given; check rows the way PostgreSQL would.
        self._screen_rows = bool(getattr(store, "is_sqlite", False))
        self._cond = threading.Condition()
        self._items: collections.deque[Item] = collections.deque()
        self._queued_rows = 0
        self._seq = time.time_ns()
        self._episode = bool(self.spill.files())
        self._written_seq: dict[tuple[str, int], int] = {}
        self._inflight: list[Item] = []
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._db_ok = True
        self._probe_at = 0.0
        self._probe_delay = PROBE_MIN_S
        self._failures = 0
        self._last_checkpoint = time.monotonic()
        self._dirty_since_checkpoint = False
        self._checkpointing = threading.Event()
        self.latencies: collections.deque[float] = collections.deque(
            maxlen=LATENCY_WINDOW
        )
        self.stats = {
            "submitted_rows": 0,
            "written_rows": 0,
            "batches": 0,
            "spilled_rows": 0,
            "overflow_rows": 0,
            "replayed_rows": 0,
            "stale_rows_skipped": 0,
            "write_errors": 0,
            "spill_errors": 0,
            "quarantined_rows": 0,
            "data_errors": 0,
            "spill_pending_rows": sum(
                SpillLog.count_rows(p) for p in self.spill.files()
            ),
        }
        self.last_error: str | None = None
        self.last_data_error: str | None = None
        self.last_write_wall: float | None = None
        self.newest_written_ts: int | None = None

    # ------------------------------------------------------------ producer
    def submit(self, rows: Sequence[Sequence[Any]]) -> None:
        """Queue bar rows for writing; never blocks on the database."""
        if not rows:
            return
        with self._cond:
            seq = self._seq
            self._seq += 1
            self.stats["submitted_rows"] += len(rows)
            if self._queued_rows + len(rows) > self.max_queue_rows:
                # Writer is stuck: keep the reader moving, put the rows on disk.
                if self._spill([(seq, rows)], requeue=False):
                    self.stats["overflow_rows"] += len(rows)
                    return
            self._items.append((seq, rows))
            self._queued_rows += len(rows)
            self._cond.notify()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> BarWriter:
        """Start the writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=self.name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 8.0) -> bool:
        """Flush the queue (spilling what cannot be written) and stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if thread is not None and thread.is_alive():
            # Stuck in a database call: make sure nothing is lost on exit.
            with self._cond:
                leftovers = list(self._inflight) + list(self._items)
                self._items.clear()
                self._queued_rows = 0
                if leftovers:
                    self._spill(leftovers)
                self.spill.rotate()
            log.warning("writer did not finish in %.1fs; queue spilled", timeout)
            return False
        with self._cond:
            self.spill.rotate()
        return True

    @property
    def alive(self) -> bool:
        """Tell whether the writer thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the queue is empty and nothing is in flight or spilled."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                idle = (
                    not self._items
                    and not self._inflight
                    and self.stats["spill_pending_rows"] == 0
                )
            if idle:
                return True
            time.sleep(0.01)
        return False

    # --------------------------------------------------------------- thread
    def _run(self) -> None:
        while True:
            items, stopping = self._take()
            if items:
                if self._db_ok:
                    self._write(items)
                else:
                    with self._cond:
                        spilled = self._spill(items)
                        self._inflight = []
                    if not spilled:  # database and disk both failing: slow down
                        time.sleep(self._probe_delay)
            if not self._db_ok:
                self._maybe_probe(stopping)
            if self._db_ok and self.spill.files():
                self._replay(stopping)
            if not items:
                self._idle_work()
            if stopping and not self._has_work():
                break

    def _has_work(self) -> bool:
        with self._cond:
            return bool(self._items)

    def _take(self) -> tuple[list[Item], bool]:
        """Wait for submissions and return a batch of them."""
        with self._cond:
            if not self._items and not self._stopping:
                wait = 0.5 if self._db_ok else min(self._probe_delay, 0.5)
                self._cond.wait(wait)
            deadline = time.monotonic() + MAX_LINGER_S
            while (
                self._items
                and not self._stopping
                and self._queued_rows < self.batch_rows
            ):
                # Let the rest of a burst (one minute of AM frames) arrive.
                before = len(self._items)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(self.linger_s, left))
                if len(self._items) == before:
                    break
            items: list[Item] = []
            rows = 0
            while self._items and rows < self.batch_rows:
                item = self._items.popleft()
                items.append(item)
                rows += len(item[1])
            self._queued_rows -= rows
            self._inflight = items
            return items, self._stopping

    def _write(self, items: list[Item]) -> bool:
        """Write items in one transaction; spill them when the database fails."""
        with self._cond:
            episode = self._episode
        rows = self._merge(items, episode)
        ok = self._upsert(rows) if rows else True
        with self._cond:
            if not ok:
                self._spill(items)
            self._inflight = []
        return ok

    def _idle_work(self) -> None:
        with self._cond:
            if self._episode and not self._items and not self.spill.files():
                self._episode = False
                self._written_seq.clear()
        now = time.monotonic()
        if (
            self._db_ok
            and self._dirty_since_checkpoint
            and now - self._last_checkpoint >= CHECKPOINT_EVERY_S
            and not self._checkpointing.is_set()
        ):
            self._last_checkpoint = now
            self._dirty_since_checkpoint = False
            if getattr(self.store, "checkpoint", None) is not None:
                # Its own thread and connection: SQLite lets a checkpoint run
                # alongside the next write, so it never delays a minute.
                self._checkpointing.set()
                threading.Thread(
                    target=self._checkpoint, name="tickstock-checkpoint", daemon=True
                ).start()

    def _checkpoint(self) -> None:
        try:
            self.store.checkpoint()
        except Exception as exc:  # maintenance only
            log.debug("checkpoint failed: %s", exc)
        finally:
            self._checkpointing.clear()

    # --------------------------------------------------------------- health
    def health(self) -> dict[str, Any]:
        """Return queue depth, write latency p50/p99 (ms), spill and error figures."""
        lat = list(self.latencies)
        p50 = percentile(lat, 0.5)
        p99 = percentile(lat, 0.99)
        with self._cond:
            depth = self._queued_rows + sum(len(r) for _s, r in self._inflight)
        return {
            "db_ok": self._db_ok,
            "queue_rows": depth,
            "queue_capacity": self.max_queue_rows,
            "write_p50_ms": None if p50 is None else round(p50 * 1000, 2),
            "write_p99_ms": None if p99 is None else round(p99 * 1000, 2),
            "last_write_age_s": None
            if self.last_write_wall is None
            else round(time.time() - self.last_write_wall, 3),
            "last_error": self.last_error,
            "state": "ok" if self._db_ok else "outage",
            "last_data_error": self.last_data_error,
            "quarantine_file_rows": self.quarantine.file_rows,
            **self.stats,
        }
