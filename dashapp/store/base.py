"""Connections and the base every part of `Store` builds on.

Works the same on SQLite (embedded default: WAL, foreign keys on) and
PostgreSQL (psycopg 3). The base holds the engine and the helpers every
part shares: filters on bar tables, frame reads and the data-version bump.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

from dashapp.store.schema import DAILY_SEQ_KEY, DATA_SEQ_KEY, SQLITE_TS_FORMAT

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """A storage operation failed in a way the caller should report."""


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


class StoreBase:
    """The engine, its dialect and what the parts of `Store` share."""

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

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """Yield a connection in a transaction (for other modules' queries)."""
        with self.engine.begin() as conn:
            yield conn

    def ping(self) -> None:
        """Run a trivial query; raise when the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close pooled connections."""
        with self._live_lock:
            self._drop_live_conn()
        self.engine.dispose()

    def _drop_live_conn(self) -> None:
        conn, self._live_conn = self._live_conn, None
        if conn is not None:
            try:
                conn.rollback()
                conn.close()
            except Exception as exc:  # already broken
                log.debug("closing the live connection failed: %s", exc)

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
