"""The ground truth: every AM bar the simulator emitted, by minute."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ingest.simulator.minutes import Minute
from ingest.synthetic import to_epoch_ms

TRUTH_COLUMNS = ("open", "high", "low", "close", "vwap", "volume", "trades")
_TRUTH_DTYPES = {"sym": np.int64, "t": np.int64, "volume": np.int64, "trades": np.int64}


class GroundTruth:
    """Every AM bar the simulator emitted (corrections applied), by minute."""

    def __init__(self, symbols: Sequence[str], retain_minutes: int | None) -> None:
        self._symbols = np.array(symbols, dtype=object)
        self._retain = retain_minutes
        self._chunks: dict[int, Minute] = {}
        self._keys: list[int] = []
        self._lock = threading.RLock()

    def add(self, minute: Minute) -> None:
        """Record a finished minute."""
        with self._lock:
            if minute.minute_ms not in self._chunks:
                bisect.insort(self._keys, minute.minute_ms)
            self._chunks[minute.minute_ms] = minute
            while self._retain and len(self._keys) > self._retain:
                self._chunks.pop(self._keys.pop(0))

    def get(self, minute_ms: int) -> Minute | None:
        """Return the recorded minute starting at `minute_ms`."""
        with self._lock:
            return self._chunks.get(minute_ms)

    def latest(self) -> int | None:
        """Return the start of the latest recorded minute."""
        with self._lock:
            return self._keys[-1] if self._keys else None

    def minutes(self, lo_ms: int, hi_ms: int) -> list[Minute]:
        """Return recorded minutes with start in [lo_ms, hi_ms], in order."""
        with self._lock:
            a = bisect.bisect_left(self._keys, lo_ms)
            b = bisect.bisect_right(self._keys, hi_ms)
            return [self._chunks[k] for k in self._keys[a:b]]

    def arrays(self, lo_ms: int, hi_ms: int, sym: int | None = None) -> dict:
        """Return column arrays (sym, t and bar fields) for a time range."""
        with self._lock:  # corrections edit bars in place
            return self._arrays(lo_ms, hi_ms, sym)

    def _arrays(self, lo_ms: int, hi_ms: int, sym: int | None) -> dict:
        parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("sym", "t", *TRUTH_COLUMNS)
        }
        for m in self.minutes(lo_ms, hi_ms):
            b = m.bars
            if sym is None:
                sel = slice(None)
                n = len(b)
            else:
                pos = int(np.searchsorted(b.sym_idx, sym))
                if pos >= len(b) or b.sym_idx[pos] != sym:
                    continue
                sel, n = slice(pos, pos + 1), 1
            parts["sym"].append(b.sym_idx[sel])
            parts["t"].append(np.full(n, m.minute_ms, dtype=np.int64))
            for name in TRUTH_COLUMNS:
                parts[name].append(getattr(b, name)[sel])
        return {
            k: np.concatenate(v)
            if v
            else np.empty(0, dtype=_TRUTH_DTYPES.get(k, float))
            for k, v in parts.items()
        }

    def frame(
        self,
        start: Any = None,
        end: Any = None,
        symbols: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """Return bars as symbol, ts (UTC bar start), OHLC, volume, vwap, trades."""
        lo = to_epoch_ms(start) if start is not None else -(2**62)
        hi = to_epoch_ms(end) - 1 if end is not None else 2**62
        cols = self.arrays(lo, hi)
        df = pd.DataFrame(
            {
                "symbol": self._symbols[cols["sym"]].astype(str),
                "ts": pd.to_datetime(cols["t"], unit="ms", utc=True),
                **{name: cols[name] for name in TRUTH_COLUMNS},
            }
        )
        df = df[
            ["symbol", "ts", "open", "high", "low", "close", "volume", "vwap", "trades"]
        ]
        if symbols is not None:
            df = df[df["symbol"].isin(set(symbols))]
        return df.sort_values(["ts", "symbol"], ignore_index=True)
