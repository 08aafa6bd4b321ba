"""Deterministic one-second market data: a correlated synthetic market and CSV replay.

Both generators produce `SecondBars` (per-second OHLCV for one minute) and
`rollup` turns them into the minute bar, so per-second (`A`) and per-minute
(`AM`) events are consistent by construction. The synthetic market is the
factor model the demo history uses too (`ingest.generate.factors`), run per
second; the clock, the bar types, replay and the universe live in
`ingest.generate` and are re-exported here for the simulator.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date

import numpy as np

from ingest.generate.clock import (
    CALENDAR,
    ET,
    EXTENDED_CLOSE_MIN,
    EXTENDED_OPEN_MIN,
    EXTENDED_VOL_MULT,
    HOURS_MODES,
    MS_PER_MINUTE,
    MS_PER_SECOND,
    OVERNIGHT_MINUTE_SHARE,
    OVERNIGHT_VOL_MULT,
    POST_SHARE,
    PRE_SHARE,
    REGULAR_CLOSE_MIN,
    REGULAR_OPEN_MIN,
    REGULAR_SHARE,
    SECONDS,
    SessionCalendar,
    et_datetime,
    et_midnight_ms,
    intraday_profile,
    to_epoch_ms,
)
from ingest.generate.factors import factor_returns, price_path, seeded_rng, stable_hash
from ingest.generate.replay import (
    SHARES_PER_REPLAY_TRADE,
    ReplayMarket,
    bridge_bars,
    load_minute_bars,
    normalize_minute_bars,
)
from ingest.generate.seconds import MinuteBars, SecondBars, rollup, round4, round_price
from ingest.generate.universe import (
    DEFAULT_ETFS,
    FALLBACK_UNIVERSE,
    INDEX_ETFS,
    SECTOR_ETFS,
    default_universe,
    make_symbols,
)

__all__ = [
    "CALENDAR",
    "DEFAULT_ETFS",
    "ET",
    "EXTENDED_CLOSE_MIN",
    "EXTENDED_OPEN_MIN",
    "EXTENDED_VOL_MULT",
    "FALLBACK_UNIVERSE",
    "HOURS_MODES",
    "INDEX_ETFS",
    "MARKET_VOL",
    "MS_PER_MINUTE",
    "MS_PER_SECOND",
    "OVERNIGHT_MINUTE_SHARE",
    "OVERNIGHT_VOL_MULT",
    "OVERNIGHT_VOL_SHARE",
    "POST_SHARE",
    "PRE_SHARE",
    "REGULAR_CLOSE_MIN",
    "REGULAR_OPEN_MIN",
    "REGULAR_SHARE",
    "SECONDS",
    "SECTOR_BUCKETS",
    "SECTOR_ETFS",
    "SECTOR_VOL",
    "SHARES_PER_REPLAY_TRADE",
    "TRADING_SECONDS_PER_YEAR",
    "MinuteBars",
    "ReplayMarket",
    "SecondBars",
    "SessionCalendar",
    "SyntheticMarket",
    "bridge_bars",
    "default_universe",
    "et_datetime",
    "et_midnight_ms",
    "intraday_profile",
    "load_minute_bars",
    "make_symbols",
    "normalize_minute_bars",
    "rollup",
    "round4",
    "round_price",
    "to_epoch_ms",
]

TRADING_SECONDS_PER_YEAR = 252 * 390 * 60
MARKET_VOL = 0.16
SECTOR_VOL = 0.10
OVERNIGHT_VOL_SHARE = 0.4
SECTOR_BUCKETS = 11


def _stable_bucket(symbol: str) -> int:
    return stable_hash(symbol) % SECTOR_BUCKETS


class SyntheticMarket:
    """Correlated synthetic market: market + sector + idiosyncratic returns.

    Deterministic for a given seed, symbol list and sequence of minutes: the
    random draws of each minute are seeded by (seed, minute).
    """

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        seed: int = 0,
        sectors: Mapping[str, str | None] | None = None,
        last_close: Mapping[str, float] | None = None,
        adv: Mapping[str, float] | None = None,
        etfs: Collection[str] | None = None,
        volume_scale: float = 1.0,
        calendar: SessionCalendar = CALENDAR,
    ) -> None:
        self.symbols = list(symbols)
        if len(set(self.symbols)) != len(self.symbols) or not self.symbols:
            raise ValueError("symbols must be a non-empty list of unique tickers")
        self.seed = int(seed)
        self.calendar = calendar
        self.volume_scale = float(volume_scale)
        etfs = DEFAULT_ETFS if etfs is None else frozenset(etfs)
        self._init_params(sectors or {}, last_close or {}, adv or {}, etfs)
        self._last_date: date | None = None

    def _init_params(
        self,
        sectors: Mapping[str, str | None],
        last_close: Mapping[str, float],
        adv: Mapping[str, float],
        etfs: frozenset[str],
    ) -> None:
        n = len(self.symbols)
        rng = seeded_rng(self.seed, 0)
        names = [
            sectors.get(s) or (None if s in INDEX_ETFS else f"#{_stable_bucket(s)}")
            for s in self.symbols
        ]
        uniq = sorted({x for x in names if x is not None})
        self.sector_names = uniq
        self.sector_idx = np.array([uniq.index(x) if x else 0 for x in names])
        has_sector = np.array([x is not None for x in names])
        is_etf = np.array([s in etfs for s in self.symbols])
        self.beta = np.where(is_etf, 1.0, np.clip(rng.normal(1.0, 0.25, n), 0.3, 2.0))
        load = np.where(is_etf, 1.0, np.clip(rng.normal(1.0, 0.25, n), 0.0, 2.0))
        self.sector_load = np.where(has_sector, load, 0.0)
        idio = np.clip(rng.lognormal(np.log(0.25), 0.35, n), 0.08, 1.2)
        self.idio_vol = np.where(is_etf, 0.03, idio)
        drift = np.where(is_etf, rng.normal(0.06, 0.05, n), rng.normal(0.06, 0.2, n))
        self.drift_sec = drift / TRADING_SECONDS_PER_YEAR
        stock_adv = np.clip(rng.lognormal(np.log(1.5e6), 1.0, n), 5e4, 8e7)
        etf_adv = np.clip(rng.lognormal(np.log(1.5e7), 0.8, n), 1e6, 9e7)
        default_adv = np.where(is_etf, etf_adv, stock_adv)
        self.adv = np.array(
            [
                float(adv.get(s, d))
                for s, d in zip(self.symbols, default_adv, strict=True)
            ]
        )
        self.avg_trade = rng.uniform(60, 220, n)
        default_px = np.clip(rng.lognormal(np.log(60), 0.9, n), 3, 2000)
        self.price = np.array(
            [
                float(last_close.get(s, p))
                for s, p in zip(self.symbols, default_px, strict=True)
            ]
        )
        if not np.all(np.isfinite(self.price) & (self.price > 0)):
            raise ValueError("last_close prices must be positive numbers")

    def _factor_returns(
        self, rng: np.random.Generator, scale: float, width: int
    ) -> np.ndarray:
        """Return (n, width) log returns at `scale` x the per-second volatility."""
        per_sec = scale / np.sqrt(TRADING_SECONDS_PER_YEAR)
        m = rng.standard_normal(width) * MARKET_VOL * per_sec
        s = rng.standard_normal((len(self.sector_names) or 1, width))
        s *= SECTOR_VOL * per_sec
        e = rng.standard_normal((len(self.symbols), width))
        e *= (self.idio_vol * per_sec)[:, None]
        sector = self.sector_load[:, None] * s[self.sector_idx]
        return factor_returns(self.beta[:, None], m[None, :], sector, e)

    def _overnight(self, rng: np.random.Generator) -> None:
        day_scale = OVERNIGHT_VOL_SHARE * np.sqrt(390 * 60)
        self.price = self.price * np.exp(self._factor_returns(rng, day_scale, 1)[:, 0])

    def generate(self, minute_ms: int) -> SecondBars:
        """Generate the next minute (advances the market state)."""
        rng = seeded_rng(self.seed, 7, minute_ms // MS_PER_MINUTE)
        day = et_datetime(minute_ms).date()
        if self._last_date is not None and day != self._last_date:
            self._overnight(rng)
        self._last_date = day
        frac, vol_mult = intraday_profile(minute_ms, self.calendar)
        r = self._factor_returns(rng, vol_mult, SECONDS) + self.drift_sec[:, None]
        path = price_path(self.price[:, None], r, axis=1)
        prev = np.concatenate([self.price[:, None], path[:, :-1]], axis=1)
        self.price = path[:, -1]
        burst = rng.gamma(4.0, 0.25, len(self.symbols))
        per_sec = self.adv * self.volume_scale * frac * burst / self.avg_trade / SECONDS
        trades = rng.poisson(np.broadcast_to(per_sec[:, None], path.shape))
        rows = np.flatnonzero((trades > 0).any(axis=1))
        sig = (self.idio_vol * vol_mult / np.sqrt(TRADING_SECONDS_PER_YEAR))[rows, None]
        return self._second_bars(
            minute_ms, rows, trades[rows], prev[rows], path[rows], sig, rng
        )

    def _second_bars(
        self,
        minute_ms: int,
        rows: np.ndarray,
        trades: np.ndarray,
        prev: np.ndarray,
        path: np.ndarray,
        sig: np.ndarray,
        rng: np.random.Generator,
    ) -> SecondBars:
        """Build per-second OHLC around the latent path, only where trades happened."""
        active = trades > 0
        ai, aj = np.nonzero(active)
        n = trades[ai, aj]
        px, vol_px = path[ai, aj], sig[ai, 0] * path[ai, aj]
        single = n == 1
        close = round_price(px)
        jitter = np.exp(0.3 * sig[ai, 0] * rng.standard_normal(len(ai)))
        opened = np.where(single, close, round_price(prev[ai, aj] * jitter))
        top, bottom = np.maximum(opened, close), np.minimum(opened, close)
        wick = np.abs(rng.standard_normal((2, len(ai)))) * 0.7 * vol_px
        high = np.where(single, close, np.maximum(round_price(top + wick[0]), top))
        low = np.where(single, close, np.minimum(round_price(bottom - wick[1]), bottom))
        mid = (opened + high + low + 2.0 * close) / 5.0
        vwap = np.where(single, close, np.clip(round4(mid), low, high))
        size = self.avg_trade[rows[ai]] * rng.lognormal(0.0, 0.4, len(ai))
        volume = np.maximum(n, np.rint(n * size)).astype(np.int64)

        def scatter(values: np.ndarray, fill: float) -> np.ndarray:
            out = np.full(trades.shape, fill, dtype=values.dtype)
            out[ai, aj] = values
            return out

        return SecondBars(
            minute_ms,
            rows.astype(np.int64),
            active,
            scatter(opened, np.nan),
            scatter(high, np.nan),
            scatter(low, np.nan),
            scatter(close, np.nan),
            scatter(vwap, np.nan),
            scatter(volume, 0),
            trades.astype(np.int64),
        )
