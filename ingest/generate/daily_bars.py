"""The demo's daily bars (`generate_demo`): ETFs, OHLC and volume around the model.

The stocks' returns come from `ingest.generate.daily_model`; on top of them:

* sector ETFs = beta x market + their sector factor (+ tracking noise); SPY is
  the cap-weighted S&P 500 (Zipf caps, the real giants first, caps drifting
  with prices), RSP its equal-weighted twin, QQQ the cap-weighted growth
  sectors, DIA 30 large caps, IWM a higher-beta small-cap proxy;
* OHLC from overnight gaps and intraday ranges scaled to each symbol's
  volatility, rounded to cents; volume from a dollar-volume level (growing
  with cap) with noise that grows on large moves.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ingest.generate.daily_model import (
    ETF_TRACKING_NOISE,
    SECTOR_BETA,
    cap_weights,
    market_factor,
    sector_factors,
    stock_returns,
)
from ingest.generate.factors import factor_returns, price_path, seeded_rng
from ingest.generate.universe import Universe, reference_universe

DEFAULT_SEED = 7
MIN_SESSIONS = 60
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


def generate_demo(
    sessions: list[dt.date] | pd.DatetimeIndex,
    seed: int = DEFAULT_SEED,
    universe: Universe | None = None,
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
    stock_ret, stock_vol, stock_start = stock_returns(
        seed, universe, caps, (market, market_drift, volx), sector_rel
    )
    closes: dict[str, np.ndarray] = {}
    vols: dict[str, float] = {}
    paths = price_path(stock_start, stock_ret)
    for i, sym in enumerate(universe.stocks):
        closes[sym] = paths[:, i]
        vols[sym] = stock_vol[i]
    for j, (etf, sector) in enumerate(
        zip(universe.sector_etfs, universe.sectors, strict=True)
    ):
        rng = seeded_rng(seed, "etf", etf)
        beta = SECTOR_BETA.get(sector, 1.0)
        tracking = ETF_TRACKING_NOISE * rng.standard_normal(n)
        ret = factor_returns(beta, market, sector_rel[:, j], tracking)
        closes[etf] = price_path(ETF_START.get(etf, 100.0), ret)
        vols[etf] = float(np.std(ret))
    closes.update(_index_etfs(seed, universe, stock_ret, caps, market))
    for etf in universe.index_etfs:
        vols[etf] = float(np.std(np.diff(np.log(closes[etf]))))
    dollar = dict(zip(universe.stocks, caps / np.median(caps), strict=True))
    return _bars(seed, dates, closes, vols, universe, dollar)


def _index_etfs(seed, universe, stock_ret, caps, market):
    """Return index ETF closes built from the stocks (cap-weighted where real)."""
    rng = seeded_rng(seed, "index")
    m = stock_ret.shape[1]
    simple = np.expm1(stock_ret)
    growth = price_path(1.0, stock_ret)
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
    noise = IWM_NOISE * rng.standard_normal(len(market))
    iwm = factor_returns(IWM_BETA - 1.0, market, simple[:, small].mean(axis=1), noise)
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
    universe: Universe,
    dollar: dict[str, float],
) -> pd.DataFrame:
    n = len(dates)
    symbols = [s for s in universe.symbols if s in closes]
    close = np.column_stack([closes[s] for s in symbols])
    sigma = np.array([vols[s] for s in symbols])
    rng = seeded_rng(seed, "ohlcv")
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
        own = seeded_rng(seed, "dv", sym)
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
