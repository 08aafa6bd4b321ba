"""Bulk loads (imports, demo history): one transaction, COPY or executemany."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from psycopg import errors as psycopg_errors
from sqlalchemy import text
from sqlalchemy.engine import Connection

from dashapp.store.bar_writes import to_utc_series
from dashapp.store.base import StoreBase
from dashapp.store.origin import IMPORTED, origin_of
from dashapp.store.schema import BAR_FIELDS, BAR_TABLES

log = logging.getLogger(__name__)

# Bulk loads (imports, demo): rows per executemany / COPY chunk, and the size
# from which SQLite rebuilds secondary indexes instead of updating them per row.
BULK_CHUNK_ROWS = 50_000
BULK_REINDEX_ROWS = 100_000
BULK_SQLITE_CACHE_KIB = 262_144
PG_LOCK_TIMEOUT_MS = 2000


def _iso_dates(values: pd.Series) -> np.ndarray:
    """Return dates as `YYYY-MM-DD` strings (object array)."""
    # Few distinct dates per load: format each once, then fan out.
    codes, uniques = pd.factorize(values)
    days = pd.to_datetime(pd.Series(uniques)).to_numpy().astype("datetime64[D]")
    return days.astype(str).astype(object)[codes]


def _object_strings(values: pd.Series) -> np.ndarray:
    """Return a column as an object array of str (cheap: few distinct values)."""
    codes, uniques = pd.factorize(values)
    return np.array([str(u) for u in uniques], dtype=object)[codes]


def _column_length(columns: Mapping[str, Any]) -> int:
    return next(len(v) for v in columns.values() if not isinstance(v, str))


def _sqlite_values(values: Any, n: int) -> Iterable[Any]:
    """Return one column as DB-API values: None for NaN/NA, constants repeated."""
    if isinstance(values, str):
        return itertools.repeat(values, n)
    if isinstance(values, pd.api.extensions.ExtensionArray):
        mask = np.asarray(values.isna())
        ints = np.asarray(values.fillna(0).astype(np.int64)).astype(object)
        return np.where(mask, None, ints).tolist() if mask.any() else ints.tolist()
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        if nan.any():
            return np.where(nan, None, values.astype(object)).tolist()
    return values.tolist()


def _arrow_table(columns: Mapping[str, Any]) -> Any:
    """Return the columns as a pyarrow Table (NaN/NA become NULL)."""
    import pyarrow as pa

    n = _column_length(columns)
    arrays = {}
    for name, values in columns.items():
        if isinstance(values, str):
            arrays[name] = pa.array(
                itertools.repeat(values, n), type=pa.string(), size=n
            )
        elif isinstance(values, pd.api.extensions.ExtensionArray):
            arrays[name] = pa.array(values, from_pandas=True)
        elif values.dtype == object:
            arrays[name] = pa.array(values, type=pa.string())
        else:
            arrays[name] = pa.array(values, from_pandas=True)
    return pa.table(arrays)


def _pg_drop_indexes(raw: Any, cur: Any, table: str) -> bool:
    """Drop a bar table's secondary indexes unless readers hold it (then keep them).

    Readers wait for the rest of the load (seconds) instead of every insert
    paying for the index; the caller rebuilds the indexes before committing.
    """
    try:
        with raw.transaction():
            cur.execute(f"SET LOCAL lock_timeout = '{PG_LOCK_TIMEOUT_MS}ms'")
            for index in BAR_TABLES[table][1].indexes:
                cur.execute(f"DROP INDEX {index.name}")
            cur.execute("SET LOCAL lock_timeout TO DEFAULT")
        return True
    except psycopg_errors.LockNotAvailable:
        log.info("%s is busy: bulk load keeps its indexes", table)
        return False


def _pg_copy_csv(
    cur: Any, copy_sql: str, table: Any, progress: Callable[[int], None]
) -> None:
    """Stream an Arrow table as CSV into a COPY; a writer thread overlaps the server."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from psycopg.copy import QueuedLibpqWriter

    options = pacsv.WriteOptions(include_header=False)
    with cur.copy(
        f"{copy_sql} FROM STDIN (FORMAT csv)", writer=QueuedLibpqWriter(cur)
    ) as copy:
        for start in range(0, table.num_rows, BULK_CHUNK_ROWS):
            chunk = table.slice(start, BULK_CHUNK_ROWS)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(chunk, sink, options)
            copy.write(sink.getvalue().to_pybytes())
            progress(chunk.num_rows)


