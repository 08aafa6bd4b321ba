"""Deterministic demo history: a realistic, labelled daily market for a fresh install.

A fresh `make run` has no data, yet rankings need 253 sessions and stages 30+
weeks. `ensure_demo_history` fills an empty database with 320 XNYS sessions
ending at the previous session for every reference symbol (S&P 500, the 11
sector ETFs, the index ETFs), stored with source 'demo' and the `demo_data`
app_meta flag set so the UI can label it. Loading real history (file import,
REST backfill) deletes it. The live simulator continues from `last_closes`.

The market is a factor model of daily log returns (vectorised and seeded):

* market: drift regimes (advance, a ~20% correction, recovery) with volatility
  that rises in the correction;
* 11 sector factors relative to the market: a sine of 16-26 weeks with the
  phases spread evenly around the circle at the last session, plus noise, so
  the sector ETFs rotate clockwise through all four RRG quadrants and occupy
  all four at the end;
* stocks: beta x market + sector factor + an idiosyncratic trend + noise. Each
  stock gets an archetype (advancer, decliner, topping, basing, or random
  trend changes) with jittered turning points; tops and bases go sideways
  whatever the market does, so all four Weinstein stages occur. The trends
  net out across the market (cap-weighted) and noise sums to zero over 8-week
  blocks, so the designed trends and reversals hold for every seed;
* sector ETFs = beta x market + their sector factor (+ tracking noise); SPY is
  the cap-weighted S&P 500 (Zipf caps, the real giants first, caps drifting
  with prices), RSP its equal-weighted twin, QQQ the cap-weighted growth
  sectors, DIA 30 large caps, IWM a higher-beta small-cap proxy;
* OHLC from overnight gaps and intraday ranges scaled to each symbol's
  volatility, rounded to cents; volume from a dollar-volume level (growing
  with cap) with noise that grows on large moves.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashapp.store import DEMO_KEY, Store
from dashapp.store.reference import index_etfs, sector_etfs, sp500

log = logging.getLogger(__name__)

DEMO_SOURCE = "demo"
DEMO_FLAG = "1"  # app_meta[DEMO_KEY]; readers test `== "1"`
DEMO_INFO_KEY = "demo_data_info"  # JSON: seed, sessions, start, end, symbols
DEFAULT_SESSIONS = 320
DEFAULT_SEED = 7
MIN_SESSIONS = 60
TRADING_DAYS = 252
SESSIONS_PER_WEEK = 5

# Market factor: (fraction of the history where a regime starts, drift/day, vol x).
MARKET_REGIMES = ((0.0, 0.0005, 1.0), (0.30, -0.0025, 1.7), (0.45, 0.0008, 1.0))
MARKET_VOL = 0.0095
# Sector cycles relative to the market.
SECTOR_WEEKS = (16.0, 26.0)
SECTOR_AMPLITUDE = (0.05, 0.09)
SECTOR_NOISE = 0.0035
ETF_TRACKING_NOISE = 0.0012
SECTOR_BETA = {
    "Information Technology": 1.25,
    "Consumer Discretionary": 1.15,
    "Communication Services": 1.10,
    "Financials": 1.10,
    "Industrials": 1.05,
    "Materials": 1.00,
    "Energy": 0.90,
    "Real Estate": 0.90,
    "Health Care": 0.80,
    "Consumer Staples": 0.60,
    "Utilities": 0.55,
}
# Stocks.
BETA_SPREAD = 0.20
BETA_RANGE = (0.3, 2.0)
IDIO_VOL = (0.010, 0.024)
ARCHETYPES = ("advancer", "decliner", "topping", "basing", "wanderer")
ARCHETYPE_SHARES = (0.24, 0.16, 0.16, 0.16, 0.28)
TREND = 0.0028  # |drift|/day of a strong idiosyncratic trend
EARLY_TURN = (0.10, 0.30)  # where trends start, as a fraction of the history
LATE_TURN = (0.55, 0.72)  # where tops, bases and declines start
CAP_EXPONENT = 0.9
# The largest S&P 500 members by market cap (2025), so SPY's weights look familiar.
MEGA_CAPS = (
    "NVDA", "MSFT", "AAPL", "AMZN", "GOOGL", "META", "AVGO", "GOOG", "BRK.B", "TSLA",
    "JPM", "WMT", "LLY", "V", "ORCL", "MA", "NFLX", "XOM", "COST", "JNJ",
)  # fmt: skip
NOISE_BLOCK = 40  # sessions over which noise sums to zero
PRICE_RANGE = (15.0, 600.0)
# Index ETFs.
GROWTH_SECTORS = (
    "Information Technology",
    "Communication Services",
    "Consumer Discretionary",
)
QQQ_MEMBERS = 100
DIA_MEMBERS = 30
IWM_BETA = 1.2
IWM_NOISE = 0.006
ETF_START = {
    "SPY": 520.0,
    "QQQ": 450.0,
    "IWM": 205.0,
    "DIA": 400.0,
    "RSP": 165.0,
    "XLK": 210.0,
    "XLF": 42.0,
    "XLV": 140.0,
    "XLE": 88.0,
    "XLI": 125.0,
    "XLY": 185.0,
    "XLP": 78.0,
    "XLU": 70.0,
    "XLB": 88.0,
    "XLRE": 40.0,
    "XLC": 85.0,
}
# Dollar volume per day (median) by kind; stocks spread log-normally.
STOCK_DOLLAR_VOLUME = 1.5e8
DOLLAR_VOLUME_CAP_ELASTICITY = 0.6
ETF_DOLLAR_VOLUME = {
    "SPY": 3.0e10,
    "QQQ": 1.5e10,
    "IWM": 5.0e9,
    "DIA": 6.0e8,
    "RSP": 3.0e8,
}
SECTOR_ETF_DOLLAR_VOLUME = 8.0e8
VOLUME_NOISE = 0.25
# OHLC shape relative to the symbol's daily volatility.
GAP_SHARE = 0.35
RANGE_SHARE = 0.55


@dataclass(frozen=True)
class DemoUniverse:
    """The symbols the demo covers: stocks with sectors, sector ETFs, index ETFs."""

    stocks: list[str]
    stock_sectors: list[str]
    sectors: list[str]
    sector_etfs: list[str]
    index_etfs: list[str]

    @property
    def symbols(self) -> list[str]:
        """Return every symbol, stocks first."""
        return [*self.stocks, *self.sector_etfs, *self.index_etfs]


def reference_universe() -> DemoUniverse:
    """Return the demo universe from the shipped reference data."""
    stocks = sp500()
    etfs = sector_etfs()
    return DemoUniverse(
        stocks=stocks["symbol"].tolist(),
        stock_sectors=stocks["sector"].tolist(),
        sectors=etfs["sector"].tolist(),
        sector_etfs=etfs["symbol"].tolist(),
        index_etfs=index_etfs()["symbol"].tolist(),
    )


def _rng(seed: int, *labels: str) -> np.random.Generator:
    """Return a generator that depends only on the seed and the labels."""
    return np.random.default_rng([seed, *(zlib.crc32(s.encode()) for s in labels)])


# ------------------------------------------------------------------ factors
def block_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Return unit normal noise whose sum is zero over each block of sessions.

    Daily moves stay random, but chance cannot build a months-long trend: the
    trends and reversals are the designed ones, whatever the seed.
    """
    z = rng.standard_normal(shape)
    n = shape[0]
    for lo in range(0, n, NOISE_BLOCK):
        part = z[lo : lo + NOISE_BLOCK]
        if len(part) > 1:
            part -= part.mean(axis=0)
            part *= np.sqrt(len(part) / (len(part) - 1))
    return z


