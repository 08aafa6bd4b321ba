"""Upsert and delete bars row by row (minute and daily), one batch a transaction.

Bar upserts replace on conflict, never add: Massive re-sends corrected bars
and imports may be re-run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from dashapp.store.base import StoreBase
from dashapp.store.origin import (
    DEMO_META_KEYS,
    FAKE_ORIGINS,
    MASSIVE,
    ORIGIN_TABLES,
    SIMULATED_KEY,
    fake_origins,
    origin_of,
)
from dashapp.store.schema import (
    BAR_FIELDS,
    DAILY_COLUMNS,
    LIVE_COLUMNS,
    SQLITE_TS_FORMAT,
)

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5_000


def to_utc_series(values: pd.Series) -> pd.Series:
    """Return bar times (epoch ms or anything pandas parses) as UTC timestamps."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="ms", utc=True)
    return pd.to_datetime(values, utc=True)


def _frame(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    return pd.DataFrame(list(rows))


def _nullable(values: np.ndarray) -> list[Any]:
    return [None if v is None or v != v else v for v in values.tolist()]


class BarWritesMixin(StoreBase):
    """Upsert minute and daily bars; delete bars by origin."""

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
        ts = to_utc_series(frame["ts"])
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
        total = 0
        # Generated minute bars always come with a flag; skipping the scan keeps
        # imports into a big real minute table cheap.
        tables = ORIGIN_TABLES if fake_origins(self) else ORIGIN_TABLES[:1]
        with self.engine.begin() as conn:
            for table in tables:
                n = conn.execute(
                    text(f"DELETE FROM {table} WHERE source IN (:a, :b)"),
                    {"a": FAKE_ORIGINS[0], "b": FAKE_ORIGINS[1]},
                ).rowcount
                total += max(0, n or 0)
                if n:
                    self._bump_seq(conn, table)
            conn.execute(
                text("DELETE FROM app_meta WHERE key IN (:a, :b, :c)"),
                {"a": DEMO_META_KEYS[0], "b": DEMO_META_KEYS[1], "c": SIMULATED_KEY},
            )
        if total:
            log.info("real data loaded: removed %d demo/simulated bars", total)
        return total
