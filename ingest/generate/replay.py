"""CSV replay: recorded minute bars split into per-second bars that roll back up.

`ReplayMarket` serves recorded minute bars minute by minute; `bridge_bars`
splits each into per-second bars whose roll-up is exactly the recorded
open/high/low/close/volume.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.generate.clock import ET, MS_PER_MINUTE, SECONDS
from ingest.generate.factors import seeded_rng
from ingest.generate.seconds import SecondBars, round4, round_price

SHARES_PER_REPLAY_TRADE = 100


def normalize_minute_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Return long minute bars as symbol, ts (epoch ms), open, high, low, close, volume.

    Accepts a `datetime`, `timestamp` or `ts` column: ISO strings (naive ones
    are taken as America/New_York), datetimes, or epoch seconds / milliseconds.
    """
    df = bars.rename(columns=str.lower)
    time_col = next((c for c in ("ts", "timestamp", "datetime", "t") if c in df), None)
    if time_col is None or "symbol" not in df:
        raise ValueError("minute bars need a symbol and a datetime/timestamp column")
    raw = df[time_col]
    if pd.api.types.is_numeric_dtype(raw):
        ms = raw.astype("int64")
        ms = ms.where(ms > 10**11, ms * 1000)
    else:
        stamps = pd.to_datetime(raw, utc=False, format="ISO8601")
        if getattr(stamps.dt, "tz", None) is None:
            stamps = stamps.dt.tz_localize(ET)
        ms = stamps.dt.tz_convert("UTC").astype("datetime64[ms, UTC]").astype("int64")
    out = pd.DataFrame(
        {
            "symbol": df["symbol"].astype(str).to_numpy(),
            "ts": (ms - ms % MS_PER_MINUTE).to_numpy(dtype=np.int64),
            "open": df["open"].to_numpy(dtype=np.float64),
            "high": df["high"].to_numpy(dtype=np.float64),
            "low": df["low"].to_numpy(dtype=np.float64),
            "close": df["close"].to_numpy(dtype=np.float64),
            "volume": np.rint(df["volume"].to_numpy(dtype=np.float64)).astype(np.int64),
        }
    )
    out = out.drop_duplicates(["symbol", "ts"], keep="last")
    return out.sort_values(["ts", "symbol"], ignore_index=True)


