"""Per-second bars of one minute and their roll-up into the minute bar.

Both per-second generators (the synthetic market and CSV replay) produce
`SecondBars`; `rollup` turns them into `MinuteBars`, so per-second (`A`) and
per-minute (`AM`) events are consistent by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.generate.clock import SECONDS


def round_price(p: np.ndarray) -> np.ndarray:
    """Round prices to the tick: cents at or above $1, 1/100 cent below."""
    p = np.asarray(p, dtype=np.float64)
    scale = np.where(p >= 1.0, 100.0, 10_000.0)
    return np.maximum(np.rint(p * scale) / scale, 0.0001)


def round4(x: np.ndarray) -> np.ndarray:
    """Round to 4 decimals so the value prints exactly as sent."""
    return np.rint(np.asarray(x, dtype=np.float64) * 10_000.0) / 10_000.0


@dataclass
class SecondBars:
    """One minute of per-second bars for the symbols that traded in it.

    Arrays are (k, 60): row r is symbol `sym_idx[r]`, column j the second j.
    Prices are NaN and volumes 0 where `active` is False.
    """

    minute_ms: int
    sym_idx: np.ndarray
    active: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    vwap: np.ndarray
    volume: np.ndarray
    trades: np.ndarray

    def keep_from(self, first_second: int) -> SecondBars:
        """Return a copy with no trades before `first_second` (a partial minute)."""
        active = self.active.copy()
        active[:, :first_second] = False
        rows = np.flatnonzero(active.any(axis=1))
        mask = active[rows]

        def cut(a: np.ndarray, fill: float | int) -> np.ndarray:
            return np.where(mask, a[rows], fill)

        return SecondBars(
            self.minute_ms,
            self.sym_idx[rows],
            mask,
            cut(self.open, np.nan),
            cut(self.high, np.nan),
            cut(self.low, np.nan),
            cut(self.close, np.nan),
            cut(self.vwap, np.nan),
            cut(self.volume, 0),
            cut(self.trades, 0),
        )


@dataclass
class MinuteBars:
    """The minute bars of one minute, one row per symbol that traded."""

    minute_ms: int
    sym_idx: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    vwap: np.ndarray
    volume: np.ndarray
    trades: np.ndarray

    def __len__(self) -> int:
        return len(self.sym_idx)


def rollup(sb: SecondBars) -> MinuteBars:
    """Roll per-second bars up into the minute bar (first open, last close...)."""
    act = sb.active
    rows = np.arange(len(sb.sym_idx))
    first = act.argmax(axis=1)
    last = SECONDS - 1 - act[:, ::-1].argmax(axis=1)
    volume = sb.volume.sum(axis=1)
    pv = np.where(act, sb.vwap * sb.volume, 0.0).sum(axis=1)
    close = sb.close[rows, last]
    vwap = np.where(volume > 0, round4(pv / np.maximum(volume, 1)), close)
    return MinuteBars(
        sb.minute_ms,
        sb.sym_idx.astype(np.int64),
        sb.open[rows, first],
        np.where(act, sb.high, -np.inf).max(axis=1),
        np.where(act, sb.low, np.inf).min(axis=1),
        close,
        vwap,
        volume.astype(np.int64),
        sb.trades.sum(axis=1).astype(np.int64),
    )