class BulkLoadMixin(StoreBase):
    """Insert or replace many bars in one commit (issue 4)."""

    def bulk_upsert_daily(
        self,
        bars: pd.DataFrame,
        source: str = "import",
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Insert or replace many daily bars in one transaction (imports, demo)."""
        if bars.empty:
            return 0
        columns: dict[str, Any] = {
            "symbol": _object_strings(bars["symbol"]),
            "date": _iso_dates(bars["date"]),
            **{c: bars[c].to_numpy(dtype=np.float64) for c in BAR_FIELDS},
            "source": (
                np.array([origin_of(v) for v in bars["source"]], dtype=object)
                if "source" in bars
                else origin_of(source)
            ),
        }
        self._bulk_upsert("ohlcv_daily", ("symbol", "date"), columns, progress)
        return len(bars)

    def bulk_upsert_minute(
        self,
        bars: pd.DataFrame,
        progress: Callable[[int], None] | None = None,
        source: str = IMPORTED,
    ) -> int:
        """Insert or replace many minute bars (ts = bar start, UTC) in one commit."""
        if bars.empty:
            return 0
        ts = to_utc_series(bars["ts"]).dt.tz_convert(None).to_numpy()
        stamps = np.char.replace(ts.astype("datetime64[us]").astype(str), "T", " ")
        if not self.is_sqlite:
            stamps = np.char.add(stamps, "+00")
        n = len(bars)
        trades = (
            pd.array(bars["trades"], dtype="Int64")
            if "trades" in bars
            else pd.array([pd.NA] * n, dtype="Int64")
        )
        columns: dict[str, Any] = {
            "symbol": _object_strings(bars["symbol"]),
            "ts": stamps.astype(object),
            **{c: bars[c].to_numpy(dtype=np.float64) for c in BAR_FIELDS},
            "vwap": (
                bars["vwap"].to_numpy(dtype=np.float64)
                if "vwap" in bars
                else np.full(n, np.nan)
            ),
            "trades": trades,
            "source": origin_of(source),
        }
        self._bulk_upsert("ohlcv_1min", ("symbol", "ts"), columns, progress)
        return n

    def _bulk_upsert(
        self,
        table: str,
        key: Sequence[str],
        columns: dict[str, Any],
        progress: Callable[[int], None] | None,
    ) -> None:
        progress = progress or (lambda _n: None)
        with self.engine.begin() as conn:
            if self.is_sqlite:
                self._sqlite_bulk(conn, table, key, columns, progress)
            else:
                self._pg_bulk(conn, table, key, columns, progress)
            self._bump_seq(conn, table)

    @staticmethod
    def _upsert_sql_tail(table: str, key: Sequence[str], columns: Sequence[str]) -> str:
        values = [c for c in columns if c not in key]
        sets = ", ".join(f"{c} = excluded.{c}" for c in values)
        # Skip identical rows: re-imports then rewrite nothing.
        changed = " OR ".join(
            f"{table}.{c} IS DISTINCT FROM excluded.{c}" for c in values
        )
        return f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets} WHERE {changed}"

    def _sqlite_bulk(
        self,
        conn: Connection,
        table: str,
        key: Sequence[str],
        columns: dict[str, Any],
        progress: Callable[[int], None],
    ) -> None:
        names = list(columns)
        n = _column_length(columns)
        rows = zip(*(_sqlite_values(v, n) for v in columns.values()), strict=True)
        sql = (
            f"INSERT INTO {table} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in names)}) "
            + self._upsert_sql_tail(table, key, names)
        )
        indexes = list(BAR_TABLES[table][1].indexes)
        rebuild = self._rebuild_indexes(conn, table, n)
        if rebuild:
            for index in indexes:
                index.drop(conn)
        cursor = conn.connection.driver_connection.cursor()
        cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
        try:
            # A big page cache keeps the transaction from spilling mid-load.
            cursor.execute(f"PRAGMA cache_size = -{BULK_SQLITE_CACHE_KIB}")
            done = 0
            while done < n:
                chunk = list(itertools.islice(rows, BULK_CHUNK_ROWS))
                cursor.executemany(sql, chunk)
                done += len(chunk)
                progress(len(chunk))
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(cache)}")
            cursor.close()
        if rebuild:
            for index in indexes:
                index.create(conn)

    def _pg_bulk(
        self,
        conn: Connection,
        table: str,
        key: Sequence[str],
        columns: dict[str, Any],
        progress: Callable[[int], None],
    ) -> None:
        """COPY straight into the table when no stored key can clash, else stage."""
        names = ", ".join(columns)
        arrow = _arrow_table(columns)
        rebuild = self._rebuild_indexes(conn, table, arrow.num_rows)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            if not self._pg_overlaps(cur, table, key, columns):
                try:
                    with raw.transaction():  # savepoint: a racing writer may clash
                        dropped = rebuild and _pg_drop_indexes(raw, cur, table)
                        _pg_copy_csv(cur, f"COPY {table} ({names})", arrow, progress)
                        if dropped:
                            for index in BAR_TABLES[table][1].indexes:
                                index.create(conn)
                    return
                except psycopg_errors.UniqueViolation:
                    log.info("bulk load into %s clashed with a writer; staging", table)
            stage = f"_bulk_{table}"
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
                f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            cur.execute(f"TRUNCATE {stage}")
            _pg_copy_csv(cur, f"COPY {stage} ({names})", arrow, progress)
            # Drop rows already stored unchanged first (one hash join): re-imports
            # then cost a join instead of a conflict check per row.
            cur.execute(f"ANALYZE {stage}")
            same = " AND ".join(
                [f"t.{k} = s.{k}" for k in key]
                + [f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in columns if c not in key]
            )
            cur.execute(f"DELETE FROM {stage} s USING {table} t WHERE {same}")
            cur.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} "
                + self._upsert_sql_tail(table, key, list(columns))
            )

    @staticmethod
    def _rebuild_indexes(conn: Connection, table: str, rows: int) -> bool:
        """Tell whether to drop and rebuild secondary indexes around a bulk load.

        Building an index once is much cheaper than updating it row by row, as
        long as the table is not much bigger than the load (counted up to the
        load's size, so the check costs at most one short scan).
        """
        if rows < BULK_REINDEX_ROWS:
            return False
        stored = conn.execute(
            text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :n) s"),
            {"n": rows},
        ).scalar()
        return stored < rows

    @staticmethod
    def _pg_overlaps(
        cur: Any, table: str, key: Sequence[str], columns: dict[str, Any]
    ) -> bool:
        sym, when = key
        # ISO dates and UTC time stamps sort as text in time order.
        lo, hi = min(columns[when]), max(columns[when])
        symbols = sorted(set(columns[sym].tolist()))
        row = cur.execute(
            f"SELECT 1 FROM {table} WHERE {when} BETWEEN %s AND %s "
            f"AND {sym} = ANY(%s) LIMIT 1",
            (lo, hi, symbols),
        ).fetchone()
        return row is not None
