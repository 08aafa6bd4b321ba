"""app_meta: small key/value settings, and the data version built on them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from dashapp.store.base import StoreBase
from dashapp.store.schema import DAILY_SEQ_KEY, DATA_SEQ_KEY


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


def write_meta(conn: Connection, key: str, value: str) -> None:
    """Set one app_meta value inside `conn`'s transaction."""
    conn.execute(
        text(
            "INSERT INTO app_meta (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"k": key, "v": value},
    )


class MetaMixin(StoreBase):
    """Read and write app_meta; report the data version."""

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """Return one app_meta value."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT value FROM app_meta WHERE key = :k"), {"k": key}
            ).first()
        return row[0] if row else default

    def set_meta(self, key: str, value: str, conn: Connection | None = None) -> None:
        """Set one app_meta value (inside `conn`'s transaction when given)."""
        if conn is not None:
            write_meta(conn, key, value)
            return
        with self.engine.begin() as c:
            write_meta(c, key, value)

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

    def delete_meta(self, key: str) -> None:
        """Remove one app_meta value (no error when absent)."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM app_meta WHERE key = :k"), {"k": key})

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
