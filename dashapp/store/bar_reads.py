"""Read stored bars: ranges, roll-ups, coverage and table statistics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import text

from dashapp.store.base import StoreBase
from dashapp.store.origin import DEMO, IMPORTED, MASSIVE, SIMULATED, origin_of
from dashapp.store.schema import BAR_TABLES, DAILY_COLUMNS, MINUTE_COLUMNS


class BarReadsMixin(StoreBase):
    """Queries on ohlcv_1min and ohlcv_daily."""

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


def _epoch_seconds(value: Any) -> float:
    """Return a stored bar time (SQLite text or datetime) as Unix seconds."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()
