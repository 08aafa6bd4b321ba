"""Reference data shipped with the package: S&P 500, sector ETFs, index ETFs."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from dashapp.store.core import Store

BUILTIN_UNIVERSES = {
    "sp500": "S&P 500 constituents (GICS sector and sub-industry)",
    "sectors": "The 11 SPDR Select Sector ETFs",
    "index": "Index ETFs: SPY, QQQ, IWM, DIA, RSP",
}
BENCHMARK = "SPY"


def _csv(name: str) -> pd.DataFrame:
    with resources.files("dashapp.store.refdata").joinpath(name).open() as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def sp500() -> pd.DataFrame:
    """Return the S&P 500 list: symbol, name, sector, sub_industry."""
    return _csv("sp500_constituents.csv")


def sector_etfs() -> pd.DataFrame:
    """Return the 11 SPDR sector ETFs: symbol, name, sector."""
    return _csv("sector_etfs.csv")


def index_etfs() -> pd.DataFrame:
    """Return the index ETFs: symbol, name."""
    return _csv("index_etfs.csv")


def sector_to_etf() -> dict[str, str]:
    """Map each GICS sector name to its SPDR ETF."""
    etfs = sector_etfs()
    return dict(zip(etfs["sector"], etfs["symbol"], strict=True))


def reference_symbols() -> list[dict]:
    """Return symbol rows for every reference symbol."""
    etf_of = sector_to_etf()
    rows = [
        {
            "symbol": r.symbol,
            "name": r.name,
            "kind": "stock",
            "sector": r.sector,
            "sub_industry": r.sub_industry,
            "sector_etf": etf_of.get(r.sector),
        }
        for r in sp500().itertuples()
    ]
    # ETFs carry no GICS sector: each symbol belongs to at most one sector and
    # an ETF is a proxy for the sector, not a member of it.
    rows += [_etf_row(r.symbol, r.name, r.symbol) for r in sector_etfs().itertuples()]
    rows += [_etf_row(r.symbol, r.name, None) for r in index_etfs().itertuples()]
    return rows


def _etf_row(symbol: str, name: str, sector_etf: str | None) -> dict:
    return {
        "symbol": symbol,
        "name": name,
        "kind": "etf",
        "sector": None,
        "sub_industry": None,
        "sector_etf": sector_etf,
    }


def load_reference(store: Store) -> dict[str, int]:
    """Load reference symbols and built-in universes (idempotent)."""
    store.upsert_symbols(reference_symbols())
    members = {
        "sp500": sp500()["symbol"].tolist(),
        "sectors": sector_etfs()["symbol"].tolist(),
        "index": index_etfs()["symbol"].tolist(),
    }
    return {
        name: store.set_universe(name, syms, BUILTIN_UNIVERSES[name], builtin=True)
        for name, syms in members.items()
    }
