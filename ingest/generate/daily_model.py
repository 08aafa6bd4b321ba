"""The demo's daily market model: factor returns of the stocks.

The market is a factor model of daily log returns (vectorised and seeded; the
synthetic feed runs the same model per second, `ingest.generate.factors`):

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
  blocks, so the designed trends and reversals hold for every seed.
"""

from __future__ import annotations

import numpy as np

from ingest.generate.factors import factor_returns, seeded_rng
from ingest.generate.universe import Universe

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
    rng = seeded_rng(seed, "market")
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
    rng = seeded_rng(seed, "sectors")
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
    order = giants + [rest[i] for i in seeded_rng(seed, "caps").permutation(len(rest))]
    rank = {sym: r for r, sym in enumerate(order)}
    caps = np.array([1.0 / (1.0 + rank[s]) ** CAP_EXPONENT for s in stocks])
    return caps / caps.sum() if m else caps


def stock_returns(
    seed: int,
    universe: Universe,
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
        rng = seeded_rng(seed, "stock", sym)
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
    returns = factor_returns(beta, market[:, None], sector_part, trend, noise)
    return returns, vol, start
