"""Whom the generators trade: the reference universe, ETF sets, synthetic tickers.

Both generators cover the shipped reference data (S&P 500 with GICS sectors,
the 11 sector ETFs, the index ETFs). The reference tables are read lazily, so
the standalone simulator also runs where the app's store is not installed (it
then falls back to a small built-in list).
"""

from __future__ import annotations

import itertools
import logging
import string
from dataclasses import dataclass

log = logging.getLogger(__name__)

INDEX_ETFS = frozenset({"SPY", "QQQ", "IWM", "DIA", "RSP", "VTI", "VOO", "IVV"})
SECTOR_ETFS = frozenset(
    {"XLK", "XLF", "XLV", "XLE", "XLI", "XLY", "XLP", "XLU", "XLB", "XLRE", "XLC"}
)
DEFAULT_ETFS = INDEX_ETFS | SECTOR_ETFS

FALLBACK_UNIVERSE = {
    "SPY": None, "QQQ": None, "IWM": None, "DIA": None,
    "XLK": "Information Technology", "XLF": "Financials", "XLV": "Health Care",
    "XLE": "Energy", "XLI": "Industrials", "XLY": "Consumer Discretionary",
    "XLP": "Consumer Staples", "XLU": "Utilities", "XLB": "Materials",
    "XLRE": "Real Estate", "XLC": "Communication Services",
    "AAPL": "Information Technology", "MSFT": "Information Technology",
    "NVDA": "Information Technology", "JPM": "Financials", "BAC": "Financials",
    "UNH": "Health Care", "JNJ": "Health Care", "XOM": "Energy", "CVX": "Energy",
    "CAT": "Industrials", "GE": "Industrials", "AMZN": "Consumer Discretionary",
    "TSLA": "Consumer Discretionary", "PG": "Consumer Staples",
    "KO": "Consumer Staples", "NEE": "Utilities", "LIN": "Materials",
    "PLD": "Real Estate", "GOOGL": "Communication Services",
    "META": "Communication Services",
}  # fmt: skip


@dataclass(frozen=True)
class Universe:
    """The symbols a generator covers: stocks with sectors, sector ETFs, index ETFs."""

    stocks: list[str]
    stock_sectors: list[str]
    sectors: list[str]
    sector_etfs: list[str]
    index_etfs: list[str]

    @property
    def symbols(self) -> list[str]:
        """Return every symbol, stocks first."""
        return [*self.stocks, *self.sector_etfs, *self.index_etfs]


def reference_universe() -> Universe:
    """Return the universe of the shipped reference data."""
    from dashapp.store.reference import index_etfs, sector_etfs, sp500

    stocks = sp500()
    etfs = sector_etfs()
    return Universe(
        stocks=stocks["symbol"].tolist(),
        stock_sectors=stocks["sector"].tolist(),
        sectors=etfs["sector"].tolist(),
        sector_etfs=etfs["symbol"].tolist(),
        index_etfs=index_etfs()["symbol"].tolist(),
    )


def sector_map(universe: Universe) -> dict[str, str | None]:
    """Return symbol -> sector: index ETFs first (no sector), sector ETFs, stocks."""
    sectors: dict[str, str | None] = dict.fromkeys(universe.index_etfs)
    sectors.update(zip(universe.sector_etfs, universe.sectors, strict=True))
    for symbol, sector in zip(universe.stocks, universe.stock_sectors, strict=True):
        sectors[symbol] = sector or None
    return sectors


def default_universe() -> dict[str, str | None]:
    """Return symbol -> GICS sector for the S&P 500, sector ETFs and index ETFs."""
    try:
        from dashapp.store import reference  # noqa: F401 - is the store installed?
    except Exception as exc:  # noqa: BLE001 - fall back to the built-in list
        log.debug("reference data unavailable: %s", exc)
        return dict(FALLBACK_UNIVERSE)
    return sector_map(reference_universe())


def make_symbols(n: int) -> list[str]:
    """Return `n` distinct synthetic tickers (AAA, AAB, ...; then four letters)."""
    letters = string.ascii_uppercase
    combos = itertools.chain(
        ("".join(p) for p in itertools.product(letters, repeat=3)),
        ("".join(p) for p in itertools.product(letters, repeat=4)),
    )
    return list(itertools.islice(combos, n))
