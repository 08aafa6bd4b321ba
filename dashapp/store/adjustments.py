"""Reconciliations and splits applied to stored history (issue 13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from dashapp.store.base import StoreBase, utcnow
from dashapp.store.schema import corporate_actions, data_adjustments


class AdjustmentsMixin(StoreBase):
    """Record rescalings; apply each split to stored bars exactly once."""

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
        with self.engine.begin() as conn:
            seen = conn.execute(
                select(corporate_actions.c.id).where(corporate_actions.c.id == split_id)
            ).first()
            if seen is not None:
                return None
            cutoffs = self._split_cutoffs(execution_date, minute_cutoff)
            rows = {
                table: _scale_before(conn, table, col, at, symbol, ratio)
                for table, (col, at) in cutoffs.items()
                if table in tables
            }
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
        return rows.get("ohlcv_daily", 0), rows.get("ohlcv_1min", 0)

    def closes_around(
        self, symbol: str, execution_date: dt.date, minute_cutoff: dt.datetime
    ) -> dict[str, tuple[float | None, float | None]]:
        """Return per bar table the last close before and the first close at a split."""
        bounds = self._split_cutoffs(execution_date, minute_cutoff)
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

    def _split_cutoffs(
        self, execution_date: dt.date, minute_cutoff: dt.datetime
    ) -> dict[str, tuple[str, Any]]:
        """Return per bar table its time column and the first time a split affects."""
        return {
            "ohlcv_daily": ("date", self._date_param(execution_date)),
            "ohlcv_1min": ("ts", self._ts_param(minute_cutoff)),
        }


def _scale_before(
    conn: Connection, table: str, col: str, at: Any, symbol: str, ratio: float
) -> int:
    """Divide prices (and multiply volumes) by `ratio` before `at`; return rows."""
    prices = "open = open / :r, high = high / :r, low = low / :r, "
    prices += "close = close / :r, volume = volume * :r"
    if table == "ohlcv_1min":
        prices += ", vwap = vwap / :r"
    return conn.execute(
        text(f"UPDATE {table} SET {prices} WHERE symbol = :s AND {col} < :at"),
        {"r": ratio, "s": symbol, "at": at},
    ).rowcount