def market_factor(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (log returns, deterministic drift, vol multiplier) of the market."""
    rng = _rng(seed, "market")
    drift = np.zeros(n)
    volx = np.ones(n)
    for start, mu, vol in MARKET_REGIMES:
        jitter = int(rng.integers(-n // 40, n // 40 + 1)) if start else 0
        begin = max(0, min(n - 1, int(start * n) + jitter))
        drift[begin:] = mu
        volx[begin:] = vol
    returns = drift + MARKET_VOL * volx * block_noise(rng, (n,))
    return returns, drift, volx


def sector_factors(seed: int, sectors: list[str], n: int) -> np.ndarray:
    """Return (n x sectors) relative log returns: phase-spread cycles plus noise."""
    rng = _rng(seed, "sectors")
    k = len(sectors)
    t = np.arange(n + 1, dtype=np.float64) - n  # 0 at the last session
    order = rng.permutation(k)
    noise = block_noise(rng, (n, k))
    out = np.empty((n, k))
    for j in range(k):
        period = rng.uniform(*SECTOR_WEEKS) * SESSIONS_PER_WEEK
        amplitude = rng.uniform(*SECTOR_AMPLITUDE)
        phase = 2 * np.pi * order[j] / k + rng.uniform(-0.15, 0.15)
        level = amplitude * np.sin(2 * np.pi * t / period + phase)
        out[:, j] = np.diff(level) + SECTOR_NOISE * noise[:, j]
    return out


def _trend_path(
    rng: np.random.Generator, kind: str, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return one archetype's own drift per session and where its price is flat."""
    drift = np.zeros(n)
    flat = np.zeros(n, dtype=bool)
    late = int(n * rng.uniform(*LATE_TURN))
    early = int(n * rng.uniform(*EARLY_TURN))
    strength = TREND * rng.uniform(0.6, 1.3)
    if kind == "advancer":
        drift[:early] = rng.normal(0, TREND / 3)
        drift[early:] = strength * 0.5
    elif kind == "decliner":
        drift[:late] = strength * rng.uniform(0.0, 0.5)
        drift[late:] = -strength
    elif kind == "topping":
        drift[early:late] = strength
        flat[late:] = True
    elif kind == "basing":
        drift[early:late] = -strength
        flat[late:] = True
    else:
        edge = 0
        while edge < n:
            span = int(rng.integers(n // 6, n // 3))
            drift[edge : edge + span] = rng.normal(0, TREND * 0.6)
            edge += span
    return drift, flat


def cap_weights(seed: int, stocks: list[str]) -> np.ndarray:
    """Return Zipf-like starting market caps (the real giants first, then a shuffle)."""
    m = len(stocks)
    giants = [s for s in MEGA_CAPS if s in stocks]
    rest = [s for s in stocks if s not in set(giants)]
    order = giants + [rest[i] for i in _rng(seed, "caps").permutation(len(rest))]
    rank = {sym: r for r, sym in enumerate(order)}
    caps = np.array([1.0 / (1.0 + rank[s]) ** CAP_EXPONENT for s in stocks])
    return caps / caps.sum() if m else caps


# --------------------------------------------------------------- generation
def generate_demo(
    sessions: list[dt.date] | pd.DatetimeIndex,
    seed: int = DEFAULT_SEED,
    universe: DemoUniverse | None = None,
) -> pd.DataFrame:
    """Return demo daily bars (symbol, date, open, high, low, close, volume)."""
    universe = universe or reference_universe()
    dates = pd.DatetimeIndex(pd.to_datetime(list(sessions))).sort_values()
    n = len(dates)
    if n < MIN_SESSIONS:
        raise ValueError(f"demo history needs at least {MIN_SESSIONS} sessions")
    market, market_drift, volx = market_factor(seed, n)
    sector_rel = sector_factors(seed, universe.sectors, n)
    caps = cap_weights(seed, universe.stocks)
    stock_ret, stock_vol, stock_start = _stock_returns(
        seed, universe, caps, (market, market_drift, volx), sector_rel
    )
    closes: dict[str, np.ndarray] = {}
    vols: dict[str, float] = {}
    paths = stock_start * np.exp(np.cumsum(stock_ret, axis=0))
    for i, sym in enumerate(universe.stocks):
        closes[sym] = paths[:, i]
        vols[sym] = stock_vol[i]
    for j, (etf, sector) in enumerate(
        zip(universe.sector_etfs, universe.sectors, strict=True)
    ):
        rng = _rng(seed, "etf", etf)
        ret = SECTOR_BETA.get(sector, 1.0) * market + sector_rel[:, j]
        ret = ret + ETF_TRACKING_NOISE * rng.standard_normal(n)
        closes[etf] = ETF_START.get(etf, 100.0) * np.exp(np.cumsum(ret))
        vols[etf] = float(np.std(ret))
    closes.update(_index_etfs(seed, universe, stock_ret, caps, market))
    for etf in universe.index_etfs:
        vols[etf] = float(np.std(np.diff(np.log(closes[etf]))))
    dollar = dict(zip(universe.stocks, caps / np.median(caps), strict=True))
    return _bars(seed, dates, closes, vols, universe, dollar)


def _stock_returns(
    seed: int,
    universe: DemoUniverse,
    caps: np.ndarray,
    market_parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    sector_rel: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (n x stocks) log returns, each stock's noise vol and start price."""
    market, market_drift, volx = market_parts
    n, m = len(market), len(universe.stocks)
    index = {s: j for j, s in enumerate(universe.sectors)}
    beta, vol, start = np.empty(m), np.empty(m), np.empty(m)
    trend = np.empty((n, m))
    flat = np.empty((n, m), dtype=bool)
    noise = np.empty((n, m))
    sector_part = np.zeros((n, m))
    for i, (sym, sector) in enumerate(
        zip(universe.stocks, universe.stock_sectors, strict=True)
    ):
        rng = _rng(seed, "stock", sym)
        beta[i] = np.clip(
            SECTOR_BETA.get(sector, 1.0) + rng.normal(0, BETA_SPREAD), *BETA_RANGE
        )
        kind = ARCHETYPES[rng.choice(len(ARCHETYPES), p=ARCHETYPE_SHARES)]
        trend[:, i], flat[:, i] = _trend_path(rng, kind, n)
        vol[i] = np.exp(rng.uniform(np.log(IDIO_VOL[0]), np.log(IDIO_VOL[1])))
        noise[:, i] = vol[i] * np.sqrt(volx) * block_noise(rng, (n,))
        start[i] = np.exp(rng.uniform(*np.log(PRICE_RANGE)))
        if sector in index:
            sector_part[:, i] = sector_rel[:, index[sector]]
    # Idiosyncratic trends net out across the market (cap-weighted), as they should:
    # the index then follows the market factor and the sector ETFs stay consistent.
    trend -= (trend * caps).sum(axis=1, keepdims=True)
    # A base or a top goes sideways whatever the market's drift does.
    trend = np.where(flat, -beta * market_drift[:, None], trend)
    returns = beta * market[:, None] + sector_part + trend + noise
    return returns, vol, start


def _index_etfs(seed, universe, stock_ret, caps, market):
    """Return index ETF closes built from the stocks (cap-weighted where real)."""
    rng = _rng(seed, "index")
    m = stock_ret.shape[1]
    simple = np.expm1(stock_ret)
    growth = np.exp(np.cumsum(stock_ret, axis=0))
    live_caps = caps * np.vstack([np.ones(m), growth[:-1]])
    sectors = np.array(universe.stock_sectors, dtype=object)
    largest = np.argsort(-caps)

    def weighted(mask: np.ndarray) -> np.ndarray:
        w = live_caps * (mask if mask.any() else np.ones(m, dtype=bool))
        return (simple * w).sum(axis=1) / w.sum(axis=1)

    growth_mask = np.isin(sectors, GROWTH_SECTORS)
    qqq = np.zeros(m, dtype=bool)
    qqq[[i for i in largest if growth_mask[i]][:QQQ_MEMBERS]] = True
    dia = np.zeros(m, dtype=bool)
    dia[largest[:DIA_MEMBERS]] = True
    small = np.zeros(m, dtype=bool)
    small[largest[m // 2 :]] = True
    iwm = (IWM_BETA - 1.0) * market + simple[:, small].mean(axis=1)
    iwm = iwm + IWM_NOISE * rng.standard_normal(len(market))
    paths = {
        "SPY": weighted(np.ones(m, dtype=bool)),
        "RSP": simple.mean(axis=1),
        "QQQ": weighted(qqq),
        "DIA": weighted(dia),
        "IWM": iwm,
    }
    return {
        sym: ETF_START.get(sym, 100.0) * np.cumprod(1.0 + paths[sym])
        for sym in universe.index_etfs
        if sym in paths
    }


def _bars(
    seed: int,
    dates: pd.DatetimeIndex,
    closes: dict[str, np.ndarray],
    vols: dict[str, float],
    universe: DemoUniverse,
    dollar: dict[str, float],
) -> pd.DataFrame:
    n = len(dates)
    symbols = [s for s in universe.symbols if s in closes]
    close = np.column_stack([closes[s] for s in symbols])
    sigma = np.array([vols[s] for s in symbols])
    rng = _rng(seed, "ohlcv")
    shape = close.shape
    prev = np.vstack(
        [close[:1] * np.exp(-sigma * rng.standard_normal(len(symbols))), close[:-1]]
    )
    open_ = prev * np.exp(GAP_SHARE * sigma * rng.standard_normal(shape))
    reach = RANGE_SHARE * sigma
    high = np.maximum(open_, close) * np.exp(np.abs(reach * rng.standard_normal(shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(reach * rng.standard_normal(shape)))
    open_, high, low, close = (np.round(a, 2) for a in (open_, high, low, close))
    high = np.maximum.reduce([high, open_, close])
    low = np.maximum(np.minimum.reduce([low, open_, close]), 0.01)
    volume = _volumes(seed, symbols, universe, dollar, (close, prev, sigma), rng)
    return pd.DataFrame(
        {
            "symbol": np.repeat(np.array(symbols, dtype=object), n),
            "date": np.tile(dates.to_numpy(), len(symbols)),
            "open": open_.T.ravel(),
            "high": high.T.ravel(),
            "low": low.T.ravel(),
            "close": close.T.ravel(),
            "volume": volume.T.ravel(),
        }
    )


def _volumes(seed, symbols, universe, dollar, prices, rng) -> np.ndarray:
    """Return share volumes: a dollar level per symbol, more on big moves."""
    close, prev, sigma = prices
    sector_set = set(universe.sector_etfs)
    level = np.empty(len(symbols))
    for k, sym in enumerate(symbols):
        own = _rng(seed, "dv", sym)
        if sym in ETF_DOLLAR_VOLUME:
            level[k] = ETF_DOLLAR_VOLUME[sym]
        elif sym in sector_set:
            level[k] = SECTOR_ETF_DOLLAR_VOLUME * own.uniform(0.3, 2.0)
        else:
            size = dollar.get(sym, 1.0) ** DOLLAR_VOLUME_CAP_ELASTICITY
            level[k] = STOCK_DOLLAR_VOLUME * size * np.exp(0.3 * own.standard_normal())
    shares = level / close.mean(axis=0)
    move = np.abs(np.log(close / prev)) / sigma
    noise = np.exp(VOLUME_NOISE * rng.standard_normal(close.shape))
    return np.round(shares * noise * (0.6 + 0.4 * move))


# ------------------------------------------------------------------ storage
def demo_info(store: Store) -> dict[str, Any] | None:
    """Return the demo flag's details (None when the data is not demo data)."""
    if store.get_meta(DEMO_KEY) != DEMO_FLAG:
        return None
    try:
        return json.loads(store.get_meta(DEMO_INFO_KEY) or "{}")
    except ValueError:
        return {}


def demo_sessions(sessions: int, end: dt.date | None = None) -> list[dt.date]:
    """Return `sessions` XNYS sessions ending at `end` (default: the previous one)."""
    from ingest.eod import market_today, previous_session, sessions_back

    end = end or previous_session(market_today())
    return sessions_back(end, sessions)


def write_demo(
    store: Store,
    sessions: int = DEFAULT_SESSIONS,
    seed: int = DEFAULT_SEED,
    end: dt.date | None = None,
) -> int:
    """Replace any demo history with a freshly generated one; return rows written."""
    started = time.perf_counter()
    days = demo_sessions(sessions, end)
    bars = generate_demo(days, seed=seed)
    store.delete_daily(DEMO_SOURCE)
    store.ensure_symbols(pd.unique(bars["symbol"]).tolist())
    rows = store.bulk_upsert_daily(bars, source=DEMO_SOURCE)
    info = {
        "seed": seed,
        "sessions": len(days),
        "start": days[0].isoformat(),
        "end": days[-1].isoformat(),
        "symbols": int(bars["symbol"].nunique()),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    store.set_meta(DEMO_INFO_KEY, json.dumps(info))
    store.set_meta(DEMO_KEY, DEMO_FLAG)
    log.info(
        "demo history: %d rows, %d symbols, %s .. %s in %.1f s",
        rows,
        info["symbols"],
        info["start"],
        info["end"],
        time.perf_counter() - started,
    )
    return rows


def ensure_demo_history(store: Store, settings: Any, now: Any = None) -> bool:
    """Generate demo history when the database has no daily bars (or stale demo)."""
    if not getattr(settings, "demo_data", False):
        return False
    from dashapp.store.origin_sql import has_real_bars
    from ingest.eod import market_today, previous_session

    newest = store.data_version().newest_daily
    info = demo_info(store)
    if info is None and (newest is not None or has_real_bars(store)):
        return False  # real history (daily or minute): never touch it
    end = previous_session(market_today(now))
    if info is not None and info.get("end", "") >= end.isoformat():
        return False
    write_demo(store, end=end)
    return True


def last_closes(store: Store) -> dict[str, float]:
    """Return each symbol's latest daily close (what the simulator continues from)."""
    latest = store.latest_daily()
    return dict(zip(latest["symbol"], latest["close"].astype(float), strict=True))


# --------------------------------------------------------------------- CLI
def cmd_demo(settings: Any, args: argparse.Namespace) -> int:
    """Generate (or regenerate) demo history."""
    from dashapp.factory import prepare_store

    try:
        end = dt.date.fromisoformat(args.end) if args.end else None
    except ValueError:
        print(f"tickstock: --end {args.end!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    if args.sessions < MIN_SESSIONS:
        print(f"tickstock: --sessions must be >= {MIN_SESSIONS}", file=sys.stderr)
        return 2
    store = prepare_store(settings)
    try:
        newest = store.data_version().newest_daily
        real = newest is not None and demo_info(store) is None
        if real and not args.force:
            print(
                "tickstock: the database holds real daily history; demo data would "
                "mix with it (use --force)",
                file=sys.stderr,
            )
            return 1
        started = time.perf_counter()
        rows = write_demo(store, args.sessions, args.seed, end)
        info = demo_info(store) or {}
    finally:
        store.dispose()
    print(
        f"demo history: {rows:,} rows, {info.get('symbols')} symbols, "
        f"{info.get('start')} .. {info.get('end')} (seed {args.seed}) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


def add_cli(subparsers: Any) -> None:
    """Register `tickstock demo`."""
    p = subparsers.add_parser("demo", help="generate labelled demo daily history")
    p.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--end", default=None, help="last session YYYY-MM-DD")
    p.add_argument("--force", action="store_true", help="even over real history")
    p.set_defaults(func=cmd_demo)
