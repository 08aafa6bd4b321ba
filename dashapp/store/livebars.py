"""In-memory live bars: the in-progress minute per symbol, shared with readers.

Ingest writes here (many symbols at once, once per received frame); readers
(market-state snapshot, REST, UI) take consistent copies. The store holds only
the newest bar per symbol: the minute being built from per-second aggregates,
or the finished minute once its `AM` bar arrived (`final`). `version` bumps on
every publish so readers can key caches on it. Thread-safe; no I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import pandas as pd

LIVE_COLUMNS = (
    "symbol",
    "ts",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "vwap",
    "trades",
    "final",
    "updated",
    "session",
)


class LiveBar(NamedTuple):
    """One minute bar as seen live; `ts` and `updated` are epoch milliseconds UTC."""

    symbol: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float | None
    trades: int | None
    final: bool
    updated: int
    session: str | None = None  # pre / regular / post / closed (of the bar start)

    @property
    def timestamp(self) -> pd.Timestamp:
        """Return the bar start as a tz-aware UTC Timestamp."""
        return pd.Timestamp(self.ts, unit="ms", tz="UTC")


class LiveBarStore:
    """Thread-safe newest-bar-per-symbol map with a publish version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bars: dict[str, LiveBar] = {}
        self._version = 0

    @property
    def version(self) -> int:
        """Return a counter that changes whenever live bars change."""
        return self._version

    def __len__(self) -> int:
        return len(self._bars)

    def publish(self, bars: Iterable[LiveBar]) -> int:
        """Replace the live bar of each given symbol unless ours is newer."""
        n = 0
        with self._lock:
            current = self._bars
            for bar in bars:
                old = current.get(bar.symbol)
                if old is not None and old.ts > bar.ts:
                    continue
                current[bar.symbol] = bar
                n += 1
            if n:
                self._version += 1
        return n

    def get(self, symbol: str) -> LiveBar | None:
        """Return the live bar of one symbol, or None."""
        return self._bars.get(symbol)

    def bars(self, symbols: Sequence[str] | None = None) -> dict[str, LiveBar]:
        """Return a copy of the live bars (optionally only for `symbols`)."""
        with self._lock:
            if symbols is None:
                return dict(self._bars)
            get = self._bars.get
            return {s: b for s in symbols if (b := get(s)) is not None}

    def snapshot(
        self, symbols: Sequence[str] | None = None, include_final: bool = True
    ) -> pd.DataFrame:
        """Return live bars as a frame shaped like `Store.read_minute` (+ final)."""
        rows = list(self.bars(symbols).values())
        if not include_final:
            rows = [r for r in rows if not r.final]
        frame = pd.DataFrame(rows, columns=list(LIVE_COLUMNS))
        frame["ts"] = pd.to_datetime(frame["ts"].astype("int64"), unit="ms", utc=True)
        frame["updated"] = pd.to_datetime(
            frame["updated"].astype("int64"), unit="ms", utc=True
        )
        return frame.sort_values("symbol", ignore_index=True)

    def newest_ts(self) -> int | None:
        """Return the newest bar start (epoch ms) held, or None when empty."""
        with self._lock:
            return max((b.ts for b in self._bars.values()), default=None)

    def drop(self, symbols: Iterable[str]) -> None:
        """Forget the live bars of some symbols (e.g. after unsubscribe)."""
        with self._lock:
            for s in symbols:
                self._bars.pop(s, None)
            self._version += 1

    def clear(self) -> None:
        """Forget every live bar."""
        with self._lock:
            self._bars.clear()
            self._version += 1

    def as_dicts(self, symbols: Sequence[str] | None = None) -> list[Mapping[str, Any]]:
        """Return live bars as JSON-ready dicts (ts in ISO 8601 UTC)."""
        out = []
        for bar in self.bars(symbols).values():
            row = bar._asdict()
            row["ts"] = bar.timestamp.isoformat()
            row["updated"] = pd.Timestamp(bar.updated, unit="ms", tz="UTC").isoformat()
            out.append(row)
        return sorted(out, key=lambda r: r["symbol"])
