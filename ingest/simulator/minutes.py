"""Turn one market minute into its `A` events, `AM` event and bar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ingest.simulator.encoding import EventEncoder
from ingest.synthetic import (
    MS_PER_SECOND,
    SECONDS,
    MinuteBars,
    SecondBars,
    et_datetime,
    rollup,
    round4,
)


class DayState:
    """Per-symbol day accumulators behind `av`, `a` and `op`."""

    def __init__(self, n: int) -> None:
        self.day: date | None = None
        self.cum_v = np.zeros(n, dtype=np.int64)
        self.cum_pv = np.zeros(n, dtype=np.float64)
        self.op = np.full(n, np.nan)
        self.official = np.zeros(n, dtype=bool)

    def roll(self, day: date) -> None:
        """Reset the accumulators when the America/New_York date changes."""
        if day != self.day:
            self.day = day
            self.cum_v[:] = 0
            self.cum_pv[:] = 0.0
            self.op[:] = np.nan
            self.official[:] = False


@dataclass
class Minute:
    """One generated minute: its bar (ground truth) and its events, ready to send."""

    minute_ms: int
    bars: MinuteBars
    am_cols: dict[str, np.ndarray]
    a_sym: np.ndarray
    a_cols: dict[str, np.ndarray]
    a_starts: np.ndarray
    sec_off: np.ndarray
    encoder: EventEncoder
    sent: int = 0
    _a_cache: dict[int, np.ndarray] = field(default_factory=dict)
    _am_cache: np.ndarray | None = None

    @property
    def a_events(self) -> int:
        """Return the number of `A` events in this minute."""
        return len(self.a_sym)

    def second_rows(self, j: int) -> slice:
        """Return the slice of `A` events for second j."""
        return slice(int(self.sec_off[j]), int(self.sec_off[j + 1]))

    def encode_a(self, j: int, sel: np.ndarray | None) -> np.ndarray:
        """Return encoded `A` events of second j (all, or the rows in `sel`)."""
        cached = self._a_cache.get(j)
        if cached is not None:
            return cached if sel is None else cached[sel]
        rows = self.second_rows(j)
        idx = np.arange(rows.start, rows.stop) if sel is None else rows.start + sel
        cols = {k: v[idx] for k, v in self.a_cols.items()}
        pieces = self.encoder.encode("A", self.a_sym[idx], cols, self.a_starts[idx])
        if sel is None:
            self._a_cache[j] = pieces
        return pieces

    def encode_am(self, sel: np.ndarray | None) -> np.ndarray:
        """Return encoded `AM` events (all, or the rows in `sel`)."""
        if self._am_cache is None:
            starts = np.full(len(self.bars), self.minute_ms, dtype=np.int64)
            self._am_cache = self.encoder.encode(
                "AM", self.bars.sym_idx, self.am_cols, starts
            )
        return self._am_cache if sel is None else self._am_cache[sel]

    def preencode(self) -> None:
        """Serialise every event now so sending later costs no CPU."""
        for j in range(SECONDS):
            self.encode_a(j, None)
        self.encode_am(None)


def build_minute(
    sb: SecondBars, day: DayState, encoder: EventEncoder, regular: bool
) -> Minute:
    """Turn per-second bars into the minute's A events, AM event and bar."""
    day.roll(et_datetime(sb.minute_ms).date())
    rows, act = sb.sym_idx, sb.active
    k = len(rows)
    vol = sb.volume
    cum_v = day.cum_v[rows, None] + np.cumsum(vol, axis=1)
    cum_pv = day.cum_pv[rows, None] + np.cumsum(
        np.where(act, sb.vwap * vol, 0.0), axis=1
    )
    first_open = sb.open[np.arange(k), act.argmax(axis=1)] if k else np.empty(0)
    op = day.op[rows]
    if regular:
        op = np.where(day.official[rows], op, first_open)
        day.official[rows] = True
    op = np.where(np.isnan(op), first_open, op)
    day.op[rows] = op
    end_v = cum_v[:, -1] if k else np.empty(0, dtype=np.int64)
    end_pv = cum_pv[:, -1] if k else np.empty(0)
    day.cum_v[rows] = end_v
    day.cum_pv[rows] = end_pv
    sec, r = np.nonzero(act.T)  # events ordered by second, then symbol
    flat = r * SECONDS + sec

    def pick(a: np.ndarray) -> np.ndarray:
        return np.take(a.ravel(), flat)

    a_v, a_av = pick(vol), pick(cum_v)
    a_cols = {
        "v": a_v,
        "av": a_av,
        "op": op[r],
        "vw": pick(sb.vwap),
        "o": pick(sb.open),
        "c": pick(sb.close),
        "h": pick(sb.high),
        "l": pick(sb.low),
        "a": round4(pick(cum_pv) / np.maximum(a_av, 1)),
        "z": np.rint(a_v / np.maximum(pick(sb.trades), 1)).astype(np.int64),
    }
    bars = rollup(sb)
    am_cols = {
        "v": bars.volume,
        "av": end_v,
        "op": op,
        "vw": bars.vwap,
        "o": bars.open,
        "c": bars.close,
        "h": bars.high,
        "l": bars.low,
        "a": round4(end_pv / np.maximum(end_v, 1)),
        "z": np.rint(bars.volume / np.maximum(bars.trades, 1)).astype(np.int64),
    }
    return Minute(
        sb.minute_ms,
        bars,
        am_cols,
        rows[r],
        a_cols,
        sb.minute_ms + sec.astype(np.int64) * MS_PER_SECOND,
        np.searchsorted(sec, np.arange(SECONDS + 1)),
        encoder,
    )
