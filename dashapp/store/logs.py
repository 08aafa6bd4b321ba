"""The error log and the rejected bars: what went wrong, kept for the admin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from dashapp.store.base import StoreBase, utcnow
from dashapp.store.schema import error_log, rejected_bars


class LogsMixin(StoreBase):
    """Insert and read error_log and rejected_bars."""

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
