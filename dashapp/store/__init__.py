"""Storage: the one module that owns the schema and every SQL statement.

Works the same on SQLite (embedded default: WAL, foreign keys on) and PostgreSQL
(psycopg 3). On PostgreSQL with the `timescaledb` extension available,
`ohlcv_1min` becomes a hypertable. Bar upserts replace on conflict, never add:
Massive re-sends corrected bars and imports may be re-run.

Timestamps: `ohlcv_1min.ts` is the bar START in UTC. On SQLite it is stored as
text in SQLAlchemy's DATETIME format (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC) so that
text order is time order; on PostgreSQL it is `timestamptz`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from psycopg import errors as psycopg_errors
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

from dashapp.store.origin import DEMO, IMPORTED, MASSIVE, SIMULATED, origin_of
from dashapp.store.origin_sql import delete_fake_bars, migrate_origins

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
DEFAULT_BATCH_SIZE = 5_000
SQLITE_TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
BAR_FIELDS = ("open", "high", "low", "close", "volume")
MINUTE_COLUMNS = ("symbol", "ts", *BAR_FIELDS, "vwap", "trades")
DAILY_COLUMNS = ("symbol", "date", *BAR_FIELDS, "source")
LIVE_COLUMNS = (*MINUTE_COLUMNS, "source")
DATA_SEQ_KEY = "data_seq"
DAILY_SEQ_KEY = "daily_seq"
DEMO_KEY = "demo_data"
# Bulk loads (imports, demo): rows per executemany / COPY chunk, and the size
# from which SQLite rebuilds secondary indexes instead of updating them per row.
BULK_CHUNK_ROWS = 50_000
BULK_REINDEX_ROWS = 100_000
BULK_SQLITE_CACHE_KIB = 262_144
PG_LOCK_TIMEOUT_MS = 2000
ROLES = ("admin", "user")
# Live ingest: rows per upsert transaction, SQLite's WAL auto-checkpoint size,
# and the binary COPY types of LIVE_COLUMNS.
LIVE_BATCH_ROWS = 20_000
LIVE_PARALLEL_MIN_ROWS = 2_000
LIVE_PARALLEL_MAX = 4
SQLITE_LIVE_CACHE_KIB = 131_072
_PG_MINUTE_TYPES = (
    "varchar",
    "timestamptz",
    *("float8",) * 6,
    "int4",
    "varchar",
)

metadata = MetaData()
Double = Float(precision=53)

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
app_meta = Table(
    "app_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
symbols = Table(
    "symbols",
    metadata,
    Column("symbol", String(24), primary_key=True),
    Column("name", String(200)),
    Column("kind", String(16), nullable=False, default="stock"),
    Column("sector", String(64)),
    Column("sub_industry", String(128)),
    Column("sector_etf", String(8)),
)
universes = Table(
    "universes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("label", String(200)),
    Column("builtin", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True)),
)
universe_members = Table(
    "universe_members",
    metadata,
    Column(
        "universe_id",
        Integer,
        ForeignKey("universes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "symbol",
        String(24),
        ForeignKey("symbols.symbol", ondelete="CASCADE"),
        primary_key=True,
    ),
)
ohlcv_1min = Table(
    "ohlcv_1min",
    metadata,
    Column("symbol", String(24), primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("open", Double, nullable=False),
    Column("high", Double, nullable=False),
    Column("low", Double, nullable=False),
    Column("close", Double, nullable=False),
    Column("volume", Double, nullable=False),
    Column("vwap", Double),
    Column("trades", Integer),
    Column("source", String(16)),
    Index("ix_ohlcv_1min_ts", "ts"),
)
ohlcv_daily = Table(
    "ohlcv_daily",
    metadata,
    Column("symbol", String(24), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("open", Double, nullable=False),
    Column("high", Double, nullable=False),
    Column("low", Double, nullable=False),
    Column("close", Double, nullable=False),
    Column("volume", Double, nullable=False),
    Column("source", String(16)),
    Index("ix_ohlcv_daily_date", "date"),
)
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False, default="user"),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)
auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the session id
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("ip", String(64)),
    Index("ix_auth_sessions_user", "user_id"),
)
error_log = Table(
    "error_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("level", String(16), nullable=False),
    Column("source", String(128)),
    Column("message", Text, nullable=False),
    Column("context", Text),
    Index("ix_error_log_ts", "ts"),
)
# Bars the writer could not store (bad rows, kept aside with the error).
rejected_bars = Table(
    "rejected_bars",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", Text),
    Column("ts", DateTime(timezone=True)),
    Column("raw", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", String(32)),
    Column("rejected_at", DateTime(timezone=True), nullable=False),
    Index("ix_rejected_bars_rejected_at", "rejected_at"),
)

# Reconciliations and split adjustments applied to stored history (issue 13).
data_adjustments = Table(
    "data_adjustments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", String(24), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("factor", Double),
    Column("applied_to_start", Date),
    Column("applied_to_end", Date),
    Column("sessions", Integer),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_data_adjustments_symbol", "symbol"),
)
corporate_actions = Table(
    "corporate_actions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("symbol", String(24), nullable=False),
    Column("execution_date", Date, nullable=False),
    Column("split_from", Double, nullable=False),
    Column("split_to", Double, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

BAR_TABLES = {"ohlcv_1min": ("ts", ohlcv_1min), "ohlcv_daily": ("date", ohlcv_daily)}


class StoreError(RuntimeError):
    """A storage operation failed in a way the caller should report."""


@dataclass(frozen=True)
class DataVersion:
    """What identifies the stored data: bumps whenever bars are written."""

    seq: int
    daily_seq: int
    newest_minute: pd.Timestamp | None
    newest_daily: dt.date | None

    @property
    def key(self) -> str:
        """Return a compact string usable as a cache key or ETag."""
        return f"{self.seq}-{self.newest_minute}-{self.newest_daily}"


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def _normalise_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an Engine for a SQLite or PostgreSQL URL with the right pragmas."""
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"connect_timeout": 5},
    )


def _to_utc_series(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="ms", utc=True)
    return pd.to_datetime(values, utc=True)


def _frame(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    return pd.DataFrame(list(rows))


def _nullable(values: np.ndarray) -> list[Any]:
    return [None if v is None or v != v else v for v in values.tolist()]


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


def _pg_binary_copy(cur: Any, target: str, rows: list[tuple]) -> None:
    """COPY minute rows (ts as datetime) into `target` in binary format."""
    with cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_PG_MINUTE_TYPES)
        for row in rows:
            copy.write_row(row)


