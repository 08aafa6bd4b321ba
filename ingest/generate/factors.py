"""What both market generators share: seeded draws, factor returns, price paths.

Demo history (`ingest.demo`, one row per session) and the synthetic feed
(`ingest.synthetic`, one column per second) model the same market: returns
are beta x market + a sector part + idiosyncratic parts, compounded into
price paths, and every random draw is seeded by the seed and what it is for,
so the same seed always gives the same market.
"""

from __future__ import annotations

import zlib

import numpy as np


def stable_hash(label: str) -> int:
    """Return a hash of `label` that is the same in every process (CRC-32)."""
    return zlib.crc32(label.encode())


def seeded_rng(seed: int, *keys: int | str) -> np.random.Generator:
    """Return a generator that depends only on the seed and the keys.

    String keys (labels such as "market" or a ticker) count by `stable_hash`.
    """
    return np.random.default_rng(
        [seed, *(stable_hash(k) if isinstance(k, str) else k for k in keys)]
    )


def factor_returns(
    beta: np.ndarray | float,
    market: np.ndarray,
    sector: np.ndarray,
    *idiosyncratic: np.ndarray,
) -> np.ndarray:
    """Return beta x market + sector + each idiosyncratic part, added in that order.

    The caller shapes the arrays so they broadcast (sessions x symbols for the
    demo, symbols x seconds for the synthetic feed).
    """
    returns = beta * market + sector
    for part in idiosyncratic:
        returns = returns + part
    return returns


def price_path(
    start: np.ndarray | float, log_returns: np.ndarray, axis: int = 0
) -> np.ndarray:
    """Return prices compounded from `start` by `log_returns` along `axis`."""
    return start * np.exp(np.cumsum(log_returns, axis=axis))
