"""Write live minute bars fast: plain tuples, binary COPY, a held SQLite connection."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from psycopg import errors as psycopg_errors
from sqlalchemy.engine import Connection

from dashapp.store.base import StoreBase
from dashapp.store.origin import MASSIVE, origin_of
from dashapp.store.schema import LIVE_COLUMNS, SQLITE_TS_FORMAT

log = logging.getLogger(__name__)

# Live ingest: rows per upsert transaction, SQLite's WAL auto-checkpoint size,
# and the binary COPY types of LIVE_COLUMNS.
LIVE_BATCH_ROWS = 20_000
LIVE_PARALLEL_MIN_ROWS = 2_000
LIVE_PARALLEL_MAX = 4
# The live connection's page cache holds the minute's working set: a few
# primary-key pages per symbol written (3 pages of 4 KiB), at least the floor,
# at most the cap. A bigger cache only fills with cold pages as the table
# grows, which is memory growth over the day, not speed.
SQLITE_LIVE_CACHE_KIB = 131_072
SQLITE_LIVE_CACHE_MIN_KIB = 8_192
SQLITE_LIVE_CACHE_KIB_PER_SYMBOL = 12
_PG_MINUTE_TYPES = (
    "varchar",
    "timestamptz",
    *("float8",) * 6,
    "int4",
    "varchar",
)


def _pg_binary_copy(cur: Any, target: str, rows: list[tuple]) -> None:
    """COPY minute rows (ts as datetime) into `target` in binary format."""
    with cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_PG_MINUTE_TYPES)
        for row in rows:
            copy.write_row(row)


def live_cache_kib(symbols: int) -> int:
    """Return the page cache (KiB) live writes of `symbols` symbols a batch need."""
    want = symbols * SQLITE_LIVE_CACHE_KIB_PER_SYMBOL
    return min(SQLITE_LIVE_CACHE_KIB, max(SQLITE_LIVE_CACHE_MIN_KIB, want))


class LiveWritesMixin(StoreBase):
    """The live-ingest write path (issue 3)."""

    _live_cache_kib = SQLITE_LIVE_CACHE_MIN_KIB  # grows with the widest batch

    def upsert_minute_tuples(
        self,
        rows: Sequence[Sequence[Any]],
        batch_size: int = LIVE_BATCH_ROWS,
        fresh: bool = False,
        parallel: int = 1,
        source: str = MASSIVE,
    ) -> int:
        """Upsert (symbol, ts_ms, open, high, low, close, volume, vwap, trades) rows.

        The fast path for live ingest: no DataFrame; `ts_ms` is the bar start in
        epoch milliseconds UTC; duplicates keep the last row. `fresh=True` says
        the caller expects none of the keys to exist yet: PostgreSQL then COPYs
        straight into the table and falls back to the upsert on a conflict.
        `parallel > 1` lets PostgreSQL write a large batch as that many
        transactions on disjoint symbol ranges at once (the server does most of
        the work, on as many cores). SQLite defers its WAL checkpoint to
        `checkpoint()`.
        """
        if not rows:
            return 0
        conv = self._ms_converter()
        origin = origin_of(source)
        latest = {(r[0], r[1]): r for r in rows}
        stamps = {ms: conv(ms) for ms in {r[1] for r in rows}}
        # Key order keeps the primary-key B-tree inserts local.
        data = [
            (r[0], stamps[r[1]], r[2], r[3], r[4], r[5], r[6], r[7], r[8], origin)
            for r in map(latest.__getitem__, sorted(latest))
        ]
        batch_size = max(1, int(batch_size))
        for start in range(0, len(data), batch_size):
            chunk = data[start : start + batch_size]
            if self.is_sqlite:
                self._sqlite_minute_upsert(chunk)
            elif parallel > 1 and len(chunk) >= LIVE_PARALLEL_MIN_ROWS:
                self._pg_parallel_upsert(chunk, fresh, parallel)
            else:
                self._pg_minute_upsert(chunk, fresh)
        return len(data)

    def _pg_parallel_upsert(self, rows: list[tuple], fresh: bool, parts: int) -> None:
        """Write key-sorted rows as `parts` concurrent transactions."""
        step = -(-len(rows) // parts)
        chunks = [rows[i : i + step] for i in range(0, len(rows), step)]
        with self._seq_lock:
            if self._live_pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._live_pool = ThreadPoolExecutor(
                    LIVE_PARALLEL_MAX, thread_name_prefix="store-live-copy"
                )
        futures = [
            self._live_pool.submit(self._pg_minute_upsert, c, fresh) for c in chunks[1:]
        ]
        errors = []
        try:
            self._pg_minute_upsert(chunks[0], fresh)
        except Exception as exc:  # wait for the others before reporting
            errors.append(exc)
        for fut in futures:
            try:
                fut.result()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def _sqlite_minute_upsert(self, rows: list[tuple]) -> None:
        names = ", ".join(LIVE_COLUMNS)
        marks = ", ".join("?" for _ in LIVE_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in LIVE_COLUMNS[2:])
        sql = (
            f"INSERT INTO ohlcv_1min ({names}) VALUES ({marks}) "
            f"ON CONFLICT (symbol, ts) DO UPDATE SET {updates}"
        )
        want = 0
        if self._live_cache_kib < min(
            SQLITE_LIVE_CACHE_KIB, len(rows) * SQLITE_LIVE_CACHE_KIB_PER_SYMBOL
        ):
            want = live_cache_kib(len({r[0] for r in rows}))  # only while it may grow
        with self._live_lock:
            conn = self._live_sqlite_conn()
            try:
                if want > self._live_cache_kib:
                    self._live_cache_kib = want
                    conn.exec_driver_sql(f"PRAGMA cache_size=-{want}")
                conn.exec_driver_sql(sql, rows)
                self._bump_seq(conn)
                conn.commit()
            except Exception:
                self._drop_live_conn()
                raise

    def _live_sqlite_conn(self) -> Connection:
        """Return the connection live minute writes use (held; its cache stays warm).

        Each minute touches one primary-key leaf page per symbol, so the page
        cache must hold that working set (sized from the widest batch so far,
        `live_cache_kib`); and the WAL checkpoint, which would otherwise run
        inside a commit, runs in `checkpoint()` instead.
        """
        conn = self._live_conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect()
            conn.exec_driver_sql(f"PRAGMA cache_size=-{self._live_cache_kib}")
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            conn.commit()
            self._live_conn = conn
        return conn

    def _pg_minute_upsert(self, rows: list[tuple], fresh: bool) -> None:
        names = ", ".join(LIVE_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in LIVE_COLUMNS[2:])
        with self.engine.begin() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                if fresh:
                    cur.execute("SAVEPOINT live_fresh")
                    try:
                        _pg_binary_copy(cur, f"ohlcv_1min ({names})", rows)
                    except psycopg_errors.UniqueViolation:
                        log.debug("fresh minute rows already stored; upserting")
                        cur.execute("ROLLBACK TO SAVEPOINT live_fresh")
                    else:
                        cur.execute("RELEASE SAVEPOINT live_fresh")
                        self._bump_seq(conn)
                        return
                cur.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS _stage_live_1min "
                    "(LIKE ohlcv_1min INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
                _pg_binary_copy(cur, f"_stage_live_1min ({names})", rows)
                cur.execute(
                    f"INSERT INTO ohlcv_1min ({names}) SELECT {names} "
                    "FROM _stage_live_1min ORDER BY symbol, ts "
                    f"ON CONFLICT (symbol, ts) DO UPDATE SET {updates}"
                )
            self._bump_seq(conn)

    def checkpoint(self) -> None:
        """Fold the SQLite write-ahead log into the database (no-op elsewhere)."""
        if not self.is_sqlite:
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def _ms_converter(self) -> Callable[[int], Any]:
        """Return a cached epoch-ms -> stored-timestamp function for this dialect."""
        cache: dict[int, Any] = {}
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        sqlite = self.is_sqlite

        def conv(ms: int) -> Any:
            value = cache.get(ms)
            if value is None:
                stamp = epoch + dt.timedelta(milliseconds=int(ms))
                value = stamp.strftime(SQLITE_TS_FORMAT) if sqlite else stamp
                cache[ms] = value
            return value

        return conv