class Store:
    """Database access for TickStock: schema, bars, reference data, users, logs."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = _normalise_url(url)
        self.engine = engine or make_engine(self.url)
        self.dialect = self.engine.dialect.name
        self.is_sqlite = self.dialect == "sqlite"
        self.hypertable = False
        self._seq_lock = threading.Lock()
        self._live_pool: Any = None
        self._live_conn: Connection | None = None
        self._live_lock = threading.Lock()

    # ---------------------------------------------------------------- schema
    def init_schema(self) -> int:
        """Create or upgrade the schema without losing data; return the version."""
        with self.engine.begin() as conn:
            existing = set(inspect(conn).get_table_names())
            current = self._read_schema_version(conn) if existing else None
            if current is not None and current > SCHEMA_VERSION:
                raise StoreError(
                    f"database schema v{current} is newer than this app "
                    f"(v{SCHEMA_VERSION}); upgrade TickStock"
                )
            if current is not None and current < SCHEMA_VERSION:
                self._migrate(conn, current)
            metadata.create_all(conn, checkfirst=True)
            self._write_schema_version(conn, SCHEMA_VERSION)
        if not self.is_sqlite:
            self.hypertable = self._try_hypertable()
        return SCHEMA_VERSION

    def _read_schema_version(self, conn: Connection) -> int | None:
        if not inspect(conn).has_table("schema_version"):
            # Tables from before versioning existed: treat as v1.
            return 1 if inspect(conn).has_table("ohlcv_daily") else None
        row = conn.execute(text("SELECT max(version) FROM schema_version")).first()
        return row[0] if row else None

    def _write_schema_version(self, conn: Connection, version: int) -> None:
        conn.execute(schema_version.delete())
        conn.execute(
            schema_version.insert().values(id=1, version=version, updated_at=utcnow())
        )

    def _migrate(self, conn: Connection, current: int) -> None:
        """Apply in-place migrations from `current` up to SCHEMA_VERSION."""
        if current < 2:
            cols = {c["name"] for c in inspect(conn).get_columns("ohlcv_daily")}
            if "source" not in cols:
                conn.execute(
                    text("ALTER TABLE ohlcv_daily ADD COLUMN source VARCHAR(16)")
                )
            log.info("migrated schema v%s -> v2 (ohlcv_daily.source)", current)
        if current < 3:
            migrate_origins(conn)

    def _try_hypertable(self) -> bool:
        try:
            with self.engine.begin() as conn:
                available = conn.execute(
                    text(
                        "SELECT 1 FROM pg_available_extensions "
                        "WHERE name = 'timescaledb'"
                    )
                ).first()
                if not available:
                    return False
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
                conn.execute(
                    text(
                        "SELECT create_hypertable('ohlcv_1min', 'ts', "
                        "if_not_exists => TRUE, migrate_data => TRUE)"
                    )
                )
            log.info("ohlcv_1min is a TimescaleDB hypertable")
            return True
        except Exception as exc:  # extension present but not loadable
            log.warning("timescaledb available but not usable: %s", exc)
            return False

    def schema_version(self) -> int | None:
        """Return the stored schema version (None when uninitialised)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("schema_version"):
                return None
            return self._read_schema_version(conn)

    def ping(self) -> None:
        """Run a trivial query; raise when the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def drop_all(self) -> None:
        """Drop every TickStock table (tests only)."""
        metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS schema_version"))

    def dispose(self) -> None:
        """Close pooled connections."""
        with self._live_lock:
            self._drop_live_conn()
        self.engine.dispose()

    # ------------------------------------------------------------- meta/version
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """Return one app_meta value."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT value FROM app_meta WHERE key = :k"), {"k": key}
            ).first()
        return row[0] if row else default

    def set_meta(self, key: str, value: str, conn: Connection | None = None) -> None:
        """Set one app_meta value (inside `conn`'s transaction when given)."""
        sql = text(
            "INSERT INTO app_meta (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        if conn is not None:
            conn.execute(sql, {"k": key, "v": value})
            return
        with self.engine.begin() as c:
            c.execute(sql, {"k": key, "v": value})

    def replace_meta(self, key: str, expected: str, value: str) -> bool:
        """Set one app_meta value only if it still equals `expected` (a claim)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                text("UPDATE app_meta SET value = :v WHERE key = :k AND value = :e"),
                {"k": key, "e": expected, "v": value},
            )
        return result.rowcount == 1

    def list_meta(self, prefix: str) -> dict[str, str]:
        """Return app_meta entries whose key starts with `prefix`."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT key, value FROM app_meta WHERE key LIKE :p ESCAPE '\\'"),
                {"p": escaped + "%"},
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def _bump_seq(self, conn: Connection, table: str = "ohlcv_1min") -> None:
        """Advance the data version; daily writes also advance the daily version."""
        keys = [DATA_SEQ_KEY]
        if table == "ohlcv_daily":
            keys.append(DAILY_SEQ_KEY)
        for key in keys:
            conn.execute(
                text(
                    "INSERT INTO app_meta (key, value) VALUES (:k, '1') "
                    "ON CONFLICT (key) DO UPDATE SET value = "
                    "CAST(CAST(app_meta.value AS INTEGER) + 1 AS TEXT)"
                ),
                {"k": key},
            )

    def data_version(self) -> DataVersion:
        """Return the data version: write sequences and newest bar times.

        One round trip: every poll of every page asks for it.
        """
        sql = text(
            "SELECT (SELECT value FROM app_meta WHERE key = :a), "
            "(SELECT value FROM app_meta WHERE key = :b), "
            "(SELECT max(ts) FROM ohlcv_1min), (SELECT max(date) FROM ohlcv_daily)"
        )
        with self.engine.connect() as conn:
            seq, daily_seq, newest_min, newest_day = conn.execute(
                sql, {"a": DATA_SEQ_KEY, "b": DAILY_SEQ_KEY}
            ).one()
        newest_minute = None
        if newest_min is not None:
            newest_minute = pd.Timestamp(newest_min)
            if newest_minute.tzinfo is None:
                newest_minute = newest_minute.tz_localize("UTC")
        return DataVersion(
            seq=int(seq or 0),
            daily_seq=int(daily_seq or 0),
            newest_minute=newest_minute,
            newest_daily=None
            if newest_day is None
            else pd.Timestamp(newest_day).date(),
        )

    # ------------------------------------------------------------------- bars
    def upsert_minute_bars(
        self,
        bars: pd.DataFrame | Iterable[Mapping[str, Any]],
        batch_size: int = DEFAULT_BATCH_SIZE,
        source: str = MASSIVE,
    ) -> int:
        """Insert or replace minute bars keyed (symbol, ts = bar start UTC)."""
        frame = _frame(bars)
        if frame.empty:
            return 0
        origin = origin_of(source)
        rows = [(*row, origin) for row in self._minute_rows(frame)]
        return self._upsert(
            "ohlcv_1min", ("symbol", "ts"), LIVE_COLUMNS, rows, batch_size
        )

    # --------------------------------------------------- live ingest (issue 3)
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
        with self._live_lock:
            conn = self._live_sqlite_conn()
            try:
                conn.exec_driver_sql(sql, rows)
                self._bump_seq(conn)
                conn.commit()
            except Exception:
                self._drop_live_conn()
                raise

    def _live_sqlite_conn(self) -> Connection:
        """Return the connection live minute writes use (held; its cache stays warm).

        Each minute touches one primary-key leaf page per symbol, so the page
        cache must hold that working set; and the WAL checkpoint, which would
        otherwise run inside a commit, runs in `checkpoint()` instead.
        """
        conn = self._live_conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect()
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_LIVE_CACHE_KIB}")
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            conn.commit()
            self._live_conn = conn
        return conn

    def _drop_live_conn(self) -> None:
        conn, self._live_conn = self._live_conn, None
        if conn is not None:
            try:
                conn.rollback()
                conn.close()
            except Exception as exc:  # already broken
                log.debug("closing the live connection failed: %s", exc)

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

    def upsert_daily_bars(
        self,
        bars: pd.DataFrame | Iterable[Mapping[str, Any]],
        batch_size: int = DEFAULT_BATCH_SIZE,
        source: str = "import",
    ) -> int:
        """Insert or replace daily bars keyed (symbol, date)."""
        frame = _frame(bars)
        if frame.empty:
            return 0
        rows = self._daily_rows(frame, source)
        return self._upsert(
            "ohlcv_daily", ("symbol", "date"), DAILY_COLUMNS, rows, batch_size
        )

    def _minute_rows(self, frame: pd.DataFrame) -> list[tuple]:
        ts = _to_utc_series(frame["ts"])
        if self.is_sqlite:
            ts_values = ts.dt.tz_convert(None).dt.strftime(SQLITE_TS_FORMAT).to_numpy()
        else:
            ts_values = ts.dt.to_pydatetime()
        cols = [frame["symbol"].astype(str).to_numpy(), ts_values]
        cols += [frame[c].astype(float).to_numpy() for c in BAR_FIELDS]
        for optional in ("vwap", "trades"):
            if optional in frame:
                cols.append(
                    np.asarray(_nullable(frame[optional].to_numpy()), dtype=object)
                )
            else:
                cols.append(np.full(len(frame), None, dtype=object))
        if "trades" in frame:
            cols[-1] = np.array(
                [None if v is None else int(v) for v in cols[-1]], dtype=object
            )
        return list(zip(*(c.tolist() for c in cols), strict=True))

    def _daily_rows(self, frame: pd.DataFrame, source: str) -> list[tuple]:
        dates = pd.to_datetime(frame["date"]).dt.date
        if self.is_sqlite:
            date_values = [d.isoformat() for d in dates]
        else:
            date_values = list(dates)
        cols: list[list[Any]] = [frame["symbol"].astype(str).tolist(), date_values]
        cols += [frame[c].astype(float).tolist() for c in BAR_FIELDS]
        src = frame["source"].tolist() if "source" in frame else [source] * len(frame)
        cols.append([origin_of(v) for v in src])
        return list(zip(*cols, strict=True))

    def _upsert(
        self,
        table: str,
        key: Sequence[str],
        columns: Sequence[str],
        rows: list[tuple],
        batch_size: int,
    ) -> int:
        batch_size = max(1, int(batch_size))
        names = ", ".join(columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        total = 0
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            with self.engine.begin() as conn:
                if self.is_sqlite:
                    marks = ", ".join("?" for _ in columns)
                    sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}"
                    conn.exec_driver_sql(sql, chunk)
                else:
                    self._pg_copy_upsert(conn, table, columns, conflict, chunk)
                self._bump_seq(conn, table)
            total += len(chunk)
        return total

    @staticmethod
    def _pg_copy_upsert(
        conn: Connection,
        table: str,
        columns: Sequence[str],
        conflict: str,
        rows: list[tuple],
    ) -> None:
        """COPY rows into a temp table, then upsert them in one statement."""
        names = ", ".join(columns)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS _stage_{table} "
                f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            with cur.copy(f"COPY _stage_{table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            # Last write wins inside one batch, as with row-by-row upserts.
            cur.execute(
                f"INSERT INTO {table} ({names}) "
                f"SELECT DISTINCT ON ({columns[0]}, {columns[1]}) {names} "
                f"FROM (SELECT *, row_number() OVER () AS _n FROM _stage_{table}) s "
                f"ORDER BY {columns[0]}, {columns[1]}, _n DESC {conflict}"
            )

    def read_minute(
        self,
        symbols: Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> pd.DataFrame:
        """Return minute bars (ts tz-aware UTC) for symbols in [start, end]."""
        where, params = self._bar_filter("ts", symbols, start, end, self._ts_param)
        order = "DESC" if newest_first else "ASC"
        sql = (
            f"SELECT {', '.join(MINUTE_COLUMNS)} FROM ohlcv_1min {where} "
            f"ORDER BY ts {order}, symbol"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        frame = self._read(sql, params, MINUTE_COLUMNS)
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        return frame

    def read_daily(
        self,
        symbols: Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """Return daily bars (date as datetime64, midnight) for symbols in range."""
        where, params = self._bar_filter("date", symbols, start, end, self._date_param)
        sql = (
            f"SELECT {', '.join(DAILY_COLUMNS)} FROM ohlcv_daily {where} "
            "ORDER BY symbol, date"
        )
        frame = self._read(sql, params, DAILY_COLUMNS)
        frame["date"] = pd.to_datetime(frame["date"])
        return frame

    def read_weekly_closes(
        self, symbols: Sequence[str] | None = None, end: Any = None
    ) -> pd.DataFrame:
        """Return each symbol's last close of every ISO week: symbol, date, close."""
        where, params = self._bar_filter("date", symbols, None, end, self._date_param)
        if self.is_sqlite:
            # A bare column next to max() takes the value of the max row in SQLite;
            # julianday 2440584.5 is Monday 1969-12-29, so weeks start on Monday.
            sql = (
                "SELECT symbol, max(date), close FROM ohlcv_daily "
                f"{where} GROUP BY symbol, "
                "CAST((julianday(date) - 2440584.5) / 7 AS INTEGER)"
            )
        else:
            sql = (
                "SELECT DISTINCT ON (symbol, (date - DATE '1969-12-29') / 7) "
                f"symbol, date, close FROM ohlcv_daily {where} "
                "ORDER BY symbol, (date - DATE '1969-12-29') / 7, date DESC"
            )
        frame = self._read(sql, params, ("symbol", "date", "close"))
        frame["date"] = pd.to_datetime(frame["date"])
        return frame

    def intraday_bars(
        self, symbols: Sequence[str] | None, start: Any, end: Any
    ) -> pd.DataFrame:
        """Roll minute bars in [start, end] up to one bar per symbol, in SQL.

        Returns symbol, open (first bar), high, low, close (last bar), volume and
        last_ts, so a market-state refresh never pulls every minute of the day.
        """
        where, params = self._bar_filter("ts", symbols, start, end, self._ts_param)
        sql = (
            "WITH agg AS (SELECT symbol, min(ts) AS first_ts, max(ts) AS last_ts, "
            "max(high) AS high, min(low) AS low, sum(volume) AS volume "
            f"FROM ohlcv_1min {where} GROUP BY symbol) "
            "SELECT a.symbol, o.open, a.high, a.low, c.close, a.volume, a.last_ts "
            "FROM agg a "
            "JOIN ohlcv_1min o ON o.symbol = a.symbol AND o.ts = a.first_ts "
            "JOIN ohlcv_1min c ON c.symbol = a.symbol AND c.ts = a.last_ts "
            "ORDER BY a.symbol"
        )
        cols = ("symbol", "open", "high", "low", "close", "volume", "last_ts")
        frame = self._read(sql, params, cols)
        frame["last_ts"] = pd.to_datetime(frame["last_ts"], utc=True)
        return frame

    def minute_origins(self, start: Any, end: Any) -> dict[str, str]:
        """Return each symbol's minute-bar origin in [start, end] (generated wins)."""
        where, params = self._bar_filter("ts", None, start, end, self._ts_param)
        sql = f"SELECT DISTINCT symbol, source FROM ohlcv_1min {where}"
        frame = self._read(sql, params, ("symbol", "source"))
        rank = {SIMULATED: 0, DEMO: 1, MASSIVE: 2, IMPORTED: 3}
        out: dict[str, str] = {}
        for sym, src in zip(frame["symbol"], frame["source"], strict=True):
            origin = origin_of(src)
            if sym not in out or rank[origin] < rank[out[sym]]:
                out[sym] = origin
        return out

    def _ts_param(self, value: Any) -> Any:
        ts = pd.Timestamp(value)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        if self.is_sqlite:
            return ts.tz_convert(None).strftime(SQLITE_TS_FORMAT)
        return ts.to_pydatetime()

    def _date_param(self, value: Any) -> Any:
        day = pd.Timestamp(value).date()
        return day.isoformat() if self.is_sqlite else day

    def _bar_filter(
        self, col: str, syms: Sequence[str] | None, start: Any, end: Any, conv: Any
    ) -> tuple[str, dict[str, Any]]:
        clauses, params = [], {}
        if syms is not None:
            names = [f":s{i}" for i in range(len(syms))]
            if not names:
                return "WHERE 1 = 0", {}
            clauses.append(f"symbol IN ({', '.join(names)})")
            params.update({f"s{i}": s for i, s in enumerate(syms)})
        if start is not None:
            clauses.append(f"{col} >= :start")
            params["start"] = conv(start)
        if end is not None:
            clauses.append(f"{col} <= :end")
            params["end"] = conv(end)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _read(
        self, sql: str, params: Mapping[str, Any], columns: Sequence[str]
    ) -> pd.DataFrame:
        with self.engine.connect() as conn:
            result = conn.execute(text(sql), dict(params))
            # Plain DBAPI tuples: building a frame from Row objects is ~3x slower.
            rows = result.cursor.fetchall() if result.cursor else []
        return pd.DataFrame.from_records(rows, columns=list(columns))

    def delete_daily(self, source: str) -> int:
        """Delete daily bars that came from one source (e.g. demo data)."""
        with self.engine.begin() as conn:
            n = conn.execute(
                text("DELETE FROM ohlcv_daily WHERE source = :s"), {"s": source}
            ).rowcount
            self._bump_seq(conn, "ohlcv_daily")
        return n

    def delete_fake_bars(self) -> int:
        """Delete every demo and simulated bar (daily and minute); return the count."""
        return delete_fake_bars(self)

    def oldest_daily(self) -> dt.date | None:
        """Return the oldest stored daily session (None when there is none)."""
        with self.engine.connect() as conn:
            value = conn.execute(text("SELECT min(date) FROM ohlcv_daily")).scalar()
        return None if value is None else pd.Timestamp(value).date()

    def minute_bar_count(self, start: Any, end: Any) -> int:
        """Return how many minute bars start in [start, end] (0 or 1 is enough)."""
        sql = text(
            "SELECT count(*) FROM (SELECT 1 FROM ohlcv_1min "
            "WHERE ts >= :a AND ts <= :b LIMIT 1) AS hit"
        )
        params = {"a": self._ts_param(start), "b": self._ts_param(end)}
        with self.engine.connect() as conn:
            return int(conn.execute(sql, params).scalar() or 0)

    def minute_range(self) -> tuple[Any, Any]:
        """Return the (oldest, newest) stored minute bar start, None when empty."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT min(ts), max(ts) FROM ohlcv_1min")).first()
        if row is None or row[0] is None:
            return None, None
        first, last = (pd.Timestamp(v) for v in row)
        if first.tzinfo is None:  # SQLite keeps UTC without an offset
            first, last = first.tz_localize("UTC"), last.tz_localize("UTC")
        return first, last

    def table_stats(self) -> pd.DataFrame:
        """Return rows, distinct symbols and newest bar time per bar table."""
        out = []
        with self.engine.connect() as conn:
            for table, (col, _t) in BAR_TABLES.items():
                rows, syms, newest = conn.execute(
                    text(
                        f"SELECT count(*), count(DISTINCT symbol), max({col}) "
                        f"FROM {table}"
                    )
                ).one()
                out.append(
                    {"table": table, "rows": rows, "symbols": syms, "newest": newest}
                )
            for table in ("symbols", "universes", "users", "error_log"):
                rows = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                out.append(
                    {"table": table, "rows": rows, "symbols": None, "newest": None}
                )
        return pd.DataFrame(out)

    # ---------------------------------------------------------- reference data
    def upsert_symbols(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert or update symbol metadata rows."""
        cols = ("symbol", "name", "kind", "sector", "sub_industry", "sector_etf")
        data = [tuple(r.get(c) for c in cols) for r in rows]
        if not data:
            return 0
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols[1:])
        marks = ", ".join(f":{c}" for c in cols)
        sql = text(
            f"INSERT INTO symbols ({', '.join(cols)}) VALUES ({marks}) "
            f"ON CONFLICT (symbol) DO UPDATE SET {updates}"
        )
        with self.engine.begin() as conn:
            conn.execute(sql, [dict(zip(cols, d, strict=True)) for d in data])
        return len(data)

    def ensure_symbols(self, names: Iterable[str]) -> None:
        """Insert bare symbol rows for names not yet known."""
        sql = text(
            "INSERT INTO symbols (symbol, kind) VALUES (:s, 'stock') "
            "ON CONFLICT (symbol) DO NOTHING"
        )
        params = [{"s": n} for n in sorted(set(names))]
        if params:
            with self.engine.begin() as conn:
                conn.execute(sql, params)

    def symbols_frame(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """Return symbol metadata (optionally only for `names`)."""
        cols = ("symbol", "name", "kind", "sector", "sub_industry", "sector_etf")
        where, params = self._bar_filter("symbol", names, None, None, str)
        sql = f"SELECT {', '.join(cols)} FROM symbols {where} ORDER BY symbol"
        return self._read(sql, params, cols)

    def set_universe(
        self,
        name: str,
        members: Iterable[str],
        label: str | None = None,
        builtin: bool = False,
    ) -> int:
        """Create or replace a universe with exactly `members`; return its size."""
        key = name.strip().lower()
        members = sorted(set(members))
        self.ensure_symbols(members)
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO universes (name, label, builtin, created_at) "
                    "VALUES (:n, :l, :b, :c) ON CONFLICT (name) DO UPDATE SET "
                    "label = COALESCE(excluded.label, universes.label)"
                ),
                {"n": key, "l": label, "b": builtin, "c": utcnow()},
            )
            uid = conn.execute(
                text("SELECT id FROM universes WHERE name = :n"), {"n": key}
            ).scalar_one()
            conn.execute(
                text("DELETE FROM universe_members WHERE universe_id = :u"), {"u": uid}
            )
            if members:
                conn.execute(
                    text("INSERT INTO universe_members VALUES (:u, :s)"),
                    [{"u": uid, "s": s} for s in members],
                )
        return len(members)

    def universe_symbols(self, spec: str) -> list[str]:
        """Return the sorted members of `spec` (case-insensitive; `a+b` = union)."""
        names = [p.strip().lower() for p in spec.split("+") if p.strip()]
        if not names:
            return []
        marks = ", ".join(f":n{i}" for i in range(len(names)))
        sql = text(
            "SELECT DISTINCT m.symbol FROM universe_members m "
            f"JOIN universes u ON u.id = m.universe_id WHERE u.name IN ({marks}) "
            "ORDER BY m.symbol"
        )
        with self.engine.connect() as conn:
            known = conn.execute(
                text(f"SELECT name FROM universes WHERE name IN ({marks})"),
                {f"n{i}": n for i, n in enumerate(names)},
            ).scalars()
            missing = set(names) - set(known)
            if missing:
                raise KeyError(f"unknown universe: {', '.join(sorted(missing))}")
            rows = conn.execute(sql, {f"n{i}": n for i, n in enumerate(names)})
            return [r[0] for r in rows]

    def list_universes(self) -> pd.DataFrame:
        """Return universes with member counts and how many members have data."""
        sql = text(
            "SELECT u.name, u.label, u.builtin, count(m.symbol) AS members, "
            "count(d.symbol) AS with_data FROM universes u "
            "LEFT JOIN universe_members m ON m.universe_id = u.id "
            "LEFT JOIN (SELECT DISTINCT symbol FROM ohlcv_daily) d "
            "ON d.symbol = m.symbol GROUP BY u.id, u.name, u.label, u.builtin "
            "ORDER BY u.name"
        )
        cols = ("name", "label", "builtin", "members", "with_data")
        with self.engine.connect() as conn:
            rows = conn.execute(sql).fetchall()
        return pd.DataFrame(rows, columns=list(cols))

    # ------------------------------------------------- bulk loads (issue 4)
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
        ts = _to_utc_series(bars["ts"]).dt.tz_convert(None).to_numpy()
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

    def delete_meta(self, key: str) -> None:
        """Remove one app_meta value (no error when absent)."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM app_meta WHERE key = :k"), {"k": key})

    def daily_coverage(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """Return per-symbol daily row counts and first/last dates."""
        where, params = self._bar_filter("date", names, None, None, str)
        sql = (
            "SELECT symbol, count(*), min(date), max(date) FROM ohlcv_daily "
            f"{where} GROUP BY symbol ORDER BY symbol"
        )
        frame = self._read(sql, params, ("symbol", "rows", "first", "last"))
        for col in ("first", "last"):
            frame[col] = pd.to_datetime(frame[col])
        return frame

    def latest_daily(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """Return each symbol's newest daily bar (symbol, date, close, source)."""
        where, params = self._bar_filter("date", names, None, None, str)
        sql = (
            "SELECT d.symbol, d.date, d.close, d.source FROM ohlcv_daily d JOIN "
            f"(SELECT symbol, max(date) AS date FROM ohlcv_daily {where} "
            "GROUP BY symbol) m ON m.symbol = d.symbol AND m.date = d.date "
            "ORDER BY d.symbol"
        )
        frame = self._read(sql, params, ("symbol", "date", "close", "source"))
        frame["date"] = pd.to_datetime(frame["date"])
        return frame

    def minute_day_spans(
        self, names: Sequence[str] | None, start: Any, end: Any
    ) -> pd.DataFrame:
        """Return per (symbol, UTC day) the first/last minute bar start and count."""
        where, params = self._bar_filter("ts", names, start, end, self._ts_param)
        day = (
            "substr(ts, 1, 10)"
            if self.is_sqlite
            else "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        )
        sql = (
            f"SELECT symbol, {day} AS day, min(ts), max(ts), count(*) "
            f"FROM ohlcv_1min {where} GROUP BY symbol, {day} ORDER BY symbol, day"
        )
        cols = ("symbol", "day", "first_ts", "last_ts", "bars")
        frame = self._read(sql, params, cols)
        for col in ("first_ts", "last_ts"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
        return frame

    # ------------------------------------- reconciliation and splits (issue 13)
    def record_adjustments(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert data_adjustments rows (symbol, kind, factor, range, reason)."""
        now = utcnow()
        data = [
            {
                "symbol": r["symbol"],
                "kind": r["kind"],
                "factor": r.get("factor"),
                "applied_to_start": r.get("applied_to_start"),
                "applied_to_end": r.get("applied_to_end"),
                "sessions": r.get("sessions"),
                "reason": r.get("reason"),
                "created_at": now,
            }
            for r in rows
        ]
        if data:
            with self.engine.begin() as conn:
                conn.execute(data_adjustments.insert(), data)
        return len(data)

    def list_adjustments(self, symbol: str | None = None) -> pd.DataFrame:
        """Return recorded adjustments, oldest first (optionally of one symbol)."""
        query = select(data_adjustments).order_by(data_adjustments.c.id)
        if symbol is not None:
            query = query.where(data_adjustments.c.symbol == symbol)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        cols = [c.name for c in data_adjustments.columns]
        return pd.DataFrame([dict(r) for r in rows], columns=cols)

    def applied_split_ids(self) -> set[str]:
        """Return the ids of splits already applied to stored history."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(corporate_actions.c.id)).all()
        return {r[0] for r in rows}

    def apply_split(
        self,
        split_id: str,
        symbol: str,
        execution_date: dt.date,
        split_from: float,
        split_to: float,
        minute_cutoff: dt.datetime,
        tables: Sequence[str] = ("ohlcv_daily", "ohlcv_1min"),
    ) -> tuple[int, int] | None:
        """Adjust bars before a split once; return (daily, minute) rows or None.

        Prices before the execution date are divided by split_to/split_from and
        volumes multiplied by it (only in `tables`), in one transaction with the
        record of the split id, so a split is never applied twice.
        """
        ratio = float(split_to) / float(split_from)
        daily = minute = 0
        with self.engine.begin() as conn:
            seen = conn.execute(
                select(corporate_actions.c.id).where(corporate_actions.c.id == split_id)
            ).first()
            if seen is not None:
                return None
            prices = "open = open / :r, high = high / :r, low = low / :r, "
            prices += "close = close / :r, volume = volume * :r"
            if "ohlcv_daily" in tables:
                daily = conn.execute(
                    text(
                        f"UPDATE ohlcv_daily SET {prices} "
                        "WHERE symbol = :s AND date < :d"
                    ),
                    {"r": ratio, "s": symbol, "d": self._date_param(execution_date)},
                ).rowcount
            if "ohlcv_1min" in tables:
                minute = conn.execute(
                    text(
                        f"UPDATE ohlcv_1min SET {prices}, vwap = vwap / :r "
                        "WHERE symbol = :s AND ts < :t"
                    ),
                    {"r": ratio, "s": symbol, "t": self._ts_param(minute_cutoff)},
                ).rowcount
            conn.execute(
                corporate_actions.insert().values(
                    id=split_id,
                    symbol=symbol,
                    execution_date=execution_date,
                    split_from=float(split_from),
                    split_to=float(split_to),
                    applied_at=utcnow(),
                )
            )
            self._bump_seq(conn, "ohlcv_daily")
        return daily, minute

    def closes_around(
        self, symbol: str, execution_date: dt.date, minute_cutoff: dt.datetime
    ) -> dict[str, tuple[float | None, float | None]]:
        """Return per bar table the last close before and the first close at a split."""
        bounds = {
            "ohlcv_daily": ("date", self._date_param(execution_date)),
            "ohlcv_1min": ("ts", self._ts_param(minute_cutoff)),
        }
        out = {}
        with self.engine.connect() as conn:
            for table, (col, at) in bounds.items():
                pair = []
                for op, order in (("<", "DESC"), (">=", "ASC")):
                    row = conn.execute(
                        text(
                            f"SELECT close FROM {table} WHERE symbol = :s AND "
                            f"{col} {op} :at ORDER BY {col} {order} LIMIT 1"
                        ),
                        {"s": symbol, "at": at},
                    ).first()
                    pair.append(None if row is None else float(row[0]))
                out[table] = (pair[0], pair[1])
        return out

    def daily_source_spans(self) -> pd.DataFrame:
        """Return per (symbol, source) the daily row count and first/last date."""
        sql = (
            "SELECT symbol, source, count(*), min(date), max(date) FROM ohlcv_daily "
            "GROUP BY symbol, source ORDER BY symbol, min(date)"
        )
        frame = self._read(sql, {}, ("symbol", "source", "rows", "first", "last"))
        for col in ("first", "last"):
            frame[col] = pd.to_datetime(frame[col])
        return frame

    def daily_big_moves(self, threshold: float) -> pd.DataFrame:
        """Return daily closes that moved more than `threshold` (0.35 = 35 %)."""
        sql = (
            "SELECT symbol, date, prev_close, close FROM (SELECT symbol, date, close, "
            "LAG(close) OVER (PARTITION BY symbol ORDER BY date) AS prev_close "
            "FROM ohlcv_daily) m WHERE prev_close > 0 AND "
            "(close > prev_close * :up OR close < prev_close * :down) "
            "ORDER BY symbol, date"
        )
        params = {"up": 1.0 + threshold, "down": 1.0 - threshold}
        frame = self._read(sql, params, ("symbol", "date", "prev_close", "close"))
        frame["date"] = pd.to_datetime(frame["date"])
        return frame

    # ---------------------------------------------- universe edits (issue 4)
    def universe_info(self, name: str) -> dict[str, Any] | None:
        """Return one universe's name, label, builtin flag and creation time."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT name, label, builtin, created_at FROM universes "
                    "WHERE name = :n"
                ),
                {"n": name.strip().lower()},
            ).first()
        return dict(row._mapping) if row else None

    def _editable_universe(self, conn: Connection, name: str, action: str) -> int:
        key = name.strip().lower()
        row = conn.execute(
            text("SELECT id, builtin FROM universes WHERE name = :n"), {"n": key}
        ).first()
        if row is None:
            raise KeyError(f"unknown universe: {key}")
        if row.builtin:
            raise StoreError(f"universe '{key}' is built in and cannot be {action}")
        return row.id

    def rename_universe(self, old: str, new: str) -> None:
        """Rename a user-defined universe (names are case-insensitive)."""
        new_key = new.strip().lower()
        with self.engine.begin() as conn:
            uid = self._editable_universe(conn, old, "renamed")
            taken = conn.execute(
                text("SELECT id FROM universes WHERE name = :n"), {"n": new_key}
            ).scalar()
            if taken is not None and taken != uid:
                raise StoreError(f"universe '{new_key}' already exists")
            conn.execute(
                text("UPDATE universes SET name = :n WHERE id = :u"),
                {"n": new_key, "u": uid},
            )

    def add_universe_members(self, name: str, members: Iterable[str]) -> int:
        """Add symbols to a user-defined universe; return how many were new."""
        members = sorted(set(members))
        self.ensure_symbols(members)
        with self.engine.begin() as conn:
            uid = self._editable_universe(conn, name, "edited")
            have = set(
                conn.execute(
                    text("SELECT symbol FROM universe_members WHERE universe_id = :u"),
                    {"u": uid},
                ).scalars()
            )
            new = [s for s in members if s not in have]
            if new:
                conn.execute(
                    text("INSERT INTO universe_members VALUES (:u, :s)"),
                    [{"u": uid, "s": s} for s in new],
                )
        return len(new)

    def remove_universe_members(self, name: str, members: Iterable[str]) -> int:
        """Remove symbols from a user-defined universe; return how many were removed."""
        members = sorted(set(members))
        with self.engine.begin() as conn:
            uid = self._editable_universe(conn, name, "edited")
            removed = 0
            for sym in members:
                removed += conn.execute(
                    text(
                        "DELETE FROM universe_members "
                        "WHERE universe_id = :u AND symbol = :s"
                    ),
                    {"u": uid, "s": sym},
                ).rowcount
        return removed

    # ------------------------------------------------------------------- logs
    def insert_error_logs(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Insert log records (ts, level, source, message, context) in one batch."""
        if not records:
            return 0
        with self.engine.begin() as conn:
            conn.execute(error_log.insert(), [dict(r) for r in records])
        return len(records)

    def recent_errors(self, limit: int = 100) -> pd.DataFrame:
        """Return the newest error_log rows."""
        cols = ("id", "ts", "level", "source", "message", "context")
        sql = f"SELECT {', '.join(cols)} FROM error_log ORDER BY id DESC LIMIT :n"
        return self._read(sql, {"n": int(limit)}, cols)

    # ---------------------------------------------------------- rejected bars
    def insert_rejected_bars(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Keep bad bar rows aside: symbol, ts, raw (JSON), reason, source."""
        if not records:
            return 0
        now = utcnow()
        rows = [
            {
                "symbol": r.get("symbol"),
                "ts": r.get("ts"),
                "raw": r["raw"],
                "reason": r["reason"],
                "source": r.get("source"),
                "rejected_at": r.get("rejected_at") or now,
            }
            for r in records
        ]
        with self.engine.begin() as conn:
            conn.execute(rejected_bars.insert(), rows)
        return len(rows)

    def rejected_bars_frame(self, limit: int = 100) -> pd.DataFrame:
        """Return the newest rejected bar rows, newest first."""
        cols = ("id", "symbol", "ts", "raw", "reason", "source", "rejected_at")
        query = select(*(rejected_bars.c[c] for c in cols))
        query = query.order_by(rejected_bars.c.id.desc()).limit(int(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=list(cols))
        for col in ("ts", "rejected_at"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
        return frame

    def count_rejected_bars(self) -> int:
        """Return how many bar rows were kept aside as rejected."""
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(rejected_bars)
            return int(conn.execute(query).scalar())

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """Yield a connection in a transaction (for other modules' queries)."""
        with self.engine.begin() as conn:
            yield conn

    # ------------------------------------------------------ users and tokens
    # Core expressions (parameterised) so DateTime columns round-trip the same on
    # SQLite and PostgreSQL; `_aware` restores UTC on SQLite's naive values.
    def create_user(self, username: str, password_hash: str, role: str) -> int:
        """Insert a user; return its id (raises StoreError if the name is taken)."""
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r}")
        with self.engine.begin() as conn:
            taken = conn.execute(
                select(users.c.id).where(users.c.username == username)
            ).first()
            if taken:
                raise StoreError(f"user {username!r} already exists")
            return conn.execute(
                users.insert().values(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    disabled=False,
                    failed_logins=0,
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]

    def get_user(
        self, user_id: int | None = None, username: str | None = None
    ) -> dict[str, Any] | None:
        """Return one user row as a dict (by id or by username), or None."""
        where = users.c.id == user_id if user_id is not None else None
        if username is not None:
            where = users.c.username == username
        if where is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(where)).mappings().first()
        return _user_dict(row) if row else None

    def list_users(self) -> list[dict[str, Any]]:
        """Return every user (without password hashes), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.id)).mappings().all()
        out = []
        for row in rows:
            user = _user_dict(row)
            user.pop("password_hash")
            out.append(user)
        return out

    def count_users(self, role: str | None = None) -> int:
        """Return how many (enabled, when role is given) users exist."""
        query = select(func.count()).select_from(users)
        if role is not None:
            query = query.where(users.c.role == role, users.c.disabled.is_(False))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def update_user(self, user_id: int, **values: Any) -> bool:
        """Update columns of one user; return whether it exists."""
        allowed = {"password_hash", "role", "disabled", "failed_logins", "locked_until"}
        unknown = set(values) - allowed
        if unknown:
            raise StoreError(f"cannot update user columns {sorted(unknown)}")
        if "role" in values and values["role"] not in ROLES:
            raise StoreError(f"unknown role {values['role']!r}")
        with self.engine.begin() as conn:
            result = conn.execute(
                users.update().where(users.c.id == user_id).values(**values)
            )
        return result.rowcount > 0

    def record_login_failure(
        self, user_id: int, max_failures: int, lock_for: dt.timedelta
    ) -> dict[str, Any]:
        """Count a failed login atomically; lock the account at `max_failures`."""
        with self.engine.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(failed_logins=users.c.failed_logins + 1)
            )
            failures = conn.execute(
                select(users.c.failed_logins).where(users.c.id == user_id)
            ).scalar_one()
            locked_until = None
            if failures >= max_failures:
                locked_until = utcnow() + lock_for
                conn.execute(
                    users.update()
                    .where(users.c.id == user_id)
                    .values(failed_logins=0, locked_until=locked_until)
                )
        return {"failed_logins": failures, "locked_until": locked_until}

    def create_token(self, user_id: int, name: str, token_hash: str) -> int:
        """Store a new API token hash for a user; return its id."""
        with self.engine.begin() as conn:
            return conn.execute(
                api_tokens.insert().values(
                    user_id=user_id, name=name, token_hash=token_hash,
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]  # fmt: skip

    def token_principal(self, token_hash: str) -> dict[str, Any] | None:
        """Return token and owner fields for a token hash (revoked ones included)."""
        query = (
            select(
                api_tokens.c.id.label("token_id"),
                api_tokens.c.name.label("token_name"),
                api_tokens.c.revoked_at,
                users.c.id.label("user_id"),
                users.c.username,
                users.c.role,
                users.c.disabled,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == token_hash)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        out = _plain_keys(row)
        out["revoked_at"] = _aware(out["revoked_at"])
        out["disabled"] = bool(out["disabled"])
        return out

    def list_tokens(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Return API tokens (never their hashes) with their owner's name."""
        query = (
            select(
                api_tokens.c.id,
                api_tokens.c.name,
                users.c.username.label("user"),
                api_tokens.c.created_at,
                api_tokens.c.last_used_at,
                api_tokens.c.revoked_at,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .order_by(api_tokens.c.id)
        )
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {str(k): _aware(v) if k.endswith("_at") else v for k, v in r.items()}
            for r in rows
        ]

    def revoke_token(self, token_id: int) -> bool:
        """Mark a token revoked; return False when it does not exist."""
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(api_tokens.c.id).where(api_tokens.c.id == token_id)
            ).first()
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return exists is not None

    def touch_token(self, token_id: int) -> None:
        """Record that a token was just used."""
        with self.engine.begin() as conn:
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.id == token_id)
                .values(last_used_at=utcnow())
            )

    def create_session(self, session_hash: str, user_id: int, ip: str | None) -> None:
        """Record a new login session (keyed by the hash of its id)."""
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(
                auth_sessions.insert().values(
                    id=session_hash, user_id=user_id, created_at=now,
                    last_seen_at=now, ip=(ip or "")[:64],
                )
            )  # fmt: skip

    def get_session(self, session_hash: str) -> dict[str, Any] | None:
        """Return a session joined with its user's role and state, or None."""
        query = (
            select(
                auth_sessions.c.user_id,
                auth_sessions.c.created_at,
                auth_sessions.c.last_seen_at,
                auth_sessions.c.revoked_at,
                users.c.username,
                users.c.role,
                users.c.disabled,
            )
            .join(users, users.c.id == auth_sessions.c.user_id)
            .where(auth_sessions.c.id == session_hash)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        out = _plain_keys(row)
        for key in ("created_at", "last_seen_at", "revoked_at"):
            out[key] = _aware(out[key])
        out["disabled"] = bool(out["disabled"])
        return out

    def touch_session(self, session_hash: str) -> None:
        """Move a session's last-seen time to now (idle timeout)."""
        with self.engine.begin() as conn:
            conn.execute(
                auth_sessions.update()
                .where(auth_sessions.c.id == session_hash)
                .values(last_seen_at=utcnow())
            )

    def revoke_sessions(
        self, session_hash: str | None = None, user_id: int | None = None
    ) -> int:
        """Revoke one session, or every session of a user; return how many."""
        where = []
        if session_hash is not None:
            where.append(auth_sessions.c.id == session_hash)
        if user_id is not None:
            where.append(auth_sessions.c.user_id == user_id)
        if not where:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(
                auth_sessions.update()
                .where(*where, auth_sessions.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount

    def prune_sessions(self, created_before: dt.datetime) -> int:
        """Delete login sessions created before a time (all expired); return count."""
        with self.engine.begin() as conn:
            return conn.execute(
                auth_sessions.delete().where(
                    auth_sessions.c.created_at < created_before
                )
            ).rowcount

    def recent_minute_bars(
        self, symbol: str, since: dt.datetime | None = None, limit: int = 100
    ) -> list[tuple[float, float, float, float, float, float]]:
        """Return (epoch seconds, o, h, l, c, v) of a symbol's newest minute bars.

        Newest first, only bars starting strictly after `since`; plain tuples
        without pandas, for the hot REST path.
        """
        where = "symbol = :s"
        params: dict[str, Any] = {"s": symbol, "n": int(limit)}
        if since is not None:
            where += " AND ts > :since"
            params["since"] = self._ts_param(since)
        sql = text(
            "SELECT ts, open, high, low, close, volume FROM ohlcv_1min "
            f"WHERE {where} ORDER BY ts DESC LIMIT :n"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [(_epoch_seconds(r[0]), *r[1:]) for r in rows]

    # ------------------------------------------------------ symbol look-ups
    def search_symbols(
        self,
        search: str | None = None,
        members: Sequence[str] | None = None,
        limit: int = 100,
    ) -> pd.DataFrame:
        """Return symbols whose ticker starts with or whose name contains `search`."""
        query = select(
            symbols.c.symbol, symbols.c.name, symbols.c.kind, symbols.c.sector,
            symbols.c.sub_industry, symbols.c.sector_etf,
        ).order_by(symbols.c.symbol).limit(int(limit))  # fmt: skip
        if search:
            pattern = search.replace("\\", "\\\\").replace("%", "\\%")
            pattern = pattern.replace("_", "\\_")
            query = query.where(
                or_(
                    symbols.c.symbol.like(f"{pattern.upper()}%", escape="\\"),
                    func.lower(symbols.c.name).like(
                        f"%{pattern.lower()}%", escape="\\"
                    ),
                )
            )
        if members is not None:
            query = query.where(symbols.c.symbol.in_(list(members)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).fetchall()
        cols = ["symbol", "name", "kind", "sector", "sub_industry", "sector_etf"]
        return pd.DataFrame(rows, columns=cols)

    def delete_universe(self, name: str) -> bool:
        """Delete a user-defined universe; built-in ones cannot be deleted."""
        key = name.strip().lower()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(universes.c.builtin).where(universes.c.name == key)
            ).first()
            if row is None:
                return False
            if row[0]:
                raise StoreError(f"universe {key!r} is built in")
            conn.execute(universes.delete().where(universes.c.name == key))
        return True


def _epoch_seconds(value: Any) -> float:
    """Return a stored bar time (SQLite text or datetime) as Unix seconds."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def _aware(value: Any) -> Any:
    """Return a datetime as timezone-aware UTC (SQLite returns naive values)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _plain_keys(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a row mapping as a dict with plain `str` keys (not quoted_name)."""
    return {str(k): v for k, v in row.items()}


def _user_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    user = _plain_keys(row)
    user["disabled"] = bool(user["disabled"])
    user["locked_until"] = _aware(user["locked_until"])
    user["created_at"] = _aware(user["created_at"])
    return user