def load_minute_bars(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read long-format minute bars from a CSV (optionally .gz) or a DataFrame."""
    if isinstance(source, pd.DataFrame):
        return normalize_minute_bars(source)
    return normalize_minute_bars(pd.read_csv(source))


class ReplayMarket:
    """Replays minute bars, splitting each into per-second bars that roll back up."""

    def __init__(
        self,
        bars: str | Path | pd.DataFrame,
        *,
        seed: int = 0,
        symbols: Collection[str] | None = None,
    ) -> None:
        df = load_minute_bars(bars)
        if symbols is not None:
            df = df[df["symbol"].isin(set(symbols))].reset_index(drop=True)
        if df.empty:
            raise ValueError("no minute bars to replay")
        self.seed = int(seed)
        self.symbols = sorted(df["symbol"].unique().tolist())
        index = {s: i for i, s in enumerate(self.symbols)}
        self._sym = df["symbol"].map(index).to_numpy(dtype=np.int64)
        self._ts = df["ts"].to_numpy()
        self._ohlcv = df[["open", "high", "low", "close", "volume"]].to_numpy(
            dtype=np.float64
        )
        self.minutes, self._starts = np.unique(self._ts, return_index=True)
        self._ends = np.append(self._starts[1:], len(self._ts))

    def next_minute(self, after_ms: int | None) -> int | None:
        """Return the first replayed minute strictly after `after_ms` (None: first)."""
        if after_ms is None:
            return int(self.minutes[0])
        pos = int(np.searchsorted(self.minutes, after_ms, side="right"))
        return int(self.minutes[pos]) if pos < len(self.minutes) else None

    def generate(self, minute_ms: int) -> SecondBars:
        """Return per-second bars for the replayed bars of this minute."""
        pos = int(np.searchsorted(self.minutes, minute_ms))
        if pos >= len(self.minutes) or self.minutes[pos] != minute_ms:
            lo = hi = 0
        else:
            lo, hi = int(self._starts[pos]), int(self._ends[pos])
        rng = seeded_rng(self.seed, 11, minute_ms // MS_PER_MINUTE)
        o, h, lw, c, v = (self._ohlcv[lo:hi, k] for k in range(5))
        return bridge_bars(
            minute_ms, self._sym[lo:hi], o, h, lw, c, v.astype(np.int64), rng
        )


def _pick_active(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Return a (k, 60) mask with `counts[r]` random seconds set in row r."""
    order = np.argsort(rng.random((len(counts), SECONDS)), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(SECONDS)[None, :], axis=1)
    return ranks < counts[:, None]


def _random_active_column(rng: np.random.Generator, active: np.ndarray) -> np.ndarray:
    return np.where(active, rng.random(active.shape), -1.0).argmax(axis=1)


def _split_volume(
    rng: np.random.Generator, active: np.ndarray, volume: np.ndarray
) -> np.ndarray:
    """Split each row's volume over its active seconds (>= 1 share each)."""
    counts = active.sum(axis=1)
    extra = np.maximum(volume - counts, 0)
    weights = np.where(active, rng.random(active.shape), 0.0)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    alloc = np.floor(weights * extra[:, None]).astype(np.int64)
    rest = extra - alloc.sum(axis=1)
    alloc[np.arange(len(volume)), _random_active_column(rng, active)] += rest
    return np.where(active, alloc + (volume > 0)[:, None], 0)


def bridge_bars(
    minute_ms: int,
    sym_idx: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    low: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    rng: np.random.Generator,
) -> SecondBars:
    """Split minute bars into per-second bars that roll up to exactly o/h/l/c/v."""
    k = len(sym_idx)
    rows = np.arange(k)
    counts = np.clip(np.rint(v / SHARES_PER_REPLAY_TRADE), 1, SECONDS).astype(np.int64)
    counts = np.where(v > 0, np.minimum(counts, np.maximum(v, 1)), 1)
    active = _pick_active(rng, counts)
    pos = np.cumsum(active, axis=1) - 1
    frac = (pos + 1) / counts[:, None]
    base = o[:, None] + (c - o)[:, None] * frac
    noise = rng.standard_normal((k, SECONDS)) * ((h - low) / 4.0)[:, None]
    noise *= np.sqrt(np.clip(frac * (1.0 - frac), 0.0, None))
    close = np.clip(round_price(base + noise), low[:, None], h[:, None])
    close = np.where(pos == (counts - 1)[:, None], c[:, None], close)
    cols = np.where(active, np.arange(SECONDS)[None, :], -1)
    last_before = np.maximum.accumulate(cols, axis=1)
    prev = np.concatenate([np.full((k, 1), -1), last_before[:, :-1]], axis=1)
    prev_close = np.take_along_axis(close, np.maximum(prev, 0), axis=1)
    opened = np.where(prev >= 0, prev_close, o[:, None])
    high = np.maximum(opened, close)
    lowest = np.minimum(opened, close)
    jh = _random_active_column(rng, active)
    jl = _random_active_column(rng, active)
    high[rows, jh] = np.maximum(high[rows, jh], h)
    lowest[rows, jl] = np.minimum(lowest[rows, jl], low)
    vwap = np.clip(round4((high + lowest + close) / 3.0), lowest, high)
    volume = _split_volume(rng, active, v)
    trades = np.where(
        active, np.maximum(1, np.rint(volume / SHARES_PER_REPLAY_TRADE)), 0
    ).astype(np.int64)

    def masked(a: np.ndarray) -> np.ndarray:
        return np.where(active, a, np.nan)

    return SecondBars(
        minute_ms,
        np.asarray(sym_idx, dtype=np.int64),
        active,
        masked(opened),
        masked(high),
        masked(lowest),
        masked(close),
        masked(vwap),
        volume.astype(np.int64),
        trades,
    )
