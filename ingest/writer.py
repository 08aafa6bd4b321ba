"""The one thread that writes minute bars: bounded queue, spill file, replay.

`BarWriter.submit(rows)` never waits on the database: it appends to a bounded
in-memory queue and returns; when the queue is full the rows go straight to an
append-only spill file instead. The writer thread takes batches off the queue,
keeps the last version of each (symbol, ts) key, and upserts them in one
transaction per batch. When a write fails the batch is spilled, the database is
probed with backoff, and once it answers the spill files are replayed (oldest
first) and deleted. Nothing is dropped.

Bad rows are not outages: a write that fails on the rows themselves (value
too long, constraint, wrong type; see `ingest.quarantine.classify`) is split
until each bad row is alone; the good rows are written and the bad ones kept
in `rejected_bars` with the error, live and on replay alike, so one poison row
never stalls the writer or a spill file.

Ordering: every submission gets a sequence number. While spill files exist (an
"episode"), the writer remembers the sequence of every key it wrote and skips
any row older than what is already stored, so replayed and queued rows can
interleave without an old correction overwriting a newer one.

Spill format: one JSON line per submission, `[seq, [[symbol, ts_ms, o, h, l, c,
v, vwap, trades], ...]]`, in files `spill-<seq>.jsonl` under the spill dir.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from ingest.quarantine import (
    OUTAGE,
    OutageDuringSplit,
    Quarantine,
    classify,
    describe,
    screen,
    split_write,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE_ROWS = 250_000
DEFAULT_BATCH_ROWS = 20_000
DEFAULT_LINGER_S = 0.02
MAX_LINGER_S = 0.25
# PostgreSQL: a full-market minute is written as this many concurrent
# transactions on disjoint symbol ranges (SQLite ignores it).
DEFAULT_PARALLEL = 2
PROBE_MIN_S = 0.2
PROBE_MAX_S = 10.0
CHECKPOINT_EVERY_S = 5.0
LATENCY_WINDOW = 2_000
SPILL_PREFIX = "spill-"
SPILL_SUFFIX = ".jsonl"
REPLAY_CHUNK_ROWS = 20_000

Item = tuple[int, Sequence[Sequence[Any]]]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-quantile (0..1) of values by nearest rank, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[k]


def _stamps(rows: Sequence[Sequence[Any]]) -> list[int]:
    """Return the integer bar starts of rows (bad rows may have none)."""
    return [r[1] for r in rows if len(r) > 1 and type(r[1]) is int]


class SpillLog:
    """Append-only spill files; one writer at a time (callers hold a lock)."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self._fh: Any = None
        self._path: Path | None = None

    def files(self) -> list[Path]:
        """Return spill files, oldest first."""
        if not self.dir.is_dir():
            return []
        return sorted(
            p
            for p in self.dir.iterdir()
            if p.name.startswith(SPILL_PREFIX) and p.name.endswith(SPILL_SUFFIX)
        )

    def append(self, items: Sequence[Item]) -> int:
        """Append submissions durably (flush + fsync); return the rows written."""
        if not items:
            return 0
        if self._fh is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._path = self.dir / f"{SPILL_PREFIX}{items[0][0]:020d}{SPILL_SUFFIX}"
            self._fh = open(self._path, "ab")  # noqa: SIM115 - kept open on purpose
        data = b"".join(orjson.dumps([seq, list(rows)]) + b"\n" for seq, rows in items)
        self._fh.write(data)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return sum(len(rows) for _seq, rows in items)

    def rotate(self) -> None:
        """Close the current file so later appends start a new one."""
        if self._fh is not None:
            self._fh.close()
        self._fh = None
        self._path = None

    @staticmethod
    def read(path: Path) -> Iterator[Item]:
        """Yield the submissions of one spill file, skipping a torn last line."""
        with open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                try:
                    seq, rows = orjson.loads(line)
                    item = int(seq), [tuple(r) for r in rows]
                except (orjson.JSONDecodeError, ValueError, TypeError):
                    log.warning("skipping unreadable line %d of %s", number, path)
                    continue
                yield item

    @staticmethod
    def count_rows(path: Path) -> int:
        """Return how many bar rows one spill file holds."""
        return sum(len(rows) for _seq, rows in SpillLog.read(path))


class BarWriter:
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

    def _merge(self, items: Sequence[Item], episode: bool) -> list[Sequence[Any]]:
        """Return the newest row per key; during an episode drop stale rows."""
        if not episode:
            # The store keeps the last row per key; items are in submit order.
            if len(items) == 1:
                return list(items[0][1])
            return [row for _seq, rows in items for row in rows]
        latest: dict[Any, tuple[int, Sequence[Any]]] = {}
        for seq, rows in items:
            for row in rows:
                try:
                    latest[(row[0], row[1])] = (seq, row)
                except (TypeError, IndexError):  # a bad row: the write rejects it
                    latest[("\x00bad", id(row))] = (seq, row)
        written = self._written_seq
        out = []
        for key, (seq, row) in latest.items():
            if written.get(key, -1) > seq:
                self.stats["stale_rows_skipped"] += 1
                continue
            written[key] = seq
            out.append(row)
        return out

    def _upsert(self, rows: list[Sequence[Any]], source: str = "live") -> bool:
        """Write rows; False on an outage (caller spills), bad rows quarantined."""
        if self._screen_rows:
            rows = self._screen(rows, source)
            if not rows:
                return True
        stamps = _stamps(rows)
        # Newer than anything written so far: a new minute, no conflicts expected.
        fresh = bool(stamps) and min(stamps) > (self.newest_written_ts or -1)
        started = time.perf_counter()
        try:
            self.store.upsert_minute_tuples(
                rows,
                batch_size=len(rows),
                fresh=fresh,
                parallel=self.parallel,
                source=self.source,
            )
        except Exception as exc:  # an outage spills; bad rows are set aside
            if classify(exc) == OUTAGE:
                self._db_failed(exc)
                return False
            try:
                _written, bad = split_write(self._write_plain, rows, exc)
            except OutageDuringSplit as outage:
                self._db_failed(outage.cause)
                return False
            self._set_aside(bad, source)
            dropped = {id(row) for row, _reason in bad}
            rows = [r for r in rows if id(r) not in dropped]
            stamps = _stamps(rows)
        elapsed = time.perf_counter() - started
        self._failures = 0
        self.latencies.append(elapsed)
        self.stats["written_rows"] += len(rows)
        self.stats["batches"] += 1
        self.last_write_wall = time.time()
        self._dirty_since_checkpoint = True
        top = max(stamps, default=-1)
        if top > (self.newest_written_ts or -1):
            self.newest_written_ts = top
        return True

    def _write_plain(self, rows: list[Sequence[Any]]) -> None:
        self.store.upsert_minute_tuples(rows, batch_size=len(rows))

    def _screen(self, rows: list[Sequence[Any]], source: str) -> list[Sequence[Any]]:
        """Return the rows the schema accepts; quarantine the others."""
        bad = screen(rows)
        if not bad:
            return rows
        self._set_aside(bad, source)
        dropped = {id(row) for row, _reason in bad}
        return [r for r in rows if id(r) not in dropped]

    def _set_aside(self, bad: list[tuple[Sequence[Any], str]], source: str) -> None:
        """Quarantine bad rows and count them."""
        if not bad:
            return
        self.stats["data_errors"] += 1
        self.quarantine.put(bad, source)
        self.stats["quarantined_rows"] += len(bad)
        self.last_data_error = f"{len(bad)} row(s) quarantined: {bad[-1][1]}"

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
